"""Sign-in with ProConnect in a real browser (issue 17), against the local OpenID Connect provider of
`tests/proconnect/`, registered for the live server's callback and post-logout addresses:

1. the login page shows the DSFR ProConnect button and its « Qu'est-ce que ProConnect ? » link;
2. a buyer's agent clicks it, logs in at the provider and comes back signed in on the buyer's space;
3. the provider keeps its session: with Clausier's session gone, the button signs in again without asking;
4. « Se déconnecter » ends both sessions: the button then asks for the login at the provider again;
5. an invitation link accepted with ProConnect creates the account and opens the company's space.

Skipped without Chromium (`/usr/bin/chromium`) or without Node.js and npm (the provider's runtime).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from clausier.accounts.models import ProConnectIdentity
from clausier.organizations.models import Membership, Role
from tests.accounts.test_invitations import pending_invitation
from tests.browser.conftest import CHROMIUM
from tests.factories import BuyerFactory, CompanyFactory, FacilitatorFactory, UserFactory
from tests.proconnect.conftest import AGENT, start_provider  # noqa: F401 — the provider's session fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium absent ({CHROMIUM})"),
]

CALLBACK = "/connexion/proconnect/retour/"
INVITED = {
    "sub": "sub-invitee",
    "email": "lea.garcia@batisud.example",
    "given_name": "Léa",
    "usual_name": "Garcia",
    "siret": "41816609600069",
    "uid": "uid-invitee",
    "idp_id": "idp-batisud",
    "acr": "eidas1",
    "amr": ["pwd"],
}


@pytest.fixture
def provider(start_provider, live_server, settings):  # noqa: F811 — the imported fixture
    """The provider that knows the live server's addresses, and Clausier configured for it."""
    provider = start_provider(
        redirect_uris=[f"{live_server.url}{CALLBACK}"],
        post_logout_redirect_uris=[f"{live_server.url}/", f"{live_server.url}/connexion/"],
    )
    settings.PROCONNECT_DOMAIN = provider.issuer
    settings.PROCONNECT_CLIENT_ID = provider.client_id
    settings.PROCONNECT_CLIENT_SECRET = provider.client_secret
    settings.PROCONNECT_ACR_VALUES = ""
    # What config/settings.py adds when PROCONNECT_DOMAIN is set at start: the logout form may end there.
    csp = settings.SECURE_CSP
    settings.SECURE_CSP = {**csp, "form-action": [*csp["form-action"], provider.issuer]}
    yield provider
    provider.reset()  # the accounts a test added


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


def at_provider(page, provider):
    """The provider's own login page (« Connexion », an address field) is showing."""
    expect(page).to_have_url(re.compile("^" + re.escape(provider.issuer) + "/interaction/"))
    expect(page.locator("#login")).to_be_visible()


def log_in_at_provider(page, provider, email):
    at_provider(page, provider)
    page.locator("#login").fill(email)
    page.locator("#se-connecter").click()


def session_key(context) -> str:
    """The key of the Clausier session the browser holds."""
    return next(c["value"] for c in context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME)


def proconnect_button(page):
    return page.get_by_test_id("proconnect-button")


def test_a_buyer_agent_signs_in_and_out_with_proconnect(provider, context, live_server):
    facilitator = FacilitatorFactory(name="Cellule clause du Rhône")
    buyer = BuyerFactory(partner_of=facilitator, name="Commune de Vaulx-en-Velin", siret=AGENT["siret"])
    CompanyFactory(partner_of=facilitator, name="Entreprise voisine")
    user = UserFactory(email=AGENT["email"], first_name="Camille", last_name="Martin", member_of=buyer)
    page = context.new_page()

    # 1. The login page: the DSFR button above the password form, and what ProConnect is.
    page.goto(f"{live_server.url}/connexion/")
    button = proconnect_button(page)
    expect(button).to_be_visible()
    expect(button).to_have_class(re.compile(r"\bfr-connect\b"))
    expect(button).to_contain_text("S’identifier avec")
    expect(button).to_contain_text("ProConnect")
    what = page.get_by_role("link", name=re.compile("Qu’est-ce que ProConnect ?"))
    expect(what).to_have_attribute("href", "https://www.proconnect.gouv.fr/")
    expect(page.get_by_label(re.compile("mot de passe", re.I))).to_be_visible()

    # 2. At the provider, then back on the buyer's space.
    button.click()
    log_in_at_provider(page, provider, AGENT["email"])
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon espace")
    expect(page.get_by_test_id("current-organization")).to_have_text(buyer.name)
    expect(page.locator("main")).to_contain_text(buyer.name)
    identity = ProConnectIdentity.objects.get(user=user)
    assert (identity.sub, identity.siret, identity.idp_id) == (AGENT["sub"], AGENT["siret"], AGENT["idp_id"])
    assert identity.last_login_at is not None

    # 3. Clausier's session forgotten, the provider's kept: the button signs in without asking.
    context.clear_cookies(domain="localhost")
    page.goto(f"{live_server.url}/connexion/")
    proconnect_button(page).click()
    expect(page.get_by_test_id("current-organization")).to_have_text(buyer.name)
    expect(page.locator("#login")).to_have_count(0)
    signed_in = session_key(context)
    assert Session.objects.get(session_key=signed_in).get_decoded()["_auth_user_id"] == str(user.pk)

    # 4. « Se déconnecter »: through the provider's end of session, back on the login page, signed out of both.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile("^" + re.escape(f"{live_server.url}/connexion/") + r"(\?|$)"))
    expect(proconnect_button(page)).to_be_visible()
    ended = [entry["query"] for entry in provider.requests() if entry["path"].endswith("/session/end")]
    assert ended and ended[0]["id_token_hint"] and ended[0]["state"], provider.requests()
    assert ended[0]["post_logout_redirect_uri"] == f"{live_server.url}/connexion/"
    assert not Session.objects.filter(session_key=signed_in).exists()  # Clausier's session ended
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("current-organization")).to_have_count(0)
    page.goto(f"{live_server.url}/connexion/")
    proconnect_button(page).click()
    log_in_at_provider(page, provider, AGENT["email"])  # the provider asks who logs in: its session ended too
    expect(page.get_by_test_id("current-organization")).to_have_text(buyer.name)


def test_an_invitation_is_accepted_with_proconnect(provider, context, live_server):
    facilitator = FacilitatorFactory(name="Cellule clause du Rhône")
    company = CompanyFactory(partner_of=facilitator, name="Bâtiments du Sud-Est", siret=INVITED["siret"])
    admin = UserFactory(email="admin@batisud.example", member_of=company, member_of__role=Role.ADMIN)
    pending_invitation(company, by=admin, email=INVITED["email"])
    provider.add_account(**INVITED)
    page = context.new_page()

    page.goto(f"{live_server.url}/invitation/jeton-{INVITED['email']}/")
    expect(page.get_by_test_id("invitation-summary")).to_contain_text(company.name)
    proconnect_button(page).click()
    log_in_at_provider(page, provider, INVITED["email"])
    expect(page.get_by_test_id("current-organization")).to_have_text(company.name)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes obligations")
    membership = Membership.objects.select_related("user").get(
        organization=company, user__email=INVITED["email"]
    )
    assert membership.is_active and membership.role == Role.MEMBER
    assert (membership.user.first_name, membership.user.last_name) == ("Léa", "Garcia")
    assert ProConnectIdentity.objects.get(user=membership.user).sub == INVITED["sub"]
