"""Indicators and bilans through the API: the dashboard's and the bilan pages' numbers, staff only; the public
figures, open to anyone."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from clausier.reporting.breakdowns import indicators
from clausier.reporting.filters import IndicatorFilter
from tests.api.helpers import ApiClient, api_as

pytestmark = pytest.mark.django_db


def _dashboard_figures(user, query=None):
    client = Client()
    client.force_login(user)
    response = client.get("/", query or {})
    assert response.status_code == 200
    return response.context["figures"]


@pytest.mark.parametrize("query", [{}, {"annee": 2024}, {"debut": "2024-03-01", "fin": "2024-03-31"}])
def test_indicators_are_the_dashboards(world_a, query):
    user = world_a.users["facilitator_member"]
    body = api_as(user).get("/api/v1/indicators", query).json()
    shown = _dashboard_figures(user, query)
    assert Decimal(str(body["hours"])) == shown.hours
    assert body["participants"] == shown.participants
    assert body["contracts"] == shown.contracts
    assert Decimal(str(body["planned_hours"])) == shown.planned_hours
    assert body["buyers"] == shown.buyers and body["lots"] == shown.lots
    assert [y["year"] for y in body["years"]] == [y.year for y in shown.years]


def test_indicators_by_market_and_hand_computed_hours(world_a):
    """World A's market: one contract with 120 + 140 + 100 validated hours, and a direct hire with none yet:
    360 hours, two people."""
    market = world_a.objects["market"]
    body = (
        api_as(world_a.users["facilitator_member"])
        .get("/api/v1/indicators", {"marche": str(market.uuid)})
        .json()
    )
    expected = indicators(IndicatorFilter(world_a.facilitator, market_id=market.pk))
    assert Decimal(str(body["hours"])) == expected.hours == Decimal(360)
    assert body["participants"] == expected.participants == 2
    assert body["contracts"] == 2


def test_another_tenants_market_in_the_filter_is_a_404(world_a, world_b):
    market = world_b.objects["market"]
    response = api_as(world_a.users["facilitator_member"]).get(
        "/api/v1/indicators", {"marche": str(market.uuid)}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [({"modalite": "nope"}, "query.modalite"), ({"debut": "2024-05-01", "fin": "2024-04-01"}, "query.fin")],
)
def test_bad_filters_are_named(world_a, query, field):
    response = api_as(world_a.users["facilitator_member"]).get("/api/v1/indicators", query)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("role", ["company", "structure", "prescriber"])
def test_indicators_and_bilans_are_for_the_staff_and_the_buyers(world_a, role):
    client = api_as(world_a.users[role])
    assert client.get("/api/v1/indicators").status_code == 403
    assert client.get("/api/v1/bilans/territory").status_code == 403


def test_a_buyer_reads_its_market_bilan_masked_and_without_criteria(world_a):
    market = world_a.objects["market"]
    client = api_as(world_a.users["buyer"])
    assert client.get("/api/v1/indicators").status_code == 403  # the territory's figures are the staff's
    assert client.get("/api/v1/bilans/territory").status_code == 404  # a buyer has no territory
    body = client.get("/api/v1/bilans/market", {"id": str(market.uuid)}).json()
    assert "criteres" not in [t["slug"] for t in body["tables"]]
    people = next(f for f in body["key_figures"] if "ersonnes" in f["label"] or "énéficiaires" in f["label"])
    assert people["value"] == "< 5"  # two people on the market: the small-cell rule of the buyer's pages
    text = client.get("/api/v1/bilans/market", {"id": str(market.uuid)}).content.decode().lower()
    assert "rsa" not in text and "rqth" not in text
    other = api_as(world_a.users["other_buyer"])
    assert other.get("/api/v1/bilans/market", {"id": str(market.uuid)}).status_code == 404


def test_obligations_lot_by_lot(world_a):
    lot = world_a.objects["lot"]
    rows = api_as(world_a.users["company"]).get("/api/v1/obligations").json()
    assert [r["lot"] for r in rows] == [str(lot.uuid)]
    assert float(rows[0]["realised"]) == 360.0 and rows[0]["market_reference"] == lot.market.reference
    theirs = api_as(world_a.users["other_company"]).get("/api/v1/obligations").json()
    assert [r["lot"] for r in theirs] == [str(world_a.objects["other_lot"].uuid)]
    assert api_as(world_a.users["structure"]).get("/api/v1/obligations").status_code == 403


def test_a_market_bilan_says_what_the_page_says(world_a):
    market = world_a.objects["market"]
    user = world_a.users["facilitator_member"]
    body = api_as(user).get("/api/v1/bilans/market", {"id": str(market.uuid)}).json()
    assert body["title"] == f"Bilan du marché {market.reference}"
    client = Client()
    client.force_login(user)
    page = client.get(f"/bilans/marches/{market.uuid}/").context["bilan"]
    assert [f["label"] for f in body["key_figures"]] == [label for label, _ in page.key_figures]
    assert [t["slug"] for t in body["tables"]] == [t.slug for t in page.tables]


def test_a_bilan_of_another_tenant_is_a_404_and_an_id_is_required(world_a, world_b):
    client = api_as(world_a.users["facilitator_member"])
    assert client.get("/api/v1/bilans/market", {"id": str(world_b.objects["market"].uuid)}).status_code == 404
    assert client.get("/api/v1/bilans/market").status_code == 422
    assert client.get("/api/v1/bilans/territory", {"annee": datetime.date.today().year}).status_code == 200


def test_public_figures_need_no_token_and_are_open_to_any_origin(world_a):
    slug = world_a.facilitator.slug
    response = ApiClient().get(f"/api/v1/public/{slug}/figures")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response["Cache-Control"]
    body = response.json()
    assert body["participants"] == 3  # world A: a person on each of its two lots, and a direct hire
    assert Decimal(str(body["hours"])) == Decimal(720)  # 2 × (120 + 140 + 100)
    series = ApiClient().get(f"/api/v1/public/{slug}/series").json()
    assert sum(row["participants"] for row in series) >= 2
    rows = ApiClient().get(f"/api/v1/public/{slug}/opendata").json()
    assert all(set(r) == {"year", "insee", "name", "participants", "contracts", "hours"} for r in rows)
    assert ApiClient().get("/api/v1/public/pas-une-cellule/figures").status_code == 404
