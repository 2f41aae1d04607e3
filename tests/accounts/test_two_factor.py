"""TOTP second factor: enrolment, login in two steps, recovery codes, disabling, mandatory for a team."""

import hashlib
import re

import pyotp
import pytest
from django.urls import reverse

from clausier.accounts import sessions
from clausier.accounts.models import LoginAttempt, LoginOutcome, RecoveryCode, TOTPDevice
from clausier.organizations.models import FacilitatorSettings
from tests.accounts.conftest import hidden_value
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ENROL = reverse("accounts:two_factor_enrol")


def login_password(client, user):
    return client.post(reverse("login"), {"username": user.email, "password": PASSWORD})


def enrol(client, clock):
    html = client.get(ENROL).content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    response = client.post(ENROL, {"token": hidden_value(html, "token"), "code": clock.code(secret)})
    return secret, response


# --- Enrolment ----------------------------------------------------------------------------------------------


def test_enrolment_page_shows_an_inline_svg_qr_code_and_writes_nothing(facilitator_member_client):
    response = facilitator_member_client.get(ENROL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<svg role="img" aria-label="QR code à scanner"' in html and "<path" in html
    assert "<script" not in html.split('data-testid="totp-qrcode"')[1].split("</div>")[0]
    assert "img-src 'self' data:" in response["Content-Security-Policy"]
    assert re.search(r'data-testid="totp-secret">[A-Z2-7]{4}( [A-Z2-7]{4}){7}<', html)
    assert not TOTPDevice.objects.exists() and not RecoveryCode.objects.exists()


def test_enrolment_with_a_valid_code_shows_ten_recovery_codes_once(facilitator_member_client, world_a, clock):
    user = world_a.users["facilitator_member"]
    secret, response = enrol(facilitator_member_client, clock)
    assert response.status_code == 200
    html = response.content.decode()
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", html)
    assert len(codes) == len(set(codes)) == 10
    device = TOTPDevice.objects.get(user=user)
    assert device.secret == secret
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert not any(c in h or c.replace("-", "") in h for c in codes for h in stored)
    page = facilitator_member_client.get(reverse("accounts:security")).content.decode()
    assert "Activée" in page and "Codes de secours restants : 10" in page
    assert not re.findall(r"<code>[a-z2-9]{4}-", page)


def test_enrolment_with_a_wrong_or_forged_code_writes_nothing(facilitator_member_client, clock):
    html = facilitator_member_client.get(ENROL).content.decode()
    token = hidden_value(html, "token")
    response = facilitator_member_client.post(ENROL, {"token": token, "code": "000000"})
    assert "Code incorrect" in response.content.decode()
    forged = pyotp.random_base32(32)
    response = facilitator_member_client.post(ENROL, {"token": forged, "code": clock.code(forged)})
    assert response.status_code == 200 and "délai de configuration est dépassé" in response.content.decode()
    assert not TOTPDevice.objects.exists()


# --- Login ----------------------------------------------------------------------------------------------------


def test_login_asks_the_code_after_the_password(client, world_a, with_device, clock):
    user = world_a.users["facilitator_member"]
    secret, _codes = with_device(user)
    response = login_password(client, user)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login_code")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("www:market_list")).status_code == 302  # not logged in yet
    response = client.post(reverse("accounts:login_code"), {"code": "123456"})
    assert "Code incorrect" in response.content.decode()
    code = clock.code(secret)
    response = client.post(reverse("accounts:login_code"), {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("www:dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("www:dashboard")).status_code == 200
    # The same code does not work twice.
    client.post(reverse("logout"))
    login_password(client, user)
    assert "Code incorrect" in client.post(reverse("accounts:login_code"), {"code": code}).content.decode()
    clock.tick()
    assert client.post(reverse("accounts:login_code"), {"code": clock.code(secret)}).status_code == 302


def test_login_keeps_the_next_page(client, world_a, with_device, clock):
    user = world_a.users["facilitator_member"]
    secret, _codes = with_device(user)
    url = reverse("www:market_list")
    client.post(f"{reverse('login')}?next={url}", {"username": user.email, "password": PASSWORD, "next": url})
    response = client.post(reverse("accounts:login_code"), {"code": clock.code(secret)})
    assert response["Location"] == url


def test_the_code_step_needs_the_password_step(client):
    response = client.get(reverse("accounts:login_code"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_a_recovery_code_works_once(client, world_a, with_device):
    user = world_a.users["facilitator_member"]
    _secret, codes = with_device(user)
    login_password(client, user)
    response = client.post(reverse("accounts:login_code"), {"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1
    client.post(reverse("logout"))
    login_password(client, user)
    response = client.post(reverse("accounts:login_code"), {"code": codes[3]})
    assert response.status_code == 200 and "Code incorrect" in response.content.decode()


def test_wrong_codes_lock_the_account(client, world_a, with_device):
    user = world_a.users["facilitator_member"]
    with_device(user)
    login_password(client, user)
    for _ in range(4):
        assert client.post(reverse("accounts:login_code"), {"code": "000000"}).status_code == 200
    response = client.post(reverse("accounts:login_code"), {"code": "000000"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    html = client.post(reverse("login"), {"username": user.email, "password": PASSWORD}).content.decode()
    assert "la connexion est suspendue" in html
    assert LoginAttempt.objects.filter(outcome=LoginOutcome.FAILURE, step="code").count() == 5


# --- Disable, regenerate ----------------------------------------------------------------------------------------


def test_disable_needs_a_valid_code(facilitator_member_client, world_a, with_device, clock):
    user = world_a.users["facilitator_member"]
    secret, _codes = with_device(user)
    url = reverse("accounts:two_factor_disable")
    assert facilitator_member_client.get(url).status_code == 200
    assert "Code incorrect" in facilitator_member_client.post(url, {"code": "000000"}).content.decode()
    assert TOTPDevice.objects.filter(user=user).exists()
    response = facilitator_member_client.post(url, {"code": clock.code(secret)})
    assert response.status_code == 302
    assert (
        not TOTPDevice.objects.filter(user=user).exists()
        and not RecoveryCode.objects.filter(user=user).exists()
    )


def test_regenerate_recovery_codes(facilitator_member_client, world_a, with_device, clock):
    user = world_a.users["facilitator_member"]
    secret, old_codes = with_device(user)
    url = reverse("accounts:recovery_codes")
    response = facilitator_member_client.post(url, {"code": clock.code(secret)})
    codes = re.findall(r"<code>([a-z2-9-]{14})</code>", response.content.decode())
    assert len(codes) == 10 and not set(codes) & set(old_codes)
    assert RecoveryCode.objects.filter(user=user).count() == 10


# --- Mandatory for a facilitator's staff --------------------------------------------------------------------------


def test_only_admins_make_it_mandatory(world_a, facilitator_admin_client, facilitator_member_client):
    url = reverse("accounts:team_security")
    assert facilitator_member_client.get(url).status_code == 200
    response = facilitator_member_client.post(url, {"require_two_factor": "on"})
    assert response.status_code == 302
    assert not FacilitatorSettings.objects.filter(
        facilitator=world_a.facilitator, require_two_factor=True
    ).exists()
    page = facilitator_admin_client.get(url).content.decode()
    assert "facultative" in page and "Non configurée" in page
    assert facilitator_admin_client.post(url, {"require_two_factor": "on"}).status_code == 302
    assert FacilitatorSettings.objects.get(facilitator=world_a.facilitator).require_two_factor


def test_admins_choose_whether_proconnect_second_factor_counts(
    world_a, facilitator_admin_client, facilitator_member_client, settings
):
    url = reverse("accounts:team_security")
    page = facilitator_admin_client.get(url).content.decode()
    assert "accept_proconnect_second_factor" not in page  # no ProConnect here: no such setting
    settings.PROCONNECT_DOMAIN, settings.PROCONNECT_CLIENT_ID = "auth.example.gouv.fr", "clausier"
    page = facilitator_admin_client.get(url).content.decode()
    assert re.search(r'<input[^>]*name="accept_proconnect_second_factor"[^>]*checked', page)  # default: yes
    assert "son second facteur <strong>est accepté</strong>" in page
    response = facilitator_admin_client.post(url, {"require_two_factor": "on"})  # box left unticked
    assert response.status_code == 302
    row = FacilitatorSettings.objects.get(facilitator=world_a.facilitator)
    assert row.require_two_factor and not row.accept_proconnect_second_factor
    page = facilitator_member_client.get(url).content.decode()
    assert "<strong>n'est pas accepté</strong>" in page and 'name="accept_proconnect' not in page
    facilitator_member_client.post(url, {"require_two_factor": "on", "accept_proconnect_second_factor": "on"})
    assert not FacilitatorSettings.objects.get(pk=row.pk).accept_proconnect_second_factor  # admins only


def test_mandatory_second_factor_sends_staff_to_enrolment(client, world_a, clock):
    FacilitatorSettings.objects.create(facilitator=world_a.facilitator, require_two_factor=True)
    user = world_a.users["facilitator_member"]
    response = login_password(client, user)
    assert response.status_code == 302 and response["Location"] == ENROL
    for name in ("www:dashboard", "www:market_list", "accounts:security", "accounts:team_security"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"] == ENROL, name
    assert client.get(ENROL).status_code == 200
    _secret, response = enrol(client, clock)
    assert response.status_code == 200 and sessions.MUST_ENROL not in client.session
    assert client.get(reverse("www:dashboard")).status_code == 200
    # It can no longer be disabled.
    response = client.get(reverse("accounts:two_factor_disable"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:security")


def test_mandatory_second_factor_does_not_concern_partners(client, world_a):
    FacilitatorSettings.objects.create(facilitator=world_a.facilitator, require_two_factor=True)
    response = login_password(client, world_a.users["buyer"])
    assert response["Location"] == reverse("www:dashboard")
    assert client.get(reverse("www:dashboard")).status_code == 200
