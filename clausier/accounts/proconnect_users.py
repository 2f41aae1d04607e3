"""Which Clausier account a ProConnect identity signs in to (issue 17).

- An identity already linked is found by its OIDC `sub`.
- The first time, it is linked to the active account with the same e-mail (ProConnect's addresses are verified
  by the identity provider), or, when the person comes from an invitation link, to the account the invitation
  creates or joins (the invited address must be the one ProConnect gives).
- Nobody else gets in: nobody becomes a member of an organization without an invitation.

Every sign-in, link and refusal is written to the login log (`LoginAttempt`, step « ProConnect ») and every link
to the audit log.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clausier.accounts import throttle
from clausier.accounts.invitations import (
    PROBLEMS,
    InvitationInvalid,
    accept_invitation,
    find_invitation,
    normalize_email,
)
from clausier.accounts.models import LoginStep, ProConnectIdentity
from clausier.accounts.proconnect import Identity, ProConnectError
from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.organizations.models import User

INACTIVE = ProConnectError("inactive", "Ce compte Clausier est désactivé.")
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


WRONG_ADDRESS = (
    "Cette invitation est adressée à {invited}, mais ProConnect vous connaît sous l'adresse {email} : "
    "demandez une invitation à cette adresse, ou créez votre compte avec un mot de passe."
)


def _accept(identity: Identity, token: str):
    """The membership an invitation link gives to this identity (the invited address must be ProConnect's)."""
    invitation = find_invitation(token)
    if invitation is not None and normalize_email(identity.email) != invitation.email:
        raise ProConnectError(
            "invitation_refused", WRONG_ADDRESS.format(invited=invitation.email, email=identity.email)
        )
    user = User.objects.filter(email__iexact=identity.email, is_active=True).first()
    try:
        return accept_invitation(
            token=token,
            user=user,
            first_name=identity.given_name,
            last_name=identity.usual_name,
            via_proconnect=user is None,
        )
    except InvitationInvalid as exc:
        _title, text = PROBLEMS[exc.reason]
        raise ProConnectError("invitation_invalid", text.format(days=settings.INVITATION_DAYS)) from exc
    except ValidationError as exc:
        raise ProConnectError("invitation_refused", " ".join(exc.messages)) from exc


def user_for(identity: Identity, *, invitation: str = "", ip: str | None = None):
    """(the account `identity` signs in to, the organization an invitation it accepted is for, or None), linking
    the identity the first time; or ProConnectError. The login log keeps refusals too (written outside the
    linking transaction, which a refusal rolls back)."""
    organization = None
    try:
        with transaction.atomic():
            link = ProConnectIdentity.objects.select_related("user").filter(sub=identity.sub).first()
            if invitation:  # joins the inviting organization, linked or not yet
                membership = _accept(identity, invitation)
                organization = membership.organization
                link = link or _link(membership.user, identity)
            if link is None:
                user = (
                    User.objects.filter(email__iexact=identity.email, is_active=True).first()
                    if identity.email
                    else None
                )
                if user is None:
                    raise UNKNOWN
                link = _link(user, identity)
            if not link.user.is_active:
                raise INACTIVE
            link.last_login_at = timezone.now()
            link.email, link.siret, link.idp_id = identity.email, identity.siret, identity.idp_id
            link.save(update_fields=["last_login_at", "email", "siret", "idp_id"])
    except ProConnectError as error:
        if error is INACTIVE:
            throttle.record_refused(email=identity.email, ip=ip, step=LoginStep.PROCONNECT)
        else:
            throttle.record_failure(email=identity.email, ip=ip, user=None, step=LoginStep.PROCONNECT)
        raise
    throttle.record_success(email=identity.email, ip=ip, user=link.user, step=LoginStep.PROCONNECT)
    return link.user, organization
