"""Detail pages: 200 for the owner, 404 for another facilitator, criteria for facilitator staff only."""

import pytest
from django.urls import reverse
from django.utils.html import escape

pytestmark = pytest.mark.django_db

DETAILS = [
    ("buyer_detail", "orgs", "buyer"),
    ("operation_detail", "objects", "operation"),
    ("market_detail", "objects", "market"),
    ("lot_detail", "objects", "lot"),
    ("company_detail", "orgs", "company"),
    ("structure_detail", "orgs", "structure"),
    ("prescriber_detail", "orgs", "prescriber"),
    ("participant_detail", "objects", "participant"),
    ("contract_detail", "objects", "contract"),
]


def url_of(world, name, where, key):
    return reverse(f"www:{name}", kwargs={"uuid": getattr(world, where)[key].uuid})


@pytest.mark.parametrize(("name", "where", "key"), DETAILS)
def test_detail_ok_for_the_owner(name, where, key, world_a, facilitator_member_client):
    response = facilitator_member_client.get(url_of(world_a, name, where, key))
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "where", "key"), DETAILS)
def test_detail_of_another_facilitator_is_404(name, where, key, world_a, world_b, facilitator_member_client):
    assert facilitator_member_client.get(url_of(world_b, name, where, key)).status_code == 404


def test_market_detail_shows_lots_clause_awards_and_hours(world_a, facilitator_member_client):
    market, lot = world_a.objects["market"], world_a.objects["lot"]
    html = facilitator_member_client.get(
        url_of(world_a, "market_detail", "objects", "market")
    ).content.decode()
    assert market.reference in html
    assert f"Lot {lot.number}" in html
    assert world_a.orgs["company"].name in html
    assert 'data-testid="lot-row"' in html
    assert "360 / " in html  # 120 + 140 + 100 validated hours on the lot


def test_lot_detail_shows_clause_parameters(world_a, facilitator_member_client):
    html = facilitator_member_client.get(url_of(world_a, "lot_detail", "objects", "lot")).content.decode()
    clause = world_a.objects["clause"]
    assert 'data-testid="clause"' in html
    assert clause.legal_basis.article in html


def test_participant_criteria_for_facilitator_staff_only(world_a, facilitator_member_client, company_client):
    url = url_of(world_a, "participant_detail", "objects", "participant")
    staff = facilitator_member_client.get(url).content.decode()
    assert 'data-testid="eligibility"' in staff
    criterion = world_a.objects["assessment"].criterion_lines.first().criterion
    label = escape(criterion.label)
    assert label in staff
    company = company_client.get(url)
    assert company.status_code == 200
    assert 'data-testid="eligibility"' not in company.content.decode()
    assert label not in company.content.decode()


def test_partner_roles_see_their_own_pages(
    world_a, buyer_client, company_client, structure_client, prescriber_client
):
    assert buyer_client.get(url_of(world_a, "market_detail", "objects", "market")).status_code == 200
    assert buyer_client.get(url_of(world_a, "market_detail", "objects", "other_market")).status_code == 404
    assert (
        buyer_client.get(url_of(world_a, "participant_detail", "objects", "participant")).status_code == 404
    )
    assert company_client.get(url_of(world_a, "contract_detail", "objects", "contract")).status_code == 200
    assert structure_client.get(url_of(world_a, "contract_detail", "objects", "contract")).status_code == 200
    assert structure_client.get(url_of(world_a, "market_detail", "objects", "market")).status_code == 404
    assert (
        prescriber_client.get(url_of(world_a, "participant_detail", "objects", "participant")).status_code
        == 200
    )
    assert (
        prescriber_client.get(
            url_of(world_a, "participant_detail", "objects", "other_participant")
        ).status_code
        == 404
    )
    for client in (buyer_client, company_client, structure_client, prescriber_client):
        for name in ("market_list", "participant_list", "contract_list", "operation_list"):
            assert client.get(reverse(f"www:{name}")).status_code == 200
