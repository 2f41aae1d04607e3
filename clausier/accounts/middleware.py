"""Session expiry (idle and absolute) and the mandatory second factor."""

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from clausier.accounts import sessions

EXPIRED = {
    "idle": "Votre session a expiré après une période d'inactivité. Reconnectez-vous pour continuer.",
    "absolute": "Votre session a atteint sa durée maximale. Reconnectez-vous pour continuer.",
}
ENROL_FIRST = (
    "Votre organisation exige la double authentification : configurez votre application "
    "d'authentification pour accéder à Clausier."
)
# What a user who must configure the second factor may still reach.
ALLOWED_BEFORE_ENROLMENT = {"accounts:two_factor_enrol", "logout", "login"}


class SessionExpiryMiddleware:
    """Log out a session idle for too long (`ACCOUNTS_SESSION_IDLE_SECONDS`) or too old (`SESSION_COOKIE_AGE`).

    The request then goes on as an anonymous one: a private page redirects to the login page with `next`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            reason = sessions.expiry_reason(request.session)
            if reason:
                logout(request)
                messages.warning(request, EXPIRED[reason])
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """A staff member whose facilitator requires the second factor and who has none: enrolment only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and request.session.get(sessions.MUST_ENROL):
            try:
                match = resolve(request.path_info)
                name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
            except Resolver404:
                name = None
            if name not in ALLOWED_BEFORE_ENROLMENT:
                messages.warning(request, ENROL_FIRST)
                return redirect("accounts:two_factor_enrol")
        return self.get_response(request)
