"""List pages: 200, constant number of queries when rows grow, htmx partial = full page, filters, sort."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.participants.models import Participant
from clausier.reporting.indicators import territory_figures
from clausier.utils.formatting import fr_number
from tests.factories import (
    AwardFactory,
    BuyerFactory,
    ClauseFactory,
    CompanyFactory,
    ContractFactory,
    InsertionStructureFactory,
    LotFactory,
    MarketFactory,
    OperationFactory,
    ParticipantFactory,
    PrescriberFactory,
    monthly_hours,
)

pytestmark = pytest.mark.django_db

LISTS = [
    "buyer_list",
    "operation_list",
    "market_list",
    "company_list",
    "structure_list",
    "prescriber_list",
    "participant_list",
    "contract_list",
]


def grow(world, n):
    """Add `n` rows to every list of world A's facilitator, each with its aggregates."""
    import datetime

    fac = world.facilitator
    for _ in range(n):
        buyer = BuyerFactory(partner_of=fac)
        operation = OperationFactory(facilitator=fac, buyer=buyer)
        market = MarketFactory(facilitator=fac, buyer=buyer, operation=operation)
        lot = LotFactory(market=market)
        ClauseFactory(lot=lot)
        company = CompanyFactory(partner_of=fac)
        AwardFactory(lot=lot, company=company)
        structure = InsertionStructureFactory(partner_of=fac)
        prescriber = PrescriberFactory(partner_of=fac)
        participant = ParticipantFactory(facilitator=fac, prescriber=prescriber)
        contract = ContractFactory(lot=lot, participant=participant, company=company, employer=structure)
        monthly_hours(contract, {datetime.date(2024, 5, 1): 35})


def rows(html):
    return re.findall(r'<tr data-testid="row">(.*?)</tr>', html, flags=re.S)


@pytest.mark.parametrize("name", LISTS)
def test_list_page_ok(name, facilitator_member_client):
    response = facilitator_member_client.get(reverse(f"www:{name}"))
    assert response.status_code == 200
    assert rows(response.content.decode()), "world A has at least one row in every list"


@pytest.mark.parametrize("name", LISTS)
def test_list_queries_do_not_grow_with_rows(name, world_a, facilitator_member_client):
    url = reverse(f"www:{name}")
    grow(world_a, 3)
    facilitator_member_client.get(url)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as few:
        first = facilitator_member_client.get(url)
    grow(world_a, 9)
    with CaptureQueriesContext(connection) as many:
        second = facilitator_member_client.get(url)
    assert len(rows(second.content.decode())) > len(rows(first.content.decode()))
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert len(many) <= 12


@pytest.mark.parametrize("name", LISTS)
def test_htmx_partial_shows_the_same_rows_as_the_full_page(name, world_a, facilitator_member_client):
    grow(world_a, 2)
    url = reverse(f"www:{name}")
    for query in ({}, {"q": "a"}, {"tri": "-nom", "page": "1"}):
        full = facilitator_member_client.get(url, query)
        partial = facilitator_member_client.get(url, query, headers={"HX-Request": "true"})
        assert partial.status_code == 200
        assert "<html" not in partial.content.decode()
        assert rows(partial.content.decode()) == rows(full.content.decode())
        assert "HX-Request" in partial["Vary"]


def test_pagination_50_per_page(world_a, facilitator_member_client):
    for _ in range(55):
        ParticipantFactory(facilitator=world_a.facilitator)
    url = reverse("www:participant_list")
    page1 = facilitator_member_client.get(url).content.decode()
    page2 = facilitator_member_client.get(url, {"page": 2}).content.decode()
    assert len(rows(page1)) == 50
    total = Participant.objects.filter(facilitator=world_a.facilitator).count()
    assert total > 55
    assert len(rows(page2)) == total - 50
    assert 'class="fr-pagination"' in page1
    assert facilitator_member_client.get(url, {"page": "n'importe quoi"}).status_code == 200


def test_search_and_filters(world_a, world_b, facilitator_member_client):
    market = world_a.objects["market"]
    url = reverse("www:market_list")
    html = facilitator_member_client.get(url, {"q": market.reference}).content.decode()
    assert market.reference in html and len(rows(html)) == 1
    other_buyer = world_a.orgs["other_buyer"]
    html = facilitator_member_client.get(url, {"buyer": str(other_buyer.uuid)}).content.decode()
    assert world_a.objects["other_market"].reference in html and market.reference not in html
    # Another facilitator's buyer as a filter: rejected, never a 500 nor a leak.
    foreign = world_b.orgs["buyer"]
    response = facilitator_member_client.get(url, {"buyer": str(foreign.uuid)})
    assert response.status_code == 200
    assert world_b.objects["market"].reference not in response.content.decode()


def test_sort_is_whitelisted(world_a, facilitator_member_client):
    url = reverse("www:participant_list")
    for tri in ("nom", "-nom", "-heures", "password", "-facilitator__name", "__"):
        assert facilitator_member_client.get(url, {"tri": tri}).status_code == 200


def test_participant_list_shows_no_criteria(world_a, facilitator_member_client):
    html = facilitator_member_client.get(reverse("www:participant_list")).content.decode()
    assert "RSA" not in html and "Éligibilité" not in html and "critère" not in html.lower()


def test_lists_only_show_the_tenant_rows(world_a, world_b, facilitator_member_client):
    for name, key in (
        ("market_list", "market"),
        ("participant_list", "participant"),
        ("operation_list", "operation"),
    ):
        html = facilitator_member_client.get(reverse(f"www:{name}")).content.decode()
        assert str(world_b.objects[key].uuid) not in html
        assert str(world_a.objects[key].uuid) in html


def test_dashboard_figures(world_a, facilitator_member_client):
    figures = territory_figures(world_a.facilitator)
    html = facilitator_member_client.get(reverse("www:dashboard")).content.decode()
    for testid, value in (
        ("figure-buyers", fr_number(figures.buyers)),
        ("figure-hours", fr_number(figures.hours)),
        ("figure-contracts", fr_number(figures.contracts)),
        ("figure-participants", fr_number(figures.participants)),
        ("figure-fte", fr_number(figures.fte, 1)),
    ):
        assert f'data-testid="{testid}">{value}<' in html


def test_french_number_format():
    assert fr_number(1824868) == "1 824 868"
    assert fr_number(1140.5, 1) == "1 140,5"
    assert fr_number(None) == "—"
