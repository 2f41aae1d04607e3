"""The API's foundation: schema and docs, tokens, errors as problem details, the cursor, the rate limit."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from clausier.accounts.models import ApiToken
from clausier.organizations.models import Membership, Role
from tests.api.helpers import ApiClient, api_as, make_token

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_1_and_docs_are_served_locally(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["openapi"].startswith("3.1")
    assert "/api/v1/markets" in body["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "script-src" in docs["Content-Security-Policy"]


def test_no_token_is_a_401_problem():
    response = ApiClient().get("/api/v1/markets")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert "jeton" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "raw",
    ["clausier_nope", "n'importe quoi", "clausier_" + "x" * 300],
)
def test_a_bad_token_is_a_401(raw, world_a):
    assert ApiClient(raw).get("/api/v1/markets").status_code == 401


def test_expired_revoked_or_orphan_tokens_are_refused(world_a):
    user = world_a.users["company"]
    token, raw = make_token(user)
    assert ApiClient(raw).get("/api/v1/markets").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_on=timezone.localdate() - datetime.timedelta(days=1))
    assert ApiClient(raw).get("/api/v1/markets").status_code == 401
    token2, raw2 = make_token(user)
    ApiToken.objects.filter(pk=token2.pk).update(revoked_at=timezone.now())
    assert ApiClient(raw2).get("/api/v1/markets").status_code == 401
    token3, raw3 = make_token(user)
    Membership.objects.filter(user=user).update(is_active=False)  # the creator left the organization
    assert ApiClient(raw3).get("/api/v1/markets").status_code == 401


def test_a_token_acts_as_its_organization_and_records_its_last_use(world_a):
    user = world_a.users["company"]
    token, raw = make_token(user)
    response = ApiClient(raw).get("/api/v1/moi")
    assert response.status_code == 200
    assert response.json()["organization"]["id"] == str(world_a.orgs["company"].uuid)
    assert response.json()["token"]["name"] == "Paie"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_never_has_more_than_its_creator(world_a):
    """An admin who became a plain member lends only a member's rights to the tokens they created."""
    admin = world_a.users["facilitator_admin"]
    _, raw = make_token(admin)
    assert ApiClient(raw).get("/api/v1/moi").json()["role"] == Role.ADMIN
    Membership.objects.filter(user=admin).update(role=Role.MEMBER)
    assert ApiClient(raw).get("/api/v1/moi").json()["role"] == Role.MEMBER


def test_a_missing_scope_is_a_403_problem(world_a):
    client = api_as(world_a.users["facilitator_member"], scopes=["heures:ecriture"])
    response = client.get("/api/v1/markets")
    assert response.status_code == 403
    assert "Lecture" in response.json()["detail"]


def test_a_kind_that_has_no_business_gets_403(world_a):
    response = api_as(world_a.users["company"]).get("/api/v1/buyers")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_another_tenants_object_is_a_404_not_a_403(world_a, world_b):
    market = world_a.objects["market"]
    response = api_as(world_b.users["facilitator_admin"]).get(f"/api/v1/markets/{market.uuid}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert api_as(world_a.users["facilitator_admin"]).get(f"/api/v1/markets/{market.uuid}").status_code == 200


def test_validation_errors_name_the_field(world_a):
    response = api_as(world_a.users["facilitator_admin"]).get("/api/v1/markets/pas-un-uuid")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "path.market_id"
    assert "UUID" in body["errors"][0]["message"]


def test_the_session_works_for_the_same_endpoints(world_a):
    client = Client()
    client.force_login(world_a.users["facilitator_admin"])
    response = client.get("/api/v1/markets")
    assert response.status_code == 200
    assert str(world_a.objects["market"].uuid) in {m["id"] for m in response.json()["results"]}


def test_the_cursor_walks_every_row_once_in_a_stable_order(world_a):
    client = api_as(world_a.users["facilitator_admin"])
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/api/v1/awards", {"page_size": 1, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.json()
        seen += [a["id"] for a in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    mine = {str(world_a.objects[k].uuid) for k in ("award", "other_award")}
    assert set(seen) == mine and len(seen) == len(mine) == pages


def test_updated_since_keeps_only_later_changes(world_a):
    client = api_as(world_a.users["facilitator_admin"])
    later = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    assert client.get("/api/v1/awards", {"updated_since": later}).json()["results"] == []


def test_a_forged_cursor_is_a_400_problem(world_a):
    response = api_as(world_a.users["facilitator_admin"]).get("/api/v1/awards", {"cursor": "!!!"})
    assert response.status_code == 400
    assert "Curseur" in response.json()["detail"]


def test_past_the_rate_limit_the_answer_is_429_with_retry_after(world_a, monkeypatch):
    from clausier.api.main import api

    monkeypatch.setattr(api.throttle[0], "num_requests", 2)  # the limit in force, lowered for the test
    client = api_as(world_a.users["company"])
    assert client.get("/api/v1/moi").status_code == 200
    assert client.get("/api/v1/moi").status_code == 200
    response = client.get("/api/v1/moi")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"] == "application/problem+json"
    other = api_as(world_a.users["structure"])  # the limit is per token
    assert other.get("/api/v1/moi").status_code == 200
