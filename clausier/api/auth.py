"""Who calls the API: a personal token (`Authorization: Bearer clausier_…`) or the browser's session (CSRF
checked on writes). Either way the caller is a user acting for one organization, and every endpoint reads
through the same access gate as the pages (`clausier.organizations.access`)."""

from django.conf import settings
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import SimpleRateThrottle

from clausier.accounts.api_tokens import authenticate
from clausier.accounts.models import ApiScope
from clausier.api.problems import Problem
from clausier.organizations.access import current_organization
from clausier.organizations.models import OrganizationKind as K
from clausier.utils import replica


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = authenticate(token)
        if user is None:
            return None
        request.user = user  # the pages' helpers (and the audit) read the acting user from the request
        # A program keeps no cookie: after its writes, its reads are pinned to the primary by the shared cache.
        replica.pin_in_cache(request, replica.pin_key(_ident(user)))
        return user


class OrganizationSessionAuth(SessionAuth):
    """The browser's session, acting for the organization chosen in the switcher (the middleware set it)."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user is not None and current_organization(user) is not None else None


AUTH = [TokenAuth(), OrganizationSessionAuth()]


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (or per session user) in a sliding window, through the shared cache."""

    scope = "token"

    def __init__(self):
        super().__init__(rate=settings.API_RATE_LIMIT)

    def get_cache_key(self, request):
        user = getattr(request, "auth", None)
        if user is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": _ident(user)}

    def allow_request(self, request):
        """ninja's sliding window, read in the same query as the token's pin to the primary (no query more)."""
        self.key = self.get_cache_key(request)
        if self.key is None:
            return True
        pin = getattr(request, replica.PIN_KEY_ATTRIBUTE, None)
        entries = self.cache.get_many([self.key, pin] if pin else [self.key])
        if pin:
            replica.honour_cache_pin(entries.get(pin))
        self.history = entries.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()


def _ident(user) -> str:
    """A token's own rate limit and pin ("t<id>"), or the session user's ("u<id>")."""
    token = getattr(user, "api_token", None)
    return f"t{token.pk}" if token is not None else f"u{user.pk}"


class PublicRateThrottle(SimpleRateThrottle):
    """The public figures, per client address (they are cached, but a loop should not hold a worker)."""

    scope = "public"

    def __init__(self):
        super().__init__(rate=settings.API_PUBLIC_RATE_LIMIT)

    def get_cache_key(self, request):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


NOT_FOR_KIND = "Cette ressource n'est pas ouverte à votre type d'organisation."
MISSING_SCOPE = (
    "Ce jeton n'a pas le droit « {label} » : créez un jeton qui l'a, dans Administration › Accès API."
)


def organization(request):
    return current_organization(request.auth)


def require(request, *, kinds=None, scope: str = ApiScope.READ, staff_only: bool = False):
    """Refuse (403) a caller whose organization kind or token scopes do not allow the operation.

    A session has the rights of its user; a token only its scopes, within the rights of its creator."""
    org = organization(request)
    allowed = {K.FACILITATOR} if staff_only else kinds
    if org is None or (allowed is not None and org.kind not in allowed):
        raise Problem(403, NOT_FOR_KIND)
    token = getattr(request.auth, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise Problem(403, MISSING_SCOPE.format(label=ApiScope(scope).label))
    return org


def is_staff(request) -> bool:
    org = organization(request)
    return org is not None and org.kind == K.FACILITATOR
