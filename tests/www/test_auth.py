"""Login, logout, organization switcher, layout."""

import pytest
from django.urls import reverse

from clausier.organizations.middleware import SESSION_KEY
from clausier.organizations.models import Membership, Role
from tests.factories import PASSWORD, BuyerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("www:market_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_public_and_french(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Adresse e-mail" in html and "Se connecter" in html
    assert 'lang="fr"' in html


def test_login_with_email_and_password(client, world_a):
    user = world_a.users["facilitator_member"]
    response = client.post(reverse("login"), {"username": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("www:dashboard")
    assert client.get(reverse("www:dashboard")).status_code == 200


def test_login_with_a_wrong_password_says_so_in_french(client, world_a):
    user = world_a.users["facilitator_member"]
    response = client.post(reverse("login"), {"username": user.email, "password": "faux"})
    assert response.status_code == 200
    assert "Adresse e-mail ou mot de passe incorrect." in response.content.decode()


def test_logout_is_a_post(facilitator_member_client):
    response = facilitator_member_client.post(reverse("logout"))
    assert response.status_code == 302
    assert facilitator_member_client.get(reverse("www:market_list")).status_code == 302
    home = facilitator_member_client.get(reverse("www:dashboard")).content.decode()
    assert 'data-testid="sign-in"' in home  # `/` is the public home page again


def test_scripts_carry_the_csp_nonce(facilitator_member_client):
    response = facilitator_member_client.get(reverse("www:dashboard"))
    html = response.content.decode()
    nonces = [part.split('"')[0] for part in html.split('nonce="')[1:]]
    assert len(nonces) >= 2 and all(nonces), "DSFR and htmx scripts must carry the nonce"
    assert f"'nonce-{nonces[0]}'" in response["Content-Security-Policy"]
    assert "www/htmx.min.js" in html


def test_menu_depends_on_the_role(facilitator_member_client, buyer_client, prescriber_client):
    staff = facilitator_member_client.get(reverse("www:dashboard")).content.decode()
    for label in (
        "Donneurs d&#x27;ordre",
        "Opérations",
        "Marchés",
        "Entreprises",
        "Participants",
        "Contrats",
    ):
        assert label in staff
    buyer = buyer_client.get(reverse("www:dashboard")).content.decode()
    assert "Opérations" in buyer and "Participants" not in buyer
    prescriber = prescriber_client.get(reverse("www:dashboard")).content.decode()
    assert "Participants" in prescriber and "Marchés" not in prescriber


def test_french_404(facilitator_member_client):
    response = facilitator_member_client.get("/marches/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


# --- Organization switcher ---------------------------------------------------------------------------------


@pytest.fixture
def two_hats(world_a):
    """A facilitator member who is also a member of a buyer."""
    user = world_a.users["facilitator_member"]
    Membership.objects.create(user=user, organization=world_a.orgs["buyer"], role=Role.MEMBER)
    return user


def test_switch_to_another_membership(client_for, two_hats, world_a):
    client = client_for(two_hats)
    page = client.get(reverse("www:dashboard")).content.decode()
    assert 'data-testid="organization-switcher"' in page
    buyer = world_a.orgs["buyer"]
    response = client.post(reverse("www:switch_organization"), {"organization": str(buyer.uuid)})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(buyer.uuid)
    page = client.get(reverse("www:dashboard")).content.decode()
    assert f'<span data-testid="current-organization">{buyer.name}</span>' in page
    assert 'data-testid="figure-hours"' not in page  # a buyer does not get the facilitator figures


def test_cannot_switch_to_an_organization_one_is_not_a_member_of(client_for, two_hats, world_a, world_b):
    client = client_for(two_hats)
    for stranger in (world_a.orgs["company"], world_b.facilitator, BuyerFactory()):
        response = client.post(reverse("www:switch_organization"), {"organization": str(stranger.uuid)})
        assert response.status_code == 404
        assert SESSION_KEY not in client.session
    assert client.post(reverse("www:switch_organization"), {"organization": "pas-un-uuid"}).status_code == 404


def test_switch_is_post_only(client_for, two_hats, world_a):
    client = client_for(two_hats)
    response = client.get(
        reverse("www:switch_organization"), {"organization": str(world_a.orgs["buyer"].uuid)}
    )
    assert response.status_code == 405


def test_user_without_membership_gets_an_explanation(client_for):
    client = client_for(UserFactory())
    response = client.get(reverse("www:dashboard"))
    assert response.status_code == 200
    assert "Aucune organisation" in response.content.decode()
