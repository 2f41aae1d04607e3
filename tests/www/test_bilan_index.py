"""The bilans page of a territory with hundreds of markets: a search and filters instead of one long list;
a chosen buyer, operation or year leads to its bilan; a buyer finds only its own."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ClauseFactory, LotFactory, MarketFactory

pytestmark = pytest.mark.django_db
URL = reverse("www:bilan_index")


def market(world, reference, title, *, start, end, buyer=None):
    m = MarketFactory(
        facilitator=world.facilitator,
        buyer=buyer or world.orgs["buyer"],
        reference=reference,
        title=title,
        start_date=start,
        end_date=end,
    )
    ClauseFactory(lot=LotFactory(market=m))
    return m


@pytest.fixture
def markets(world_a):
    d = datetime.date
    return {
        "voirie": market(
            world_a, "2021-VOI-07", "Voirie du quartier Bagatelle", start=d(2021, 3, 1), end=d(2022, 6, 30)
        ),
        "ecole": market(
            world_a, "2024-ECO-02", "Groupe scolaire Ancely", start=d(2024, 1, 15), end=d(2025, 8, 31)
        ),
        "other": market(
            world_a,
            "2024-PAR-11",
            "Parc des sports",
            start=d(2024, 5, 1),
            end=d(2024, 12, 31),
            buyer=world_a.orgs["other_buyer"],
        ),
    }


def rows(html):
    return html.count('data-testid="row"')


def test_the_markets_are_searched_and_filtered(world_a, markets, facilitator_member_client):
    client = facilitator_member_client
    everyone = client.get(URL).content.decode()
    assert all(m.reference in everyone for m in markets.values())

    found = client.get(URL, {"q": "bagatelle"}).content.decode()
    assert markets["voirie"].reference in found and markets["ecole"].reference not in found

    in_2024 = client.get(URL, {"annee": "2024"}).content.decode()
    assert markets["ecole"].reference in in_2024 and markets["voirie"].reference not in in_2024
    # The year is kept in each bilan's links, and the territory's bilan of that year is offered.
    ecole = reverse("www:bilan_market", kwargs={"uuid": markets["ecole"].uuid})
    assert f'href="{ecole}?annee=2024"' in in_2024
    assert (
        f'href="{reverse("www:bilan_market_pdf", kwargs={"uuid": markets["ecole"].uuid})}?annee=2024"'
        in in_2024
    )
    assert f'href="{reverse("www:bilan_territory")}?annee=2024"' in in_2024

    other_buyer = world_a.orgs["other_buyer"]
    by_buyer = client.get(URL, {"donneur": str(other_buyer.uuid)}).content.decode()
    assert markets["other"].reference in by_buyer and markets["ecole"].reference not in by_buyer
    assert f'href="{reverse("www:bilan_buyer", kwargs={"uuid": other_buyer.uuid})}"' in by_buyer
    assert f"Bilan de {other_buyer.name}" in by_buyer


def test_a_long_list_is_paginated_with_constant_queries(world_a, facilitator_member_client):
    d = datetime.date
    for i in range(3):
        market(world_a, f"P-{i:03}", f"Marché {i}", start=d(2023, 1, 1), end=d(2023, 12, 31))
    with CaptureQueriesContext(connection) as few:
        facilitator_member_client.get(URL)
    for i in range(3, 40):
        market(world_a, f"P-{i:03}", f"Marché {i}", start=d(2023, 1, 1), end=d(2023, 12, 31))
    with CaptureQueriesContext(connection) as many:
        page = facilitator_member_client.get(URL).content.decode()
    assert len(many) == len(few)
    assert rows(page) == 25 and "Page suivante" in page


def test_garbage_filters_answer_a_page(world_a, markets, facilitator_member_client):
    response = facilitator_member_client.get(
        URL, {"annee": "deux-mille", "donneur": "pas-un-uuid", "page": "x"}
    )
    assert response.status_code == 200


def test_a_buyer_finds_only_its_own_markets(world_a, world_b, markets, buyer_client):
    page = buyer_client.get(URL).content.decode()
    assert markets["voirie"].reference in page and markets["ecole"].reference in page
    assert markets["other"].reference not in page  # the other buyer's
    assert world_b.objects["market"].reference not in page
    assert "Bilan annuel du territoire" not in page
    # Another buyer's uuid is not among its choices: the filter is ignored, never widened.
    other = buyer_client.get(URL, {"donneur": str(world_a.orgs["other_buyer"].uuid)}).content.decode()
    assert markets["other"].reference not in other and world_a.orgs["other_buyer"].name not in other
