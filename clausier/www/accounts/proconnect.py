"""The ProConnect sign-in pages (issue 17): the start (to the provider), the return, and what a failure says.

The protocol is `accounts.proconnect`, the choice of the account `accounts.proconnect_users`; these views only
carry the user between them. A failure never logs anyone in and never answers a 500: a French page says what
happened, with the way back to the password form.
"""

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from clausier.accounts import proconnect, sessions, throttle, two_factor
from clausier.accounts.models import LoginStep
from clausier.accounts.proconnect import ProConnectError
from clausier.accounts.proconnect_users import user_for
from clausier.organizations.middleware import SESSION_KEY as ORGANIZATION_KEY

BACKEND = "django.contrib.auth.backends.ModelBackend"


def callback_uri(request) -> str:
    return request.build_absolute_uri(reverse("accounts:proconnect_callback"))


def _safe_next(request, value: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return value if value and allowed else ""


def failure(request, error: ProConnectError, *, status: int = 400):
    return render(
        request,
        "accounts/proconnect_error.html",
        {
            "title": "Connexion avec ProConnect impossible",
            "error": error,
            "unknown": error.reason == "unknown_person",
        },
        status=status,
    )


@login_not_required
@never_cache
@require_safe
def start(request):
    """To the provider: the flow's state, nonce and code verifier go into the session."""
    if request.user.is_authenticated:
        return redirect("www:dashboard")  # already signed in
    if not proconnect.is_configured():
        raise Http404("ProConnect n'est pas configuré.")
    try:
        url = proconnect.authorization_url(
            request.session,
            redirect_uri=callback_uri(request),
            next_url=_safe_next(request, request.GET.get("next", "")),
            invitation=request.GET.get("invitation", "")[:200],
        )
    except ProConnectError as error:
        return failure(request, error, status=503)
    return redirect(url)


@login_not_required
@never_cache
@require_safe
def callback(request):
    """Back from the provider: verify everything, find the account, then log in (or ask for the code)."""
    if request.user.is_authenticated:
        return redirect("www:dashboard")  # already signed in
    if not proconnect.is_configured():
        raise Http404("ProConnect n'est pas configuré.")
    ip = throttle.client_ip(request)
    if throttle.locked_until(email="", ip=ip):
        throttle.record_refused(email="", ip=ip, step=LoginStep.PROCONNECT)
        return failure(request, ProConnectError("locked", throttle.locked_message()), status=429)
    try:
        identity, flow = proconnect.complete(
            request.session, params=request.GET, redirect_uri=callback_uri(request)
        )
    except ProConnectError as error:  # the protocol failed: nobody to name in the login log
        throttle.record_failure(email="", ip=ip, step=LoginStep.PROCONNECT)
        return failure(request, error, status=503 if error.reason == "unavailable" else 400)
    if throttle.locked_until(email=identity.email, ip=ip):
        throttle.record_refused(email=identity.email, ip=ip, step=LoginStep.PROCONNECT)
        return failure(request, ProConnectError("locked", throttle.locked_message()), status=429)
    try:
        user, organization = user_for(identity, invitation=flow.get("invitation", ""), ip=ip)
    except ProConnectError as error:  # logged by `user_for`
        return failure(request, error)
    next_url = flow.get("next") or ""
    user.backend = BACKEND
    if two_factor.is_required_for(user) and not _provider_second_factor_accepted(user, identity):
        if two_factor.has_device(user):  # Clausier's own code, as after a password
            sessions.set_pending(request.session, user=user, next_url=next_url)
            request.session[proconnect.ID_TOKEN_KEY] = identity.id_token
            return redirect("accounts:login_code")
    else:
        request.second_factor_by_provider = True  # the session start does not ask for Clausier's code
    login(request, user, backend=BACKEND)
    request.session[proconnect.ID_TOKEN_KEY] = identity.id_token
    if organization is not None:  # after accepting an invitation: act for the organization that invited
        request.session[ORGANIZATION_KEY] = str(organization.uuid)
    if request.session.get(sessions.MUST_ENROL):
        return redirect("accounts:two_factor_enrol")
    return redirect(next_url or "www:dashboard")


def _provider_second_factor_accepted(user, identity) -> bool:
    """The sign-in used a second factor at ProConnect (`amr`/`acr`), and every facilitator that requires one of
    this user accepts ProConnect's (`FacilitatorSettings.accept_proconnect_second_factor`)."""
    return (
        identity.has_second_factor
        and not two_factor.requiring_facilitators(user)
        .filter(settings__accept_proconnect_second_factor=False)
        .exists()
    )
