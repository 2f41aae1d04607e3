"""Members and invitations of an organization: keyword-only actions, atomic, each writing its audit entry.

An organization's administrators (any kind of organization) invite a person by e-mail with a role
(`invite`); the e-mail holds a link to the public page `accounts:invitation_accept`, with a random token
used once (only its SHA-256 is stored), valid `INVITATION_DAYS` days. Inviting an address again replaces
its open invitation. A person without an account chooses a name and a password there
(`accept_invitation(..., first_name=…, last_name=…, password=…)`); a person with an account logs in first
(`accept_invitation(..., user=…)`) and the membership is added: a person may belong to several
organizations (the organization switcher chooses). Expired, used, revoked or unknown links change nothing
(`InvitationInvalid`).

Administrators also revoke an open invitation, change a member's role and deactivate a member (the row and
its history stay; the middleware resolving the current organization ignores inactive memberships). The
last active administrator of an organization can be neither demoted nor deactivated.
"""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clausier.accounts.models import Invitation
from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.organizations.models import Membership, Organization, Role, User

LAST_ADMIN = "{org} doit garder au moins un administrateur actif : nommez d'abord un autre administrateur."


class InvitationInvalid(Exception):
    """The link cannot be used; `reason` is one of "unknown", "expired", "accepted", "revoked"."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(value) -> str:
    return str(value or "").strip().lower()


def _acting_for(user, organization, membership=None):
    """Make the audit entry say « au titre de `organization` » (as the middleware would for this request)."""
    user.current_organization = organization
    user.current_membership = membership
    return user


def _require_admin(by, organization: Organization) -> None:
    if (
        not Membership.objects.active()
        .filter(user=by, organization=organization, role=Role.ADMIN, user__is_active=True)
        .exists()
    ):
        raise PermissionDenied("Seuls les administrateurs de l'organisation gèrent ses membres.")


def _lock_admins(organization) -> list[Membership]:
    """The active administrators of `organization`, locked (two admins demoting each other cannot both win)."""
    return list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.ADMIN, is_active=True, user__is_active=True)
        .order_by("pk")
    )


def _refuse_last_admin(locked: Membership, admins: list[Membership], organization: Organization) -> None:
    """Refused (ValidationError) when `locked` is the last of `admins`, the active administrators of
    `organization` (`_lock_admins`)."""
    if locked.role == Role.ADMIN and [a.pk for a in admins] == [locked.pk]:
        raise ValidationError(LAST_ADMIN.format(org=organization.name))


# --- Invitations ---------------------------------------------------------------------------------------------


# What a person sees of each `invitation_problem` (title, text; `{days}` is INVITATION_DAYS): on the invitation
# page and on the way back from ProConnect.
PROBLEMS = {
    "unknown": (
        "Lien d'invitation inconnu",
        "Ce lien ne correspond à aucune invitation. Vérifiez qu'il est complet (il a pu être coupé par "
        "votre messagerie), ou demandez une nouvelle invitation à un administrateur de l'organisation.",
    ),
    "expired": (
        "Invitation expirée",
        "Ce lien d'invitation n'est plus valable : il expire {days} jours après l'envoi. Demandez une "
        "nouvelle invitation à un administrateur de l'organisation.",
    ),
    "accepted": (
        "Invitation déjà utilisée",
        "Ce lien a déjà servi : il ne fonctionne qu'une fois. Si vous avez accepté l'invitation, "
        "connectez-vous (avec votre mot de passe ou avec ProConnect).",
    ),
    "revoked": (
        "Invitation annulée",
        "Cette invitation a été annulée par l'organisation, ou remplacée par une invitation plus récente "
        "(utilisez le lien du dernier e-mail reçu). En cas de doute, contactez un administrateur de "
        "l'organisation.",
    ),
}


def invitation_problem(invitation: Invitation | None, now=None) -> str:
    """Why this invitation's link cannot be used ("" if it can)."""
    if invitation is None:
        return "unknown"
    status = invitation.status(now)
    if status != Invitation.Status.ACCEPTED and not invitation.organization.is_active:
        return "revoked"
    return "" if status == Invitation.Status.PENDING else str(status)


def find_invitation(token: str) -> Invitation | None:
    if not token:
        return None
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


def _send_invitation(*, invitation: Invitation, link: str) -> None:
    organization = invitation.organization
    inviter = invitation.invited_by
    who = f"{inviter.get_full_name() or inviter.email} vous invite" if inviter else "Vous êtes invité(e)"
    body = "\n".join(
        [
            "Bonjour,",
            "",
            f"{who} à rejoindre {organization.name} sur Clausier, le suivi des clauses sociales "
            f"d'insertion, en tant que {invitation.get_role_display().lower()}.",
            "",
            "Pour accepter l'invitation, ouvrez ce lien :",
            "",
            link,
            "",
            f"Le lien ne sert qu'une fois et expire le {timezone.localtime(invitation.expires_at):%d/%m/%Y à %H:%M}. "
            "Si vous ne vous attendiez pas à ce message, ignorez-le : rien ne sera fait sans vous.",
            "",
            "— Clausier",
        ]
    )
    EmailMessage(
        subject=f"Clausier : invitation à rejoindre {organization.name}", body=body, to=[invitation.email]
    ).send()


@transaction.atomic
def invite(
    *, organization: Organization, email: str, role: str, by, base_url: str = "", now=None
) -> Invitation:
    """Invite `email` to join `organization` with `role`, and send the e-mail (if it fails, nothing is kept).

    `base_url` ("https://clausier.example.fr") makes the link absolute. Refused (ValidationError) for an
    active member; an open invitation of the same address is revoked and replaced. The returned invitation
    carries the clear `token` (for the e-mail; never stored).
    """
    _require_admin(by, organization)
    now = now or timezone.now()
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": "Saisissez une adresse e-mail valide."}) from exc
    if role not in Role.values:
        raise ValidationError({"role": "Choisissez un rôle."})
    if Membership.objects.filter(
        organization=organization, user__email__iexact=email, is_active=True
    ).exists():
        raise ValidationError({"email": f"{email} est déjà membre de {organization.name}."})
    for previous in (
        Invitation.objects.select_for_update().open().filter(organization=organization, email=email)
    ):
        _revoke(previous, by=by, now=now, detail="remplacée par une nouvelle invitation")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=by,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + datetime.timedelta(days=settings.INVITATION_DAYS),
    )
    record(
        action=Action.CREATE,
        obj=invitation,
        by=by,
        changes={
            "organization_id": [None, organization.pk],
            "email": [None, email],
            "role": [None, role],
            "expires_at": [None, str(invitation.expires_at)],
        },
        detail="invitation envoyée par e-mail",
    )
    link = base_url.rstrip("/") + reverse("accounts:invitation_accept", kwargs={"token": token})
    try:  # last: a mail server down undoes the invitation, and the administrator is told
        _send_invitation(invitation=invitation, link=link)
    except OSError as exc:  # SMTP errors included
        raise ValidationError("L'e-mail d'invitation n'a pas pu être envoyé : réessayez plus tard.") from exc
    invitation.token = token
    return invitation


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, by, now=None) -> Invitation:
    """Revoke an open invitation (its link stops working)."""
    _require_admin(by, invitation.organization)
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at or locked.revoked_at:
        raise ValidationError("Cette invitation n'est plus en attente : elle ne peut pas être révoquée.")
    return _revoke(locked, by=by, now=now or timezone.now(), detail="invitation révoquée")


def _revoke(invitation: Invitation, *, by, now, detail: str) -> Invitation:
    """Revoke a locked open invitation, with its audit entry."""
    invitation.revoked_at = now
    invitation.save(update_fields=["revoked_at"])
    record(
        action=Action.TRANSITION,
        obj=invitation,
        by=by,
        changes={"revoked_at": [None, str(now)]},
        detail=detail,
    )
    return invitation


@transaction.atomic
def accept_invitation(
    *,
    token: str,
    user=None,
    first_name: str = "",
    last_name: str = "",
    password: str = "",
    via_proconnect: bool = False,
    now=None,
) -> Membership:
    """Use an invitation's link: `user` (logged in, with the invited address) joins the organization, or, without
    `user`, an account is created for the invited address with this name and password (Django's password
    validators) — or with no password when the person signs in with ProConnect (`via_proconnect`). Raises
    InvitationInvalid (nothing changes) or ValidationError."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    problem = invitation_problem(invitation, now)
    if problem:
        raise InvitationInvalid(problem)
    organization = invitation.organization
    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(
                "Un compte existe déjà avec cette adresse : connectez-vous pour accepter l'invitation."
            )
        first_name, last_name = first_name.strip(), last_name.strip()
        if not first_name or not last_name:
            raise ValidationError("Indiquez votre prénom et votre nom.")
        user = User(
            email=invitation.email, username=invitation.email, first_name=first_name, last_name=last_name
        )
        if via_proconnect:
            user.set_unusable_password()  # signs in with ProConnect; may choose a password later
        else:
            validate_password(password, user)
            user.set_password(password)
        user.save()
        created_user = True
    else:
        if normalize_email(user.email) != invitation.email:
            raise ValidationError(
                f"Cette invitation est adressée à {invitation.email} : connectez-vous avec ce compte."
            )
        created_user = False
    membership = Membership.objects.select_for_update().filter(user=user, organization=organization).first()
    _acting_for(user, organization, membership)
    if created_user:
        record(
            action=Action.CREATE,
            obj=user,
            by=user,
            changes={
                "email": [None, user.email],
                "first_name": [None, first_name],
                "last_name": [None, last_name],
            },
            detail="compte créé en acceptant une invitation" + (" avec ProConnect" if via_proconnect else ""),
        )
    if membership is None:
        membership = Membership.objects.create(user=user, organization=organization, role=invitation.role)
        _acting_for(user, organization, membership)
        record(
            action=Action.CREATE,
            obj=membership,
            by=user,
            changes={
                "user_id": [None, user.pk],
                "organization_id": [None, organization.pk],
                "role": [None, membership.role],
            },
            detail="invitation acceptée",
        )
    elif not membership.is_active:  # a former member invited again: back, with the invitation's role
        changes = {"is_active": [False, True]}
        if membership.role != invitation.role:
            changes["role"] = [membership.role, invitation.role]
        membership.is_active, membership.role = True, invitation.role
        membership.save(update_fields=["is_active", "role"])
        record(action=Action.UPDATE, obj=membership, by=user, changes=changes, detail="invitation acceptée")
    invitation.accepted_at, invitation.accepted_by = now, user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(
        action=Action.TRANSITION,
        obj=invitation,
        by=user,
        changes={"accepted_at": [None, str(now)]},
        detail="invitation acceptée",
    )
    return membership


# --- Members -------------------------------------------------------------------------------------------------


@transaction.atomic
def change_member_role(*, membership: Membership, role: str, by) -> Membership:
    """Make an active member an administrator or a member; the last active administrator stays one."""
    organization = membership.organization
    _require_admin(by, organization)
    if role not in Role.values:
        raise ValidationError({"role": "Choisissez un rôle."})
    admins = _lock_admins(organization)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if not locked.is_active:
        raise ValidationError("Ce membre est désactivé : invitez-le à nouveau pour lui rendre l'accès.")
    if locked.role == role:
        return locked
    _refuse_last_admin(locked, admins, organization)
    before = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    record(action=Action.UPDATE, obj=locked, by=by, changes={"role": [before, role]}, detail="rôle modifié")
    return locked


@transaction.atomic
def deactivate_member(*, membership: Membership, by) -> Membership:
    """The member no longer acts for the organization (the row and its history stay); not the last admin."""
    organization = membership.organization
    _require_admin(by, organization)
    admins = _lock_admins(organization)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if not locked.is_active:
        raise ValidationError("Ce membre est déjà désactivé.")
    _refuse_last_admin(locked, admins, organization)
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    record(
        action=Action.UPDATE,
        obj=locked,
        by=by,
        changes={"is_active": [True, False]},
        detail="membre désactivé",
    )
    return locked
