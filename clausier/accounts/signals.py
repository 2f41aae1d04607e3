from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from clausier.accounts import sessions, two_factor


@receiver(user_logged_in, dispatch_uid="clausier.accounts.session_start")
def session_start(sender, request, user, **kwargs):
    """Start the clocks of the session, and note whether the second factor must be configured first."""
    if request is not None and hasattr(request, "session"):
        # A ProConnect sign-in whose second factor the facilitators accept needs no Clausier code (issue 17).
        by_provider = getattr(request, "second_factor_by_provider", False)
        sessions.start(request.session, must_enrol=two_factor.must_enrol(user) and not by_provider)
