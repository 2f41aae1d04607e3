"""The accounts area opens to anonymous visitors only what a login, a password reset or an invitation needs."""

import pytest
from django.urls import reverse

from tests.test_access_probe import APP_ROUTES, is_public

pytestmark = pytest.mark.django_db

PUBLIC = {
    "login",
    "accounts:login_code",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:invitation_accept",  # issue 8: the link of an invitation (create an account or log in)
    "accounts:proconnect_start",  # issue 17: to ProConnect, and back
    "accounts:proconnect_callback",
}


def test_public_accounts_views_are_deliberate():
    routes = {
        r.name: r for r in APP_ROUTES if r.name.startswith("accounts:") or r.name in {"login", "logout"}
    }
    assert {name for name, r in routes.items() if is_public(r)} == PUBLIC
    assert {"accounts:security", "accounts:two_factor_enrol", "accounts:team_security"} <= set(routes)


def test_the_admin_site_logs_in_through_clausier(client, world_a, client_for):
    response = client.get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("admin:login"))
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    buyer = client_for(world_a.users["buyer"])
    assert buyer.get(reverse("admin:login")).status_code == 302
    assert buyer.get(reverse("admin:index")).status_code == 302


def test_the_header_links_to_the_security_page(facilitator_member_client):
    html = facilitator_member_client.get(reverse("www:dashboard")).content.decode()
    assert f'href="{reverse("accounts:security")}"' in html
