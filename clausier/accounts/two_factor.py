"""The optional second factor: TOTP (RFC 6238, via pyotp) with single-use recovery codes.

Enrolment writes nothing until the user proves that the authenticator works: the secret travels in a
signed form field, and the device is created with the first valid code. A code is accepted once (its time
step is remembered), one step of clock drift either way is tolerated.
"""

import hashlib
import hmac
import re
import secrets
import time

import pyotp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from clausier.accounts.models import RecoveryCode, TOTPDevice
from clausier.organizations.models import Organization, OrganizationKind

ENROL_SALT = "clausier.accounts.totp-enrol"
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_LENGTH = 12


def _now() -> float:
    """Current time for code checks (tests move it forward)."""
    return time.time()


# --- Requirement -------------------------------------------------------------------------------------------


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user).exists()


def requiring_facilitators(user):
    """The facilitators whose staff the user is on and that make the second factor mandatory."""
    return Organization.objects.filter(
        kind=OrganizationKind.FACILITATOR,
        settings__require_two_factor=True,
        memberships__user=user,
        memberships__is_active=True,
        is_active=True,
    )


def is_required_for(user) -> bool:
    """Is the user on the staff of a facilitator that makes the second factor mandatory?"""
    return requiring_facilitators(user).exists()


def must_enrol(user) -> bool:
    return is_required_for(user) and not has_device(user)


# --- Enrolment ---------------------------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32(32)


def sign_secret(user, secret: str) -> str:
    return signing.dumps({"u": user.pk, "s": secret}, salt=ENROL_SALT)


def unsign_secret(user, token: str) -> str | None:
    """The secret of an enrolment form, if the token is this user's and recent enough."""
    try:
        data = signing.loads(token, salt=ENROL_SALT, max_age=settings.ACCOUNTS_TOTP_ENROL_SECONDS)
    except signing.BadSignature:
        return None
    return data.get("s") if data.get("u") == user.pk else None


def provisioning_uri(user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=settings.ACCOUNTS_TOTP_ISSUER)


def qr_code_svg(uri: str) -> str:
    """The QR code as an inline SVG (paths only: no script, no style, nothing the CSP would block)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = re.sub(
        r'^<svg width="[^"]*" height="[^"]*"',
        '<svg width="220" height="220"',
        image.to_string(encoding="unicode"),
    )
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code à scanner" ', 1)


def format_secret(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, last_used_step: int | None) -> int | None:
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(_now()) // totp.interval
    for step in (current, current - 1, current + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


@transaction.atomic
def enrol(*, user, secret: str, code: str) -> list[str] | None:
    """Create the user's device if `code` is valid for `secret`; returns the new recovery codes (shown once)."""
    step = _matching_step(secret, code, None)
    if step is None:
        return None
    TOTPDevice.objects.filter(user=user).delete()
    TOTPDevice.objects.create(user=user, secret=secret, last_used_step=step, last_used_at=timezone.now())
    return regenerate_recovery_codes(user=user)


@transaction.atomic
def disable(*, user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()


# --- Verification ------------------------------------------------------------------------------------------


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in str(code).lower() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()


@transaction.atomic
def regenerate_recovery_codes(*, user) -> list[str]:
    """Replace the user's recovery codes by 10 new ones; only their hashes are kept."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(settings.ACCOUNTS_RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_hash(code)) for code in codes)
    return codes


def verify_totp(user, code: str) -> bool:
    """Check a TOTP code and consume its time step (a code never works twice)."""
    device = TOTPDevice.objects.filter(user=user).first()
    if device is None:
        return False
    step = _matching_step(device.secret, code, device.last_used_step)
    if step is None:
        return False
    # Conditional update: two simultaneous uses of the same code cannot both succeed.
    stale = TOTPDevice.objects.filter(pk=device.pk, last_used_step=device.last_used_step)
    if device.last_used_step is None:
        stale = TOTPDevice.objects.filter(pk=device.pk, last_used_step__isnull=True)
    return bool(stale.update(last_used_step=step, last_used_at=timezone.now()))


def use_recovery_code(user, code: str) -> bool:
    normalized = normalize_recovery_code(code)
    if len(normalized) != RECOVERY_LENGTH:
        return False
    match = RecoveryCode.objects.unused().filter(user=user, code_hash=_hash(normalized)).first()
    if match is None:
        return False
    return bool(RecoveryCode.objects.unused().filter(pk=match.pk).update(used_at=timezone.now()))


def verify(user, code: str) -> bool:
    """A TOTP code or an unused recovery code of the user."""
    digits = "".join(str(code).split())
    if len(digits) == 6 and digits.isdigit():
        return verify_totp(user, digits)
    return use_recovery_code(user, code)


def remaining_recovery_codes(user) -> int:
    return RecoveryCode.objects.unused().filter(user=user).count()
