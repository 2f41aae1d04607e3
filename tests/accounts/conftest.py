import re

import pyotp
import pytest

from clausier.accounts import two_factor
from clausier.accounts.models import TOTPDevice


class Clock:
    """The time seen by the code checks; each `tick()` moves to the next 30-second step."""

    def __init__(self, start):
        self.t = start

    def tick(self, seconds=30):
        self.t += seconds

    def code(self, secret):
        return pyotp.TOTP(secret).at(self.t)


@pytest.fixture
def clock(monkeypatch):
    c = Clock(1_800_000_000)
    monkeypatch.setattr(two_factor, "_now", lambda: c.t)
    return c


@pytest.fixture
def with_device():
    """`with_device(user)`: a confirmed TOTP device; returns (secret, recovery codes)."""

    def make(user):
        secret = pyotp.random_base32()
        TOTPDevice.objects.create(user=user, secret=secret)
        return secret, two_factor.regenerate_recovery_codes(user=user)

    return make


def hidden_value(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
