"""The facilitator's partners through the API: companies, insertion structures, prescribers; its own only."""

import pytest

from clausier.organizations.models import Organization
from tests.api.helpers import api_as
from tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def orgs(world, *keys) -> set[str]:
    return {str(world.orgs[key].uuid) for key in keys}


PARTNERS = ("company", "other_company", "structure", "other_structure", "prescriber", "other_prescriber")


def test_the_staff_list_their_partners_and_no_one_elses(world_a, world_b):
    seen = ids(api_as(world_a.users["facilitator_member"]).get("/api/v1/organizations"))
    assert seen == orgs(world_a, *PARTNERS)
    assert not seen & orgs(world_b, *PARTNERS)
    assert str(world_a.facilitator.uuid) not in seen  # itself
    assert not seen & orgs(world_a, "buyer", "other_buyer")  # buyers: /buyers


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("company", ("company", "other_company")),
        ("insertion_structure", ("structure", "other_structure")),
        ("prescriber", ("prescriber", "other_prescriber")),
    ],
)
def test_the_kind_filter(kind, keys, world_a):
    response = api_as(world_a.users["facilitator_admin"]).get("/api/v1/organizations", {"kind": kind})
    assert ids(response) == orgs(world_a, *keys)
    assert {row["kind"] for row in response.json()["results"]} == {kind}


def test_an_unknown_kind_is_a_422_naming_the_parameter(world_a):
    for kind in ("buyer", "facilitator", "n'importe"):
        response = api_as(world_a.users["facilitator_admin"]).get("/api/v1/organizations", {"kind": kind})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.kind"


def test_a_row_holds_the_business_details(world_a):
    company = world_a.orgs["company"]
    Organization.objects.filter(pk=company.pk).update(
        siret="73282932000074",
        naf_code="43.99C",
        commune=CommuneFactory(),
        email="contact@btp.example",
        phone="05 61 00 00 00",
        is_active=False,
    )
    response = api_as(world_a.users["facilitator_admin"]).get("/api/v1/organizations", {"kind": "company"})
    row = {r["id"]: r for r in response.json()["results"]}[str(company.uuid)]
    assert row == {
        "id": str(company.uuid),
        "kind": "company",
        "name": company.name,
        "siret": "73282932000074",
        "naf_code": "43.99C",
        "commune": "31555",
        "email": "contact@btp.example",
        "phone": "05 61 00 00 00",
        "is_active": False,
        "updated_at": row["updated_at"],
    }


def test_the_cursor_walks_every_partner_once(world_a):
    client = api_as(world_a.users["facilitator_admin"])
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/organizations", {"page_size": 2, **({"cursor": cursor} if cursor else {})})
        seen += [row["id"] for row in page.json()["results"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(PARTNERS)


@pytest.mark.parametrize("role", ["company", "structure", "prescriber", "buyer"])
def test_partners_are_for_the_staff_only(role, world_a):
    response = api_as(world_a.users[role]).get("/api/v1/organizations")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
