"""Which Clausier account a ProConnect identity signs in to (issue 17).

- An identity already linked is found by its OIDC `sub`.
- The first time, it is linked to the active account with the same e-mail (ProConnect's addresses are verified
  by the identity provider), or, when the person comes from an invitation link, to the account the invitation
  creates or joins (the invited address must be the one ProConnect gives).
- Nobody else gets in: nobody becomes a member of an organization without an invitation.

Every sign-in, link and refusal is written to the login log (`LoginAttempt`, step « ProConnect ») and every link
to the audit log.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clausier.accounts import throttle
from clausier.accounts.invitations import InvitationInvalid, accept_invitation
from clausier.accounts.models import LoginStep, ProConnectIdentity
from clausier.accounts.proconnect import Identity, ProConnectError
from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.organizations.models import User

UNKNOWN = ProConnectError(
    "unknown_person",
    "Votre compte ProConnect n'est rattaché à aucun compte Clausier.",
)


def _link(user, identity: Identity) -> ProConnectIdentity:
    link = ProConnectIdentity.objects.create(
        user=user, sub=identity.sub, email=identity.email, siret=identity.siret, idp_id=identity.idp_id
    )
    record(
        action=Action.CREATE,
        obj=link,
        by=user,
        changes={
            "sub": [None, identity.sub],
            "email": [None, identity.email],
            "siret": [None, identity.siret],
        },
        detail="identité ProConnect liée au compte",
    )
    return link


@transaction.atomic
def user_for(identity: Identity, *, invitation: str = "", ip: str | None = None):
    """The account `identity` signs in to (linking it the first time), or ProConnectError."""
    link = ProConnectIdentity.objects.select_related("user").filter(sub=identity.sub).first()
    if link is None and invitation:
        user = User.objects.filter(email__iexact=identity.email, is_active=True).first()
        try:
            membership = accept_invitation(
                token=invitation,
                user=user,
                first_name=identity.given_name,
                last_name=identity.usual_name,
                via_proconnect=user is None,
            )
        except InvitationInvalid as exc:
            raise ProConnectError("invitation_invalid", str(exc)) from exc
        except ValidationError as exc:  # another address than the invited one
            raise ProConnectError("invitation_refused", " ".join(exc.messages)) from exc
        link = _link(membership.user, identity)
    if link is None:
        user = (
            User.objects.filter(email__iexact=identity.email, is_active=True).first()
            if identity.email
            else None
        )
        if user is None:
            throttle.record_failure(email=identity.email, ip=ip, user=None, step=LoginStep.PROCONNECT)
            raise UNKNOWN
        link = _link(user, identity)
    if not link.user.is_active:
        throttle.record_refused(email=identity.email, ip=ip, step=LoginStep.PROCONNECT)
        raise ProConnectError("inactive", "Ce compte Clausier est désactivé.")
    link.last_login_at = timezone.now()
    link.email, link.siret, link.idp_id = identity.email, identity.siret, identity.idp_id
    link.save(update_fields=["last_login_at", "email", "siret", "idp_id"])
    throttle.record_success(email=identity.email, ip=ip, user=link.user, step=LoginStep.PROCONNECT)
    return link.user
