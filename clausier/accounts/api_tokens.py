"""Personal API tokens (issue 16): created by an organization's administrators, shown once, stored hashed,
revocable; a token acts as its organization with the rights of the member who created it, narrowed by its
scopes."""

import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from clausier.accounts.models import ApiScope, ApiToken
from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.organizations.models import Membership, OrganizationKind
from clausier.utils.replica import bookkeeping

PREFIX = "clausier_"
MAX_LIFETIME_DAYS = 366  # a token is renewed at least once a year
LAST_USE_PRECISION = datetime.timedelta(
    minutes=1
)  # one write a minute at most per token, not one per request

# The scopes each kind of organization may grant: writing the reference data is for facilitators, declaring
# hours for employers (and the facilitator's staff), proposing candidacies for prescribers.
SCOPES_FOR = {
    OrganizationKind.FACILITATOR: [ApiScope.READ, ApiScope.HOURS, ApiScope.REFERENCE],
    OrganizationKind.COMPANY: [ApiScope.READ, ApiScope.HOURS],
    OrganizationKind.INSERTION_STRUCTURE: [ApiScope.READ, ApiScope.HOURS],
    OrganizationKind.PRESCRIBER: [ApiScope.READ, ApiScope.CANDIDACIES],
    OrganizationKind.BUYER: [ApiScope.READ],
}


class TokenRefused(Exception):
    """The token cannot be created; `message` is a French sentence for the administrator."""


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def scopes_for(organization) -> list[ApiScope]:
    return SCOPES_FOR.get(organization.kind, [ApiScope.READ])


def create_token(
    *, organization, name: str, scopes: list[str], expires_on: datetime.date, by
) -> tuple[ApiToken, str]:
    """A new token and its clear value (shown once, never stored). `by` must administer `organization`."""
    membership = getattr(by, "current_membership", None)
    if membership is None or membership.organization_id != organization.pk or not membership.is_admin:
        raise TokenRefused("Seuls les administrateurs de l'organisation créent des jetons d'API.")
    allowed = {s.value for s in scopes_for(organization)}
    if not scopes or not set(scopes) <= allowed:
        raise TokenRefused("Choisissez au moins un droit parmi ceux que votre organisation peut donner.")
    today = timezone.localdate()
    if not today < expires_on <= today + datetime.timedelta(days=MAX_LIFETIME_DAYS):
        raise TokenRefused(
            f"La date d'expiration doit être dans le futur et au plus dans {MAX_LIFETIME_DAYS} jours."
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            organization=organization,
            created_by=by,
            name=name.strip()[:80],
            scopes=sorted(set(scopes)),
            prefix=raw[: len(PREFIX) + 4],
            key_hash=digest(raw),
            expires_on=expires_on,
        )
        record(
            action=Action.CREATE,
            obj=token,
            by=by,
            changes={"nom": [None, token.name], "droits": [None, token.scopes]},
            facilitator=organization if organization.is_facilitator else None,
        )
    return token, raw


def revoke_token(*, token: ApiToken, by) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at, token.revoked_by = timezone.now(), by
            token.save(update_fields=["revoked_at", "revoked_by"])
            record(
                action=Action.DELETE,
                obj=token,
                by=by,
                detail="jeton d'API révoqué",
                facilitator=token.organization if token.organization.is_facilitator else None,
            )
    return token


def tokens_of(organization):
    return (
        ApiToken.objects.filter(organization=organization)
        .select_related("created_by")
        .order_by("-created_at")
    )


def authenticate(raw: str):
    """The user a valid token acts as (its creator, in the token's organization), or None.

    The creator's membership is read again on every request: a member who left, or an administrator who
    became a plain member, no longer lends rights to the tokens they created."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("organization", "created_by")
        .filter(key_hash=digest(raw))
        .first()
    )
    if token is None or not token.created_by.is_active:
        return None
    membership = (
        Membership.objects.active()
        .filter(user=token.created_by, organization=token.organization)
        .select_related("organization")
        .first()
    )
    if membership is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USE_PRECISION:
        with bookkeeping():  # not a change the token's next reads must see: no pin to the primary
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    user = token.created_by
    user.current_membership, user.current_organization, user.api_token = (
        membership,
        membership.organization,
        token,
    )
    return user
