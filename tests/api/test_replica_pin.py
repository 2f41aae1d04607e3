"""The API's reads on the replica, and a token pinned to the primary after its writes (issue 18).

A token client keeps no cookie: its pin is an entry of the shared cache, read with its rate-limit window in
the same query, so the next request reads its own write whichever node it lands on (here: a fresh client)."""

import json
import time
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext

from clausier.utils import replica
from clausier.utils.replica import PIN_COOKIE, ReplicaRouter
from tests.api.helpers import ApiClient, make_token
from tests.factories import ContractFactory

pytestmark = pytest.mark.django_db

MAY = "2024-05"


@pytest.fixture
def routed(monkeypatch):
    """A healthy replica configured: the router's decision for each read, `(app_label, alias)`. The queries
    themselves run on the test database (SQLite has no second alias), and the router is not shown the test's
    own transaction, which would keep every read on the primary."""
    seen = []
    decide = ReplicaRouter.db_for_read

    def spy(self, model, **hints):
        seen.append((model._meta.app_label, decide(self, model, **hints)))
        return DEFAULT_DB_ALIAS

    monkeypatch.setattr(ReplicaRouter, "db_for_read", spy)
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(replica, "replica_usable", lambda: True)
    monkeypatch.setattr(replica, "connections", {DEFAULT_DB_ALIAS: SimpleNamespace(in_atomic_block=False)})
    return seen


def where(seen, app="employment") -> set[str]:
    """Where the reads of `app` went since `seen` was last cleared."""
    return {alias for label, alias in seen if label == app}


def get(seen, raw, path, data=None):
    """A GET by a fresh client (as if on another node), its reads alone in `seen`."""
    seen.clear()
    response = ApiClient(raw).get(path, data)
    assert response.status_code == 200, response.content
    return response


def declaration(*contracts):
    return {"entries": [{"contract": str(c.uuid), "hours": "10", "training_hours": "0"} for c in contracts]}


@pytest.fixture
def company(world_a):
    contract = ContractFactory(lot=world_a.lot, company=world_a.company)
    _, raw = make_token(world_a.users["company"], name="Paie")
    return SimpleNamespace(world=world_a, contract=contract, raw=raw)


def test_a_tokens_list_reads_the_replica_and_its_authentication_the_primary(routed, company):
    get(routed, company.raw, "/api/v1/contracts")
    assert where(routed, "accounts") == {"default"}  # a token revoked a second ago is refused at once
    assert where(routed, "employment") == {"replica"}


def test_after_its_write_a_token_reads_the_primary_on_any_node_then_the_replica_again(routed, company):
    routed.clear()
    response = ApiClient(company.raw).put(f"/api/v1/statements/{MAY}/hours", declaration(company.contract))
    assert response.status_code == 200, response.content
    assert where(routed) == {"default"}  # a write, and its reads, never on the replica
    assert PIN_COOKIE not in response.cookies  # a program would not send it back

    # The next requests land on "another node": a fresh client, no cookie, only the shared cache.
    assert get(routed, company.raw, "/api/v1/hours", {"month": f"{MAY}-01"}).json()["results"]
    assert where(routed) == {"default"}
    get(routed, company.raw, "/api/v1/contracts")
    assert where(routed) == {"default"}

    later = time.time() + settings.DATABASE_PRIMARY_PIN + 1
    with mock.patch("time.time", return_value=later):
        get(routed, company.raw, "/api/v1/contracts")
    assert where(routed) == {"replica"}


def test_another_token_of_the_organization_is_not_pinned(routed, company):
    _, other = make_token(company.world.users["company"], name="BI")
    response = ApiClient(company.raw).put(f"/api/v1/statements/{MAY}/hours", declaration(company.contract))
    assert response.status_code == 200, response.content
    get(routed, other, "/api/v1/contracts")
    assert where(routed) == {"replica"}


def test_a_refused_write_pins_nothing(routed, company):
    response = ApiClient(company.raw).put(f"/api/v1/statements/{MAY}/hours", {"entries": []})
    assert response.status_code == 422
    get(routed, company.raw, "/api/v1/contracts")
    assert where(routed) == {"replica"}


def test_a_patch_is_on_the_primary_and_pins_the_token(routed, world_a):
    operation = world_a.objects["operation"]
    _, raw = make_token(world_a.users["facilitator_admin"])

    def listed():
        rows = get(routed, raw, "/api/v1/operations").json()["results"]
        return next(row for row in rows if row["id"] == str(operation.uuid))

    version = listed()["version"]
    assert where(routed, "procurement") == {"replica"}
    routed.clear()
    response = ApiClient(raw).patch(
        f"/api/v1/operations/{operation.uuid}", {"version": version, "name": "Quartier gare"}
    )
    assert response.status_code == 200, response.content
    assert {alias for _, alias in routed} == {"default"}
    assert listed()["name"] == "Quartier gare"
    assert where(routed, "procurement") == {"default"}


def test_a_session_keeps_the_cookie_pin(routed, company, client):
    client.force_login(company.world.users["company"])
    response = client.put(
        f"/api/v1/statements/{MAY}/hours",
        json.dumps(declaration(company.contract)),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert PIN_COOKIE in response.cookies
    routed.clear()
    assert client.get("/api/v1/contracts").status_code == 200  # the test client sends the cookie back
    assert where(routed) == {"default"}


def test_the_pin_costs_no_query_on_a_read(routed, company):
    """The pin entry is read in the rate limit's query: a read costs what it did without a replica (9 queries
    for a list page: the token, its creator's membership, the page, the window read then written)."""
    client = ApiClient(company.raw)
    assert client.get("/api/v1/contracts").status_code == 200  # the token's last use is stamped once
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/contracts").status_code == 200
    cache = [q["sql"] for q in queries if "clausier_cache" in q["sql"]]
    assert sum(sql.startswith("SELECT") and "IN (" in sql for sql in cache) == 1  # window and pin at once
    assert len(queries) == 9


# --- PostgreSQL, with DATABASE_REPLICA_URL set to the primary's URL (the "replica" alias mirrors "default") --


@pytest.mark.skipif(
    "replica" not in settings.DATABASES
    or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="run with DATABASE_REPLICA_URL on PostgreSQL",
)
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_on_postgresql_a_tokens_reads_use_the_replica_connection_until_its_write(world_a):
    contract = ContractFactory(lot=world_a.lot, company=world_a.company)
    _, raw = make_token(world_a.users["company"], name="Paie")
    _, other = make_token(world_a.users["company"], name="BI")
    replica._health.reset()

    def on_replica(token, method="get", *args):
        with CaptureQueriesContext(connections["replica"]) as queries:
            response = getattr(ApiClient(token), method)(*args)
        assert response.status_code == 200, response.content
        return [q["sql"] for q in queries.captured_queries if "employment_" in q["sql"]]

    assert on_replica(raw, "get", "/api/v1/contracts")
    assert not on_replica(raw, "put", f"/api/v1/statements/{MAY}/hours", declaration(contract))
    assert not on_replica(raw, "get", "/api/v1/contracts")  # pinned: another client, the shared cache
    assert on_replica(other, "get", "/api/v1/contracts")  # the organization's other token is not
    replica._health.reset()
