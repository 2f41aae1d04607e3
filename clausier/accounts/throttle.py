"""Login throttling: N failures for an account (or M from one IP address) within a window lock it for a while.

Counted per e-mail address as typed (normalised), whether or not an account exists, so that the answer
never tells whether an address is known. A successful login resets the account's counter; the IP counter
only forgets with time (a valid account must not let an address try other accounts' passwords).
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from clausier.accounts.models import Lockout, LockoutScope, LoginAttempt, LoginOutcome, LoginStep

logger = logging.getLogger("clausier.accounts")


def locked_message() -> str:
    minutes = max(1, settings.ACCOUNTS_LOCKOUT_SECONDS // 60)
    return (
        "Trop de tentatives de connexion infructueuses : par sécurité, la connexion est suspendue pendant "
        f"{minutes} minutes. Réessayez plus tard, ou réinitialisez votre mot de passe."
    )


def normalize_email(value) -> str:
    return str(value or "").strip().lower()[:254]


def client_ip(request) -> str | None:
    """The client's address as seen by Django (set REMOTE_ADDR correctly behind a proxy)."""
    return request.META.get("REMOTE_ADDR") or None


def _scopes(email: str, ip: str | None) -> Q:
    q = Q(scope=LockoutScope.ACCOUNT, key=email) if email else Q(pk__in=[])
    if ip:
        q |= Q(scope=LockoutScope.IP, key=ip)
    return q


def locked_until(*, email: str, ip: str | None, now=None) -> datetime.datetime | None:
    """The end of the lockout that applies to this e-mail address or IP address, if any."""
    now = now or timezone.now()
    return Lockout.objects.filter(_scopes(email, ip), until__gt=now).aggregate(end=Max("until"))["end"]


def _count_since(field: str, value: str, since) -> int:
    return LoginAttempt.objects.filter(**{field: value}, outcome=LoginOutcome.FAILURE, at__gt=since).count()


def _lock_if_needed(*, scope, key, field, limit, since, now):
    failures = _count_since(field, key, since)
    if failures < limit:
        return None
    until = now + datetime.timedelta(seconds=settings.ACCOUNTS_LOCKOUT_SECONDS)
    lockout = Lockout.objects.create(scope=scope, key=key, started_at=now, until=until, failures=failures)
    logger.warning("Connexion verrouillée (%s %s) après %s échecs, jusqu'à %s", scope, key, failures, until)
    return lockout


@transaction.atomic
def record_failure(
    *, email: str, ip: str | None, user=None, step=LoginStep.PASSWORD
) -> datetime.datetime | None:
    """Log a failed attempt; lock the account or the address when it reaches its limit. Returns the lock end."""
    now = timezone.now()
    LoginAttempt.objects.create(
        at=now, email=email, ip=ip, user=user, step=step, outcome=LoginOutcome.FAILURE
    )
    window_start = now - datetime.timedelta(seconds=settings.ACCOUNTS_LOGIN_WINDOW_SECONDS)
    if email:
        last_reset = max(
            filter(
                None,
                [
                    window_start,
                    LoginAttempt.objects.filter(email=email, outcome=LoginOutcome.SUCCESS).aggregate(
                        m=Max("at")
                    )["m"],
                    Lockout.objects.filter(scope=LockoutScope.ACCOUNT, key=email).aggregate(
                        m=Max("started_at")
                    )["m"],
                ],
            )
        )
        _lock_if_needed(
            scope=LockoutScope.ACCOUNT,
            key=email,
            field="email",
            limit=settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_ACCOUNT,
            since=last_reset,
            now=now,
        )
    if ip:
        last_lock = Lockout.objects.filter(scope=LockoutScope.IP, key=ip).aggregate(m=Max("started_at"))["m"]
        _lock_if_needed(
            scope=LockoutScope.IP,
            key=ip,
            field="ip",
            limit=settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP,
            since=max(filter(None, [window_start, last_lock])),
            now=now,
        )
    return locked_until(email=email, ip=ip, now=now)


def record_refused(*, email: str, ip: str | None, step=LoginStep.PASSWORD) -> None:
    """Log an attempt refused during a lockout (it does not extend the lockout)."""
    LoginAttempt.objects.create(email=email, ip=ip, step=step, outcome=LoginOutcome.REFUSED)


def record_success(*, email: str, ip: str | None, user, step=LoginStep.PASSWORD) -> None:
    """Log a successful login: the account's failure counter starts again from zero."""
    LoginAttempt.objects.create(email=email, ip=ip, user=user, step=step, outcome=LoginOutcome.SUCCESS)


def unlock_account(*, email: str) -> None:
    """End the account's lockout (its owner proved it by resetting the password through the e-mail link)."""
    now = timezone.now()
    Lockout.objects.filter(scope=LockoutScope.ACCOUNT, key=email, until__gt=now).update(until=now)
    logger.info("Verrouillage levé pour %s après réinitialisation du mot de passe", email)
