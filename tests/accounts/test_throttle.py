"""Login throttling: 5 failures for an account (or 20 from an address) in 15 minutes lock logins for 15 minutes."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clausier.accounts.models import Lockout, LockoutScope, LoginAttempt, LoginOutcome
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "la connexion est suspendue pendant 15 minutes"
WRONG = "Adresse e-mail ou mot de passe incorrect."


def attempt(client, email, password, ip="10.0.0.1"):
    response = client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)
    return response, response.content.decode() if response.status_code == 200 else ""


def test_the_numbers_are_settings():
    assert settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_ACCOUNT == 5
    assert settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP == 20
    assert settings.ACCOUNTS_LOGIN_WINDOW_SECONDS == settings.ACCOUNTS_LOCKOUT_SECONDS == 15 * 60


def test_five_failures_lock_the_account_even_with_the_right_password(client, world_a):
    email = world_a.users["facilitator_member"].email
    for _ in range(4):
        _response, html = attempt(client, email, "mauvais mot de passe")
        assert WRONG in html and LOCKED not in html
    _response, html = attempt(client, email, "mauvais mot de passe")
    assert LOCKED in html
    response, html = attempt(client, email, PASSWORD)
    assert response.status_code == 200 and LOCKED in html
    assert "_auth_user_id" not in client.session
    lockout = Lockout.objects.get()
    assert (lockout.scope, lockout.key, lockout.failures) == (LockoutScope.ACCOUNT, email, 5)
    assert lockout.until - lockout.started_at == datetime.timedelta(minutes=15)
    outcomes = list(LoginAttempt.objects.order_by("at", "id").values_list("outcome", flat=True))
    assert outcomes == [LoginOutcome.FAILURE] * 5 + [LoginOutcome.REFUSED]


def test_the_lockout_ends_after_15_minutes(client, world_a):
    email = world_a.users["facilitator_member"].email
    for _ in range(5):
        attempt(client, email, "mauvais mot de passe")
    past = timezone.now() - datetime.timedelta(minutes=16)
    Lockout.objects.update(until=past, started_at=past - datetime.timedelta(minutes=15))
    LoginAttempt.objects.update(at=past - datetime.timedelta(minutes=15))
    response, _html = attempt(client, email, PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"]


def test_an_unknown_address_gets_the_same_answers(client, world_a):
    """Nothing tells whether an account exists: same messages, same lockout."""
    for _ in range(4):
        _response, html = attempt(client, "personne@inconnu.example", "mauvais mot de passe")
        assert WRONG in html
    _response, html = attempt(client, "personne@inconnu.example", "mauvais mot de passe")
    assert LOCKED in html


def test_a_success_resets_the_account_counter(client, world_a):
    email = world_a.users["facilitator_member"].email
    for _ in range(4):
        attempt(client, email, "mauvais mot de passe")
    response, _html = attempt(client, email.upper(), PASSWORD)
    assert response.status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        _response, html = attempt(client, email, "mauvais mot de passe")
        assert LOCKED not in html
    assert attempt(client, email, PASSWORD)[0].status_code == 302
    assert not Lockout.objects.exists()


def test_failures_from_one_address_lock_that_address(client, world_a, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP = 3
    for n in range(3):
        attempt(client, f"essai{n}@inconnu.example", "mauvais mot de passe", ip="192.0.2.7")
    member = world_a.users["facilitator_member"]
    _response, html = attempt(client, member.email, PASSWORD, ip="192.0.2.7")
    assert LOCKED in html
    assert Lockout.objects.filter(scope=LockoutScope.IP, key="192.0.2.7").exists()
    # Another address is not concerned.
    assert attempt(client, member.email, PASSWORD, ip="192.0.2.8")[0].status_code == 302
