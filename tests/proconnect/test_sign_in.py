"""Sign-in with ProConnect, through Clausier's pages, against the real local provider (issue 17).

The Django test client plays Clausier's side, `ProConnectProvider.log_in` the user's browser at the provider:
every test runs the real authorization code flow (PKCE, state, nonce, the token and userinfo requests, the
JWKS). A failure must give the French page with the way back to the password form, log in nobody and link
nothing.
"""

import contextlib
import datetime
import html
import re
import socket
import time
from unittest import mock
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pyotp
import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from joserfc import jwt
from joserfc.jwk import RSAKey

from clausier.accounts import proconnect, sessions, throttle
from clausier.accounts.invitations import PROBLEMS
from clausier.accounts.models import (
    Invitation,
    LoginAttempt,
    LoginOutcome,
    LoginStep,
    ProConnectIdentity,
    TOTPDevice,
)
from clausier.accounts.proconnect_users import WRONG_ADDRESS
from clausier.audit.models import AuditEntry
from clausier.organizations.middleware import SESSION_KEY as ORGANIZATION_KEY
from clausier.organizations.models import FacilitatorSettings, Membership, Role, User
from tests.accounts.test_invitations import pending_invitation
from tests.factories import BuyerFactory, FacilitatorFactory, FacilitatorSettingsFactory, UserFactory
from tests.proconnect.conftest import (
    ACR_EIDAS1,
    ACR_SELF_ASSERTED_2FA,
    AGENT,
    INCONNU,
    MFA,
    decode_jwt,
    http_client,
)

pytestmark = pytest.mark.django_db

START = reverse("accounts:proconnect_start")
CALLBACK = reverse("accounts:proconnect_callback")
LOGIN = reverse("login")
DASHBOARD = reverse("www:dashboard")
BACK_TO_PASSWORD = f'href="{LOGIN}">Se connecter avec un mot de passe</a>'
INVALID = "La réponse de ProConnect n'a pas pu être vérifiée : la connexion est refusée. Réessayez."
EXPIRED = "La connexion avec ProConnect a expiré : recommencez."
UNKNOWN = "Votre compte ProConnect n'est rattaché à aucun compte Clausier."
ID_TOKEN_SECONDS = 3600  # the provider's ID token lifetime (provider.mjs, ttl.IdToken)


# --- Fixtures and helpers ------------------------------------------------------------------------------------


@pytest.fixture
def provider(oidc_provider, settings):
    """The local provider, and Clausier configured for it; what a test scripts or adds there is forgotten after
    it (the Django cache, where discovery and keys are kept, is emptied around every test by tests/conftest)."""
    oidc_provider.reset()
    settings.PROCONNECT_DOMAIN = oidc_provider.issuer
    settings.PROCONNECT_CLIENT_ID = oidc_provider.client_id
    settings.PROCONNECT_CLIENT_SECRET = oidc_provider.client_secret
    yield oidc_provider
    oidc_provider.reset()


@pytest.fixture
def browser():
    """The user's browser at the provider (keeps its session cookie there, for the logout)."""
    with http_client() as client:
        yield client


@pytest.fixture
def facilitator(db):
    return FacilitatorFactory(name="Cellule clause du Rhône")


@pytest.fixture
def buyer_org(facilitator):
    return BuyerFactory(partner_of=facilitator, name="Ville de Villeurbanne")


@pytest.fixture
def agent(buyer_org):
    """The Clausier account of ProConnect's AGENT (same address, not linked yet)."""
    return UserFactory(email=AGENT["email"], member_of=buyer_org)


def to_provider(client, query: dict | None = None) -> str:
    """Open the start page; returns the provider's authorization URL it redirects to."""
    response = client.get(START + (f"?{urlencode(query)}" if query else ""))
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"].startswith(proconnect.metadata()["authorization_endpoint"] + "?")
    return response["Location"]


def sign_in(client, provider, login: str, *, query: dict | None = None, browser=None):
    """The whole flow: Clausier's start, the login at the provider, Clausier's callback (its response)."""
    back = provider.log_in(to_provider(client, query), login, client=browser)
    assert back.startswith(f"http://testserver{CALLBACK}?"), back
    return client.get(back)


def with_params(url: str, **changes) -> str:
    parts = urlsplit(url)
    params = {key: values[0] for key, values in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(params)))


def params_of(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def signed_in_user(client):
    user_id = client.session.get(AUTH_USER_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def assert_refused(response, message: str, *, status: int = 400):
    """The French failure page saying `message`, with the way back to the password form; nobody is signed in."""
    page = response.content.decode()
    assert response.status_code == status, page[:1000]
    assert "Connexion avec ProConnect impossible" in page
    assert f"<p>{escape(message)}</p>" in page, page
    assert BACK_TO_PASSWORD in page
    assert f'href="{START}">Réessayer avec ProConnect</a>' in page
    assert AUTH_USER_KEY not in response.wsgi_request.session
    assert not response.wsgi_request.user.is_authenticated


def assert_nothing_linked():
    assert not ProConnectIdentity.objects.exists()
    assert not AuditEntry.objects.filter(object_type="accounts.proconnectidentity").exists()
    assert not LoginAttempt.objects.filter(outcome=LoginOutcome.SUCCESS).exists()


@contextlib.contextmanager
def later(seconds: float):
    """Every clock read through `time.time()` (the flow's age, the tokens' expiry) moves `seconds` ahead."""
    real = time.time
    with mock.patch("time.time", lambda: real() + seconds):
        yield


def closed_port() -> int:
    """A loopback port nothing listens on (taken from the system, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def token_answer_changed(change):
    """The provider's real token answer, passed through `change(tokens) -> tokens` before Clausier reads it."""
    real_post = httpx.post

    def post(url, *args, **kwargs):
        response = real_post(url, *args, **kwargs)
        if response.status_code != 200:
            return response
        return httpx.Response(200, json=change(response.json()), request=response.request)

    with mock.patch.object(proconnect.httpx, "post", post):
        yield


def forged(token: str, *, kid: str) -> str:
    """The same claims as `token`, signed by a key the provider never published."""
    _header, claims = decode_jwt(token)
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, RSAKey.generate_key(2048))


# --- Success -------------------------------------------------------------------------------------------------


def test_a_verified_address_of_an_existing_account_signs_in_and_links_it(client, provider, agent):
    response = sign_in(client, provider, AGENT["email"])

    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    assert signed_in_user(client) == agent
    link = ProConnectIdentity.objects.get()
    assert (link.user, link.sub, link.email, link.siret, link.idp_id) == (
        agent,
        AGENT["sub"],
        AGENT["email"],
        AGENT["siret"],
        AGENT["idp_id"],
    )
    assert link.last_login_at is not None
    entry = AuditEntry.objects.get(object_type="accounts.proconnectidentity", object_id=str(link.pk))
    assert entry.actor == agent
    assert entry.detail == "identité ProConnect liée au compte"
    assert entry.changes["sub"] == [None, AGENT["sub"]]
    assert entry.changes["siret"] == [None, AGENT["siret"]]
    attempt = LoginAttempt.objects.get()
    assert (attempt.step, attempt.outcome, attempt.user, attempt.email, attempt.ip) == (
        LoginStep.PROCONNECT,
        LoginOutcome.SUCCESS,
        agent,
        AGENT["email"],
        "127.0.0.1",
    )
    # The ID token is kept for the logout; the flow is gone from the session.
    assert decode_jwt(client.session[proconnect.ID_TOKEN_KEY])[1]["sub"] == AGENT["sub"]
    assert proconnect.SESSION_KEY not in client.session
    assert client.get(DASHBOARD).status_code == 200


def test_the_next_sign_in_finds_the_account_by_sub_even_after_the_address_changed(provider, agent):
    sign_in(Client(), provider, AGENT["email"])
    new_address = "camille.martin@metropole.example"
    provider.add_account(**{**AGENT, "email": new_address})  # same sub, new address at the provider
    someone_else = UserFactory(email=new_address)  # the new address is another Clausier account's

    client = Client()
    response = sign_in(client, provider, new_address)

    assert response.status_code == 302
    assert signed_in_user(client) == agent  # the sub decides, not the address
    link = ProConnectIdentity.objects.get()
    assert (link.user, link.email) == (agent, new_address)  # what ProConnect says now
    assert not someone_else.proconnect_identities.exists()
    assert AuditEntry.objects.filter(object_type="accounts.proconnectidentity").count() == 1  # linked once
    assert list(
        LoginAttempt.objects.filter(step=LoginStep.PROCONNECT).order_by("at").values_list("outcome", "user")
    ) == [(LoginOutcome.SUCCESS, agent.pk), (LoginOutcome.SUCCESS, agent.pk)]


def test_the_login_page_button_carries_next_and_lands_there(client, provider, agent):
    security = reverse("accounts:security")
    page = client.get(f"{LOGIN}?{urlencode({'next': security})}").content.decode()
    button = re.search(r'<a class="fr-connect" href="([^"]+)"', page)[1]
    assert html.unescape(button) == f"{START}?{urlencode({'next': security})}"

    back = provider.log_in(to_provider(client, {"next": security}), AGENT["email"])
    response = client.get(back)

    assert (response.status_code, response["Location"]) == (302, security)
    assert signed_in_user(client) == agent


@pytest.mark.parametrize(
    "next_url", ["https://ailleurs.example/piege/", "//ailleurs.example/piege/", "javascript:alert(1)"]
)
def test_an_unsafe_next_is_ignored(client, provider, agent, next_url):
    response = sign_in(client, provider, AGENT["email"], query={"next": next_url})

    assert (response.status_code, response["Location"]) == (302, DASHBOARD)
    assert signed_in_user(client) == agent


def test_a_signed_in_user_opening_the_start_goes_to_the_dashboard(client, provider, agent):
    sign_in(client, provider, AGENT["email"])
    provider.reset()

    for url in (START, f"{CALLBACK}?code=x&state=y"):
        assert client.get(url)["Location"] == DASHBOARD
    assert provider.requests() == []


# --- State, nonce, audience, expiry, keys --------------------------------------------------------------------


def test_a_tampered_state_is_refused_before_the_code_is_used(client, provider, agent):
    back = provider.log_in(to_provider(client), AGENT["email"])
    provider.reset()

    response = client.get(with_params(back, state="etat-falsifie"))

    assert_refused(response, "La réponse de ProConnect ne correspond pas à cette connexion : recommencez.")
    assert_nothing_linked()
    assert provider.requests() == []  # the code was not even exchanged
    attempt = LoginAttempt.objects.get()
    assert (attempt.step, attempt.outcome, attempt.ip) == (
        LoginStep.PROCONNECT,
        LoginOutcome.FAILURE,
        "127.0.0.1",
    )
    # The flow is spent: the genuine answer, replayed now, finds none.
    assert_refused(client.get(back), EXPIRED)
    assert_nothing_linked()


def test_a_flow_older_than_its_lifetime_is_refused(client, provider, agent):
    back = provider.log_in(to_provider(client), AGENT["email"])
    provider.reset()

    with later(proconnect.FLOW_SECONDS + 5):
        response = client.get(back)

    assert_refused(response, EXPIRED)
    assert_nothing_linked()
    assert provider.requests() == []


def test_a_flow_just_within_its_lifetime_is_accepted(client, provider, agent):
    back = provider.log_in(to_provider(client), AGENT["email"])

    with later(proconnect.FLOW_SECONDS - 30):
        response = client.get(back)

    assert response.status_code == 302
    assert signed_in_user(client) == agent


def test_a_callback_without_a_flow_in_the_session_is_refused(client, provider, agent):
    # The provider's genuine answer, opened in another browser than the one that started.
    back = provider.log_in(to_provider(Client()), AGENT["email"])

    assert_refused(client.get(back), EXPIRED)
    assert_refused(client.get(f"{CALLBACK}?code=nimporte&state=quoi"), EXPIRED)
    assert_refused(client.get(CALLBACK), EXPIRED)
    assert_nothing_linked()


def test_an_id_token_with_another_nonce_is_refused(client, provider, agent):
    url = to_provider(client)
    session = client.session  # the nonce sent to the provider is no longer the one the session expects
    session[proconnect.SESSION_KEY] = {**session[proconnect.SESSION_KEY], "nonce": "un-autre-nonce"}
    session.save()

    response = client.get(provider.log_in(url, AGENT["email"]))

    assert_refused(response, INVALID)
    assert_nothing_linked()


def test_a_client_id_changed_since_the_start_is_refused_by_the_provider(client, provider, agent, settings):
    back = provider.log_in(to_provider(client), AGENT["email"])
    settings.PROCONNECT_CLIENT_ID = "un-autre-client"

    assert_refused(client.get(back), INVALID)
    assert_nothing_linked()


def test_an_id_token_for_another_audience_is_refused(client, provider, agent, settings):
    """The provider's genuine ID token, issued for `clausier-test`, read by a Clausier whose client id is
    another: the audience check refuses it."""
    back = provider.log_in(to_provider(client), AGENT["email"])

    def now_another_client(tokens):
        assert decode_jwt(tokens["id_token"])[1]["aud"] == provider.client_id
        settings.PROCONNECT_CLIENT_ID = "un-autre-client"
        return tokens

    with token_answer_changed(now_another_client):
        response = client.get(back)

    assert_refused(response, INVALID)
    assert_nothing_linked()


@pytest.mark.parametrize(
    ("seconds", "accepted"),
    [
        (ID_TOKEN_SECONDS - 60, True),  # still valid
        (ID_TOKEN_SECONDS + proconnect.CLOCK_SKEW // 2, True),  # expired, within the clock skew tolerated
        (ID_TOKEN_SECONDS + proconnect.CLOCK_SKEW + 30, False),  # expired
    ],
)
def test_an_expired_id_token_is_refused(client, provider, agent, monkeypatch, seconds, accepted):
    # The flow's own lifetime is widened so that only the token's expiry decides.
    monkeypatch.setattr(proconnect, "FLOW_SECONDS", 2 * ID_TOKEN_SECONDS)
    back = provider.log_in(to_provider(client), AGENT["email"])

    with later(seconds):
        response = client.get(back)

    if accepted:
        assert response.status_code == 302
        assert signed_in_user(client) == agent
    else:
        assert_refused(response, INVALID)
        assert_nothing_linked()


def test_keys_rotated_at_the_provider_are_fetched_again(provider, agent):
    jwks_path = urlsplit(provider.endpoint("jwks")).path

    def jwks_fetches():
        return len(provider.requests(jwks_path))

    first = Client()
    sign_in(first, provider, AGENT["email"])
    assert jwks_fetches() == 1
    sign_in(Client(), provider, AGENT["email"])
    assert jwks_fetches() == 1  # cached

    new_kid = provider.rotate_keys()  # the old key leaves the JWKS at once
    client = Client()
    response = sign_in(client, provider, AGENT["email"])

    assert response.status_code == 302
    assert signed_in_user(client) == agent
    assert decode_jwt(client.session[proconnect.ID_TOKEN_KEY])[0]["kid"] == new_kid
    assert jwks_fetches() == 2  # fetched again once, for the unknown kid
    sign_in(Client(), provider, AGENT["email"])
    assert jwks_fetches() == 2


@pytest.mark.parametrize("kid", ["unknown", "provider's"])
def test_an_id_token_signed_by_a_key_the_provider_never_published_is_refused(client, provider, agent, kid):
    signing_kid = provider.state()["signing_kid"]
    back = provider.log_in(to_provider(client), AGENT["email"])

    def forge(tokens):
        return {
            **tokens,
            "id_token": forged(tokens["id_token"], kid="clef-pirate" if kid == "unknown" else signing_kid),
        }

    with token_answer_changed(forge):
        response = client.get(back)

    assert_refused(response, INVALID)
    assert_nothing_linked()


def test_a_userinfo_answer_signed_by_an_unpublished_key_is_refused(client, provider, agent):
    """The address in userinfo picks the account: a forged one (another person's address) must not pass."""
    victim = UserFactory(email="victime@ville.example", member_of=agent.memberships.get().organization)
    signing_kid = provider.state()["signing_kid"]
    back = provider.log_in(to_provider(client), INCONNU["email"])
    real_get = httpx.get

    def get(url, *args, **kwargs):
        response = real_get(url, *args, **kwargs)
        if url != proconnect.metadata()["userinfo_endpoint"]:
            return response
        _header, claims = decode_jwt(response.text)
        text = jwt.encode(
            {"alg": "RS256", "kid": signing_kid}, {**claims, "email": victim.email}, RSAKey.generate_key(2048)
        )
        return httpx.Response(
            200, headers={"content-type": "application/jwt"}, text=text, request=response.request
        )

    with mock.patch.object(proconnect.httpx, "get", get):
        response = client.get(back)

    assert_refused(response, INVALID)
    assert_nothing_linked()


# --- Who gets in -------------------------------------------------------------------------------------------


def test_an_unknown_person_is_told_how_to_be_invited_and_nothing_is_created(client, provider, agent):
    users = User.objects.count()

    response = sign_in(client, provider, INCONNU["email"])

    assert_refused(response, UNKNOWN)
    html_page = response.content.decode()
    assert "Comment accéder à Clausier ?" in html_page
    assert "<strong>sur invitation</strong>" in html_page
    assert User.objects.count() == users
    assert not User.objects.filter(email__iexact=INCONNU["email"]).exists()
    assert not Membership.objects.filter(user__email__iexact=INCONNU["email"]).exists()
    assert_nothing_linked()
    attempt = LoginAttempt.objects.get()
    assert (attempt.step, attempt.outcome, attempt.email, attempt.user) == (
        LoginStep.PROCONNECT,
        LoginOutcome.FAILURE,
        INCONNU["email"],
        None,
    )


RECRUE = {
    **INCONNU,
    "sub": "sub-recrue",
    "email": "alix.nouveau@ville.example",
    "given_name": "Alix",
    "usual_name": "Nouveau",
    "uid": "uid-recrue",
}


def invitation_button(client, token: str) -> str:
    """The ProConnect button's address on the invitation page."""
    page = client.get(reverse("accounts:invitation_accept", kwargs={"token": token}))
    assert page.status_code == 200
    href = re.search(r'<a class="fr-connect" href="([^"]+)"', page.content.decode())[1]
    return html.unescape(href)


def test_an_invitation_is_accepted_through_proconnect_by_a_new_person(client, provider, buyer_org):
    provider.add_account(**RECRUE)
    admin = UserFactory(member_of=buyer_org, member_of__role=Role.ADMIN)
    invitation = pending_invitation(buyer_org, by=admin, email=RECRUE["email"], role=Role.MEMBER)
    token = f"jeton-{RECRUE['email']}"
    button = invitation_button(client, token)
    assert button == f"{START}?{urlencode({'invitation': token})}"

    response = client.get(button)
    response = client.get(provider.log_in(response["Location"], RECRUE["email"]))

    assert (response.status_code, response["Location"]) == (302, DASHBOARD)
    user = User.objects.get(email=RECRUE["email"])
    assert signed_in_user(client) == user
    assert (user.first_name, user.last_name, user.has_usable_password()) == ("Alix", "Nouveau", False)
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role, membership.is_active) == (buyer_org, Role.MEMBER, True)
    assert client.session[ORGANIZATION_KEY] == str(buyer_org.uuid)
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (user, True)
    link = ProConnectIdentity.objects.get()
    assert (link.user, link.sub, link.siret) == (user, RECRUE["sub"], RECRUE["siret"])
    details = set(AuditEntry.objects.values_list("detail", flat=True))
    assert {
        "compte créé en acceptant une invitation avec ProConnect",
        "invitation acceptée",
        "identité ProConnect liée au compte",
    } <= details
    assert LoginAttempt.objects.get().outcome == LoginOutcome.SUCCESS
    assert client.get(DASHBOARD).status_code == 200


def test_an_invitation_accepted_through_proconnect_makes_its_organization_the_current_one(
    client, provider, agent, buyer_org, facilitator
):
    """An account already member elsewhere joins the inviting organization and lands acting for it."""
    other = BuyerFactory(partner_of=facilitator, name="Métropole de Lyon")
    admin = UserFactory(member_of=other, member_of__role=Role.ADMIN)
    pending_invitation(other, by=admin, email=AGENT["email"])

    response = sign_in(client, provider, AGENT["email"], query={"invitation": f"jeton-{AGENT['email']}"})

    assert response.status_code == 302
    assert signed_in_user(client) == agent
    assert set(Membership.objects.filter(user=agent).values_list("organization", flat=True)) == {
        buyer_org.pk,
        other.pk,
    }
    assert client.session[ORGANIZATION_KEY] == str(other.uuid)
    assert ProConnectIdentity.objects.get().user == agent


def test_an_invitation_to_another_address_is_refused_and_nothing_is_created(client, provider, buyer_org):
    admin = UserFactory(member_of=buyer_org, member_of__role=Role.ADMIN)
    invited = "quelqu.un@ville.example"
    invitation = pending_invitation(buyer_org, by=admin, email=invited)
    users = User.objects.count()

    response = sign_in(client, provider, AGENT["email"], query={"invitation": f"jeton-{invited}"})

    assert_refused(response, WRONG_ADDRESS.format(invited=invited, email=AGENT["email"]))
    assert User.objects.count() == users
    assert not Membership.objects.filter(user__email__in=[invited, AGENT["email"]]).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert_nothing_linked()


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_an_unusable_invitation_link_is_refused_in_french(client, provider, buyer_org, problem):
    provider.add_account(**RECRUE)
    admin = UserFactory(member_of=buyer_org, member_of__role=Role.ADMIN)
    invitation = pending_invitation(buyer_org, by=admin, email=RECRUE["email"])
    token = "jeton-inconnu" if problem == "unknown" else f"jeton-{RECRUE['email']}"
    now = timezone.now()
    changes = {
        "unknown": {},
        "expired": {"expires_at": now - datetime.timedelta(minutes=1)},
        "accepted": {"accepted_at": now, "accepted_by": admin},
        "revoked": {"revoked_at": now},
    }[problem]
    Invitation.objects.filter(pk=invitation.pk).update(**changes)
    users = User.objects.count()

    response = sign_in(client, provider, RECRUE["email"], query={"invitation": token})

    assert_refused(response, PROBLEMS[problem][1].format(days=settings.INVITATION_DAYS))
    assert User.objects.count() == users
    assert not Membership.objects.filter(user__email=RECRUE["email"]).exists()
    assert_nothing_linked()


def test_a_deactivated_account_is_refused(client, provider, agent):
    sign_in(Client(), provider, AGENT["email"])
    User.objects.filter(pk=agent.pk).update(is_active=False)
    audit_entries = AuditEntry.objects.count()

    response = sign_in(client, provider, AGENT["email"])

    assert_refused(response, "Ce compte Clausier est désactivé.")
    assert ProConnectIdentity.objects.count() == 1  # the earlier link only
    assert AuditEntry.objects.count() == audit_entries
    attempt = LoginAttempt.objects.latest("at")
    assert (attempt.step, attempt.outcome, attempt.email) == (
        LoginStep.PROCONNECT,
        LoginOutcome.REFUSED,
        AGENT["email"],
    )


def test_a_deactivated_account_never_linked_is_not_linked(client, provider, agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)

    response = sign_in(client, provider, AGENT["email"])

    assert_refused(response, UNKNOWN)
    assert_nothing_linked()


# --- The second factor ---------------------------------------------------------------------------------------


@pytest.fixture
def staff_member(db):
    """A member of a facilitator that requires the second factor, known at the provider as MFA's address."""
    facilitator = FacilitatorFactory(name="Cellule clause exigeante")
    FacilitatorSettingsFactory(facilitator=facilitator, require_two_factor=True)
    return UserFactory(email=MFA["email"], member_of=facilitator)


def requirement(user, *, accept: bool):
    FacilitatorSettings.objects.filter(facilitator__memberships__user=user).update(
        accept_proconnect_second_factor=accept
    )


def provider_id_token(response) -> str:
    """The ID token a callback kept in the session."""
    return response.wsgi_request.session[proconnect.ID_TOKEN_KEY]


def device_for(user) -> str:
    secret = pyotp.random_base32()
    TOTPDevice.objects.create(user=user, secret=secret)
    return secret


@pytest.mark.parametrize("with_device", [True, False])
@pytest.mark.parametrize(
    ("acr", "amr"), [(ACR_SELF_ASSERTED_2FA, ["pwd", "mfa"]), (ACR_EIDAS1, ["pwd", "otp"])]
)
def test_a_second_factor_at_proconnect_is_accepted_by_the_facilitator(
    client, provider, staff_member, with_device, acr, amr
):
    if with_device:
        device_for(staff_member)
    provider.set_next(login=MFA["email"], acr=acr, amr=amr)

    response = sign_in(client, provider, MFA["email"])

    assert (response.status_code, response["Location"]) == (302, DASHBOARD)  # no Clausier code asked
    assert signed_in_user(client) == staff_member
    assert sessions.MUST_ENROL not in client.session
    assert client.get(DASHBOARD).status_code == 200  # no enrolment forced either


def test_without_a_second_factor_at_proconnect_clausier_asks_its_code(client, provider, staff_member):
    secret = device_for(staff_member)
    provider.set_next(login=MFA["email"], acr=ACR_EIDAS1, amr=["pwd"])

    response = sign_in(client, provider, MFA["email"], query={"next": reverse("accounts:security")})

    assert (response.status_code, response["Location"]) == (302, reverse("accounts:login_code"))
    assert signed_in_user(client) is None
    assert client.session[sessions.PENDING]["user"] == staff_member.pk
    assert client.get(DASHBOARD).wsgi_request.user.is_anonymous
    # The code, as after a password; then the ID token is still there for the logout.
    response = client.post(reverse("accounts:login_code"), {"code": pyotp.TOTP(secret).now()})
    assert (response.status_code, response["Location"]) == (302, reverse("accounts:security"))
    assert signed_in_user(client) == staff_member
    assert decode_jwt(client.session[proconnect.ID_TOKEN_KEY])[1]["sub"] == MFA["sub"]


def test_without_a_second_factor_anywhere_the_enrolment_comes_first(client, provider, staff_member):
    provider.set_next(login=MFA["email"], acr=ACR_EIDAS1, amr=["pwd"])

    response = sign_in(client, provider, MFA["email"])

    assert (response.status_code, response["Location"]) == (302, reverse("accounts:two_factor_enrol"))
    assert signed_in_user(client) == staff_member
    assert client.session[sessions.MUST_ENROL] is True
    assert client.get(DASHBOARD)["Location"] == reverse("accounts:two_factor_enrol")


@pytest.mark.parametrize("with_device", [True, False])
def test_a_facilitator_refusing_proconnect_second_factor_asks_its_own(
    client, provider, staff_member, with_device
):
    requirement(staff_member, accept=False)
    if with_device:
        device_for(staff_member)

    response = sign_in(client, provider, MFA["email"])  # amr pwd + mfa, acr self-asserted-2fa

    assert decode_jwt(provider_id_token(response))[1]["amr"] == ["pwd", "mfa"]
    if with_device:
        assert response["Location"] == reverse("accounts:login_code")
        assert signed_in_user(client) is None
    else:
        assert response["Location"] == reverse("accounts:two_factor_enrol")
        assert client.session[sessions.MUST_ENROL] is True


def test_a_member_of_a_facilitator_without_the_rule_is_not_asked(client, provider, buyer_org):
    """A partner's member: a ProConnect sign-in without second factor is enough."""
    user = UserFactory(email=AGENT["email"], member_of=buyer_org)
    device_for(user)  # configured by choice: a password login would ask it, ProConnect's rule does not

    response = sign_in(client, provider, AGENT["email"])

    assert response["Location"] == DASHBOARD
    assert signed_in_user(client) == user


# --- The provider down, refusing, or not configured ----------------------------------------------------------


def test_a_provider_that_does_not_answer_gives_the_french_503_page(client, provider, settings):
    settings.PROCONNECT_DOMAIN = f"http://127.0.0.1:{closed_port()}"

    response = client.get(START)

    assert_refused(response, proconnect.UNAVAILABLE.message, status=503)


def test_the_login_page_contacts_no_provider(client, provider, settings):
    settings.PROCONNECT_DOMAIN = f"http://127.0.0.1:{closed_port()}"
    with mock.patch.object(
        httpx.HTTPTransport, "handle_request", side_effect=AssertionError("requête HTTP")
    ) as transport:
        response = client.get(LOGIN)

    assert response.status_code == 200
    assert 'data-testid="proconnect-button"' in response.content.decode()
    assert 'name="password"' in response.content.decode()
    transport.assert_not_called()


def test_the_login_and_invitation_pages_leave_the_real_provider_alone(client, provider, buyer_org):
    admin = UserFactory(member_of=buyer_org, member_of__role=Role.ADMIN)
    pending_invitation(buyer_org, by=admin, email=RECRUE["email"])

    assert 'data-testid="proconnect-button"' in client.get(LOGIN).content.decode()
    invitation_button(client, f"jeton-{RECRUE['email']}")

    assert provider.requests() == []


def test_a_provider_gone_down_during_the_sign_in_gives_the_french_503_page(
    client, start_provider, settings, agent
):
    # A provider of its own (the shared one must stay up): started, used for the login, then stopped.
    doomed = start_provider(post_logout_redirect_uris=("http://testserver/fournisseur-arrete/",))
    settings.PROCONNECT_DOMAIN = doomed.issuer
    settings.PROCONNECT_CLIENT_ID = doomed.client_id
    settings.PROCONNECT_CLIENT_SECRET = doomed.client_secret
    back = doomed.log_in(to_provider(client), AGENT["email"])
    doomed.stop()

    response = client.get(back)

    assert_refused(response, proconnect.UNAVAILABLE.message, status=503)
    assert_nothing_linked()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("access_denied", "La connexion a été annulée sur ProConnect."),
        ("login_required", "ProConnect a refusé la connexion."),
    ],
)
def test_an_error_answered_by_the_provider_gives_the_french_page(client, provider, agent, error, message):
    provider.set_next(error=error, error_description="Refus de test")

    response = sign_in(client, provider, AGENT["email"])

    assert response.wsgi_request.GET["error"] == error
    assert_refused(response, message)
    assert_nothing_linked()


def test_cancelling_at_the_provider_gives_the_french_page(client, provider, agent, browser):
    url = to_provider(client)
    interaction = urljoin(url, browser.get(url).headers["location"])
    assert 'id="annuler"' in browser.get(interaction).text
    abort = browser.post(interaction + "/abort")
    back = provider.follow(urljoin(interaction, abort.headers["location"]), client=browser)

    response = client.get(back)

    assert response.wsgi_request.GET["error"] == "access_denied"
    assert_refused(response, "La connexion a été annulée sur ProConnect.")
    assert_nothing_linked()


def test_an_error_with_a_state_of_another_flow_is_refused_as_such(client, provider, agent):
    to_provider(client)
    response = client.get(f"{CALLBACK}?error=access_denied&state=pas-le-bon")
    assert_refused(response, "La réponse de ProConnect ne correspond pas à cette connexion : recommencez.")


@pytest.mark.parametrize("missing", ["PROCONNECT_DOMAIN", "PROCONNECT_CLIENT_ID"])
def test_without_configuration_there_is_no_button_and_no_sign_in(client, settings, buyer_org, missing):
    settings.PROCONNECT_DOMAIN, settings.PROCONNECT_CLIENT_ID = "auth.example", "clausier"
    assert 'data-testid="proconnect-button"' in client.get(LOGIN).content.decode()
    setattr(settings, missing, "")
    admin = UserFactory(member_of=buyer_org, member_of__role=Role.ADMIN)
    pending_invitation(buyer_org, by=admin, email=RECRUE["email"])

    login_page = client.get(LOGIN).content.decode()
    invitation_page = client.get(
        reverse("accounts:invitation_accept", kwargs={"token": f"jeton-{RECRUE['email']}"})
    ).content.decode()

    for page in (login_page, invitation_page):
        assert "proconnect-button" not in page
        assert START not in page
    assert client.get(START).status_code == 404
    assert client.get(f"{CALLBACK}?code=x&state=y").status_code == 404
    assert not LoginAttempt.objects.exists()


# --- Throttling ----------------------------------------------------------------------------------------------


def test_failures_at_the_callback_lock_out_the_address(client, provider, agent, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP = 3
    for _ in range(3):
        assert client.get(f"{CALLBACK}?code=x&state=y").status_code == 400
    back = provider.log_in(to_provider(client), AGENT["email"])  # a genuine answer now
    provider.reset()

    response = client.get(back)

    assert_refused(response, throttle.locked_message(), status=429)
    assert provider.requests() == []  # refused before the code is exchanged
    assert_nothing_linked()
    assert list(
        LoginAttempt.objects.filter(step=LoginStep.PROCONNECT, ip="127.0.0.1")
        .order_by("at", "pk")
        .values_list("outcome", flat=True)
    ) == [LoginOutcome.FAILURE] * 3 + [LoginOutcome.REFUSED]


def test_an_account_locked_by_password_failures_is_locked_for_proconnect_too(
    client, provider, agent, settings
):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        client.post(LOGIN, {"username": AGENT["email"], "password": "pas-le-bon"})
    assert throttle.locked_until(email=AGENT["email"], ip=None)

    response = sign_in(client, provider, AGENT["email"])

    assert_refused(response, throttle.locked_message(), status=429)
    assert_nothing_linked()
    assert LoginAttempt.objects.filter(
        step=LoginStep.PROCONNECT, email=AGENT["email"], outcome=LoginOutcome.REFUSED
    ).exists()


def test_unknown_people_signing_in_again_and_again_lock_themselves_out(client, provider, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        assert_refused(sign_in(client, provider, INCONNU["email"]), UNKNOWN)

    assert_refused(sign_in(client, provider, INCONNU["email"]), throttle.locked_message(), status=429)
    assert_nothing_linked()


# --- Logout --------------------------------------------------------------------------------------------------


def test_logout_ends_the_proconnect_session_too(client, provider, agent, browser):
    sign_in(client, provider, AGENT["email"], browser=browser)
    id_token = client.session[proconnect.ID_TOKEN_KEY]
    # The provider knows this browser: a new authorization comes back without its login page.
    assert "code=" in provider.follow(provider.authorization_request().url, client=browser)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    location = response["Location"]
    assert location.split("?")[0] == provider.endpoint("end_session")
    params = params_of(location)
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == f"http://testserver{LOGIN}"
    assert len(params["state"]) >= 16
    assert AUTH_USER_KEY not in client.session
    assert proconnect.ID_TOKEN_KEY not in client.session
    assert client.get(reverse("accounts:security"))["Location"].startswith(LOGIN)

    back = provider.log_out(location, client=browser)

    assert back == f"http://testserver{LOGIN}?{urlencode({'state': params['state']})}"
    with pytest.raises(AssertionError, match="the provider asks who logs in"):
        provider.follow(provider.authorization_request().url, client=browser)


def test_logout_after_a_password_login_stays_in_clausier(client, provider, agent):
    client.force_login(agent)
    response = client.post(reverse("logout"))
    assert response["Location"] == LOGIN
    assert AUTH_USER_KEY not in client.session


def test_logout_when_the_provider_is_unreachable_still_ends_the_clausier_session(
    client, provider, agent, settings
):
    sign_in(client, provider, AGENT["email"])
    cache.clear()  # the discovery has to be fetched again…
    settings.PROCONNECT_DOMAIN = f"http://127.0.0.1:{closed_port()}"  # …from a provider that is down

    response = client.post(reverse("logout"))

    assert response["Location"] == LOGIN
    assert AUTH_USER_KEY not in client.session
