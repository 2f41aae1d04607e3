"""Markets, lots and clauses through the API: reading them by role, writing the reference data (staff, scope
referentiel:ecriture) with the pages' actions and their optimistic locking."""

import pytest

from clausier.audit.models import Action, AuditEntry
from clausier.procurement.models import Lot, Market
from tests.api.helpers import api_as

pytestmark = pytest.mark.django_db


def _market_body(w, **extra):
    return {
        "buyer": str(w.orgs["buyer"].uuid),
        "reference": "2026-API-01",
        "title": "Voirie du quartier",
        **extra,
    }


def test_a_market_shows_its_lots_and_clauses_with_their_versions(world_a):
    market = world_a.objects["market"]
    body = api_as(world_a.users["buyer"]).get(f"/api/v1/markets/{market.uuid}").json()
    lot = body["lots"][0]
    assert lot["id"] == str(world_a.objects["lot"].uuid)
    assert float(lot["clause"]["hours_target"]) == float(world_a.objects["clause"].hours_target)
    assert body["version"] == market.version


def test_lot_progress_is_the_lot_pages(world_a):
    """World A's lot: 120 + 140 + 100 validated hours on its contract."""
    lot = world_a.objects["lot"]
    body = api_as(world_a.users["company"]).get(f"/api/v1/lots/{lot.uuid}/progress").json()
    assert float(body["realised"]) == 360.0
    assert float(body["target"]) == float(world_a.objects["clause"].hours_target)


def test_staff_create_a_market_and_a_lot_audited_with_the_token(world_a):
    client = api_as(world_a.users["facilitator_member"], name="Outil achats")
    response = client.post("/api/v1/markets", _market_body(world_a, amount_ht="125000.50"))
    assert response.status_code == 201, response.content
    market = Market.objects.get(uuid=response.json()["id"])
    assert market.facilitator == world_a.facilitator and str(market.amount_ht) == "125000.50"
    entry = AuditEntry.objects.get(object_id=str(market.uuid), action=Action.CREATE)
    assert entry.channel == "API, jeton « Outil achats »"
    lot = client.post(f"/api/v1/markets/{market.uuid}/lots", {"number": "1", "title": "Terrassement"})
    assert lot.status_code == 201
    assert Lot.objects.filter(market=market, number="1").exists()


def test_a_stale_version_is_a_409_and_writes_nothing(world_a):
    market = world_a.objects["market"]
    client = api_as(world_a.users["facilitator_member"])
    version = market.version
    first = client.patch(f"/api/v1/markets/{market.uuid}", {"version": version, "title": "Nouvel objet"})
    assert first.status_code == 200 and first.json()["version"] == version + 1
    second = client.patch(f"/api/v1/markets/{market.uuid}", {"version": version, "title": "Autre objet"})
    assert second.status_code == 409
    assert second["Content-Type"] == "application/problem+json"
    market.refresh_from_db()
    assert market.title == "Nouvel objet"


def test_a_lot_update_takes_its_version_too(world_a):
    lot = world_a.objects["lot"]
    client = api_as(world_a.users["facilitator_member"])
    assert (
        client.patch(f"/api/v1/lots/{lot.uuid}", {"version": lot.version, "title": "Gros œuvre"}).status_code
        == 200
    )
    assert (
        client.patch(
            f"/api/v1/lots/{lot.uuid}", {"version": lot.version, "title": "Second œuvre"}
        ).status_code
        == 409
    )
    lot.refresh_from_db()
    assert lot.title == "Gros œuvre"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"reference": ""}, "body.reference"),
        ({"amount_ht": "-3"}, "body.amount_ht"),
        ({"family": "espace"}, "body.family"),
        ({"unknown": 1}, "body.unknown"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(world_a, extra, field):
    before = Market.objects.count()
    response = api_as(world_a.users["facilitator_member"]).post(
        "/api/v1/markets", _market_body(world_a, **extra)
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Market.objects.count() == before


def test_a_model_rule_is_named_on_its_field(world_a):
    response = api_as(world_a.users["facilitator_member"]).post(
        "/api/v1/markets", _market_body(world_a, start_date="2026-05-01", end_date="2026-01-01")
    )
    assert response.status_code == 422
    assert any(e["field"].startswith("body.") or e["field"] == "" for e in response.json()["errors"])


def test_another_tenants_buyer_is_a_404(world_a, world_b):
    response = api_as(world_b.users["facilitator_member"]).post("/api/v1/markets", _market_body(world_a))
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["buyer", "company", "structure", "prescriber"])
def test_only_the_staff_write_the_reference_data(world_a, role):
    response = api_as(world_a.users[role]).post("/api/v1/markets", _market_body(world_a))
    assert response.status_code == 403


def test_the_reference_scope_is_needed(world_a):
    client = api_as(world_a.users["facilitator_member"], scopes=["lecture", "heures:ecriture"])
    response = client.post("/api/v1/markets", _market_body(world_a))
    assert response.status_code == 403
    assert "référentiel" in response.json()["detail"]


def test_the_session_needs_the_csrf_token_to_write(world_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.users["facilitator_member"])
    response = client.post("/api/v1/markets", _market_body(world_a), content_type="application/json")
    assert response.status_code == 403
    assert client.get("/api/v1/markets").status_code == 200
