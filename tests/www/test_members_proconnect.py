"""The members page says who signs in with ProConnect (issue 17): a « ProConnect » badge with the date of the
latest ProConnect sign-in, and, for the organization's administrators only, the SIRET ProConnect gave when it
is not the organization's. Loaded with the members, in the same query."""

import datetime
import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clausier.accounts.models import ProConnectIdentity
from clausier.accounts.proconnect_members import with_proconnect
from clausier.organizations.models import Membership, Role
from clausier.utils.formatting import fr_siret
from tests.factories import BuyerFactory, PrescriberFactory, UserFactory

pytestmark = pytest.mark.django_db

COMMUNE_SIRET = "21690123100011"  # another commune than the buyer's
BADGE = 'data-testid="proconnect"'
WARNING = "SIRET ProConnect : 216 901 231 00011 (différent de celui de l'organisation)"
SIGNED_IN = timezone.make_aware(datetime.datetime(2025, 3, 14, 9, 30))


def linked(user, *, siret=COMMUNE_SIRET, last_login_at=SIGNED_IN, sub=None):
    return ProConnectIdentity.objects.create(
        user=user,
        sub=sub or f"sub-{user.pk}-{siret}",
        email=user.email,
        siret=siret,
        idp_id="idp-test",
        last_login_at=last_login_at,
    )


def admin_of(organization):
    return UserFactory(member_of=organization, member_of__role=Role.ADMIN)


def members_page(client) -> str:
    response = client.get(reverse("www:member_list"))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def row_of(page: str, user) -> str:
    """The table row of `user` on the members page."""
    start = page.index(user.email)
    return page[page.rindex("<tr>", 0, start) : page.index("</tr>", start)]


def test_the_admin_sees_a_siret_that_is_not_the_organizations(world_a, client_for):
    buyer = world_a.orgs["buyer"]
    agent = world_a.users["buyer"]
    linked(agent)
    page = members_page(client_for(admin_of(buyer)))
    row = row_of(page, agent)
    assert BADGE in row and "Dernière connexion ProConnect le 14/03/2025" in row
    assert WARNING in row
    assert 'data-testid="proconnect-siret-notice"' in page
    assert f"({fr_siret(buyer.siret)})" in page  # the organization's own SIRET, to compare


def test_the_same_siret_shows_no_warning(world_a, client_for):
    buyer = world_a.orgs["buyer"]
    agent = world_a.users["buyer"]
    linked(agent, siret=buyer.siret)
    admin = admin_of(buyer)
    page = members_page(client_for(admin))
    row = row_of(page, agent)
    assert BADGE in row and "Dernière connexion ProConnect le 14/03/2025" in row
    assert "SIRET ProConnect" not in page and 'data-testid="proconnect-siret-notice"' not in page
    assert 'data-testid="proconnect"' not in row_of(page, admin)  # not linked: no badge


def test_a_member_who_is_not_admin_sees_nothing_of_it(world_a, client_for):
    buyer = world_a.orgs["buyer"]
    agent = world_a.users["buyer"]
    admin_of(buyer)
    colleague = UserFactory(member_of=buyer)
    linked(agent)
    client = client_for(colleague)
    assert client.get(reverse("www:member_list")).status_code == 404
    for url in (reverse("www:dashboard"), reverse("accounts:security")):
        page = html.unescape(client.get(url).content.decode())
        assert "SIRET ProConnect" not in page and "216 901 231 00011" not in page
    # The linked member itself neither.
    page = html.unescape(client_for(agent).get(reverse("www:dashboard")).content.decode())
    assert "SIRET ProConnect" not in page


def test_an_organization_without_siret_or_an_identity_without_siret_shows_no_warning(world_a, client_for):
    prescriber = world_a.orgs["prescriber"]
    assert prescriber.siret == ""
    adviser = world_a.users["prescriber"]
    linked(adviser)
    page = members_page(client_for(admin_of(prescriber)))
    assert BADGE in row_of(page, adviser) and "SIRET ProConnect" not in page
    buyer = world_a.orgs["buyer"]
    agent = world_a.users["buyer"]
    linked(agent, siret="")  # ProConnect gave no SIRET
    page = members_page(client_for(admin_of(buyer)))
    assert BADGE in row_of(page, agent) and "SIRET ProConnect" not in page


def test_the_latest_identity_speaks_and_unlinked_members_differ_in_nothing(world_a):
    buyer = BuyerFactory(partner_of=world_a.facilitator)
    without_siret = PrescriberFactory(partner_of=world_a.facilitator)
    agent, unlinked, never = UserFactory(member_of=buyer), UserFactory(member_of=buyer), UserFactory()
    Membership.objects.create(user=agent, organization=without_siret)
    linked(agent, siret=COMMUNE_SIRET, last_login_at=SIGNED_IN - datetime.timedelta(days=30), sub="old")
    linked(agent, siret=buyer.siret, last_login_at=SIGNED_IN, sub="new")
    linked(never, siret=COMMUNE_SIRET, last_login_at=None, sub="never")  # not a member here
    rows = {
        (m.user_id, m.organization_id): m for m in with_proconnect(Membership.objects.select_related("user"))
    }
    latest = rows[agent.pk, buyer.pk]
    assert latest.proconnect_linked and latest.proconnect_siret == buyer.siret
    assert latest.proconnect_last_login_at == SIGNED_IN and not latest.proconnect_siret_differs
    assert not rows[agent.pk, without_siret.pk].proconnect_siret_differs  # nothing to compare to
    nobody = rows[unlinked.pk, buyer.pk]
    assert not nobody.proconnect_linked and nobody.proconnect_siret is None
    assert not nobody.proconnect_siret_differs
    # The older identity signs in again: its SIRET speaks now.
    ProConnectIdentity.objects.filter(sub="old").update(last_login_at=SIGNED_IN + datetime.timedelta(days=1))
    differing = with_proconnect(Membership.objects.filter(organization=buyer)).filter(
        proconnect_siret_differs=True
    )
    assert list(differing.values_list("user_id", flat=True)) == [agent.pk]


def test_the_page_costs_the_same_queries_with_more_linked_members(world_a, client_for):
    buyer = world_a.orgs["buyer"]
    client = client_for(admin_of(buyer))
    linked(world_a.users["buyer"])
    members_page(client)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            members_page(client)
        return len(ctx)

    few = count()
    for n in range(6):
        member = UserFactory(member_of=buyer)
        linked(member, siret=buyer.siret if n % 2 else COMMUNE_SIRET)
        linked(member, siret=COMMUNE_SIRET, last_login_at=None, sub=f"second-{n}")
    assert count() == few
    assert members_page(client).count(WARNING) == 4  # the first agent and three of the six


@pytest.mark.parametrize(
    ("value", "shown"),
    [("21690123100011", "216 901 231 00011"), ("", "—"), (None, "—"), ("123", "123")],
)
def test_a_siret_is_printed_in_groups(value, shown):
    assert fr_siret(value) == shown
