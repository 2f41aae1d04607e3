"""What the accounts layer keeps in the session, and the pending login between the password and the code."""

import time

from django.conf import settings

LOGIN_AT = "accounts_login_at"  # epoch seconds of the login: the absolute limit counts from it
LAST_SEEN = "accounts_last_seen"  # epoch seconds of the last request (refreshed at most once a minute)
MUST_ENROL = "accounts_must_enrol"  # the second factor is mandatory and not configured yet
PENDING = "accounts_pending_login"  # password checked, code expected: {"user", "backend", "at", "next"}


def now() -> float:
    return time.time()


def start(session, *, must_enrol: bool) -> None:
    """Called at login (signal `user_logged_in`)."""
    session[LOGIN_AT] = session[LAST_SEEN] = int(now())
    if must_enrol:
        session[MUST_ENROL] = True
    else:
        session.pop(MUST_ENROL, None)


def expiry_reason(session) -> str | None:
    """Why this authenticated session is over ("idle", "absolute"), or None; refreshes LAST_SEEN."""
    current = int(now())
    login_at = session.get(LOGIN_AT)
    last_seen = session.get(LAST_SEEN)
    if login_at is None or last_seen is None:  # a session opened before these keys existed
        session[LOGIN_AT] = login_at or current
        session[LAST_SEEN] = current
        return None
    if current - login_at > settings.SESSION_COOKIE_AGE:
        return "absolute"
    if current - last_seen > settings.ACCOUNTS_SESSION_IDLE_SECONDS:
        return "idle"
    if current - last_seen >= settings.ACCOUNTS_SESSION_ACTIVITY_RESOLUTION:
        session[LAST_SEEN] = current  # at most one session write a minute
    return None


def set_pending(session, *, user, next_url: str) -> None:
    session[PENDING] = {"user": user.pk, "backend": user.backend, "at": int(now()), "next": next_url}


def get_pending(session) -> dict | None:
    pending = session.get(PENDING)
    if not pending:
        return None
    if now() - pending["at"] > settings.ACCOUNTS_LOGIN_CODE_SECONDS:
        session.pop(PENDING, None)
        return None
    return pending


def clear_pending(session) -> None:
    session.pop(PENDING, None)
