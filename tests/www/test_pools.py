"""Globalisation agreements: created and edited by the facilitator's staff through actions, with audit entries."""

import pytest
from django.urls import reverse

from clausier.audit.models import AuditEntry
from clausier.procurement.models import GlobalisationAgreement
from tests.factories import AwardFactory, LotFactory, MarketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lots(world_a):
    """Three lots of the company: two of its buyer, one of another buyer."""
    company = world_a.orgs["company"]
    second = LotFactory(market=world_a.objects["market"])
    AwardFactory(lot=second, company=company)
    third = LotFactory(
        market=MarketFactory(facilitator=world_a.facilitator, buyer=world_a.orgs["other_buyer"])
    )
    AwardFactory(lot=third, company=company)
    return [world_a.objects["lot"], second, third]


def create_url(world):
    return reverse("www:pool_create") + f"?entreprise={world.orgs['company'].uuid}"


def test_create_in_two_steps(world_a, lots, facilitator_member_client):
    html = facilitator_member_client.get(reverse("www:pool_create")).content.decode()
    assert 'data-testid="company-picker"' in html
    html = facilitator_member_client.get(create_url(world_a)).content.decode()
    for lot in lots:
        assert str(lot.uuid) in html
    assert str(world_a.objects["other_lot"].uuid) not in html  # not awarded to the company
    response = facilitator_member_client.post(
        create_url(world_a), {"name": "Convention 2024", "lots": [str(lots[0].uuid), str(lots[2].uuid)]}
    )
    assert response.status_code == 302
    agreement = GlobalisationAgreement.objects.get()
    assert agreement.company == world_a.orgs["company"] and agreement.facilitator == world_a.facilitator
    assert set(agreement.lots.all()) == {lots[0], lots[2]}  # two buyers
    entry = AuditEntry.objects.get(object_type="procurement.globalisationagreement")
    assert entry.changes["lots"] == [None, sorted([lots[0].pk, lots[2].pk])]
    html = facilitator_member_client.get(reverse("www:pool_list")).content.decode()
    assert "Convention 2024" in html


def test_refusals_write_nothing(world_a, lots, facilitator_member_client):
    response = facilitator_member_client.post(
        create_url(world_a), {"name": "Seule", "lots": [str(lots[0].uuid)]}
    )
    assert response.status_code == 200
    assert "au moins deux lots" in response.content.decode()
    other = world_a.objects["other_lot"]  # awarded to another company: not even a choice
    response = facilitator_member_client.post(
        create_url(world_a), {"name": "X", "lots": [str(lots[0].uuid), str(other.uuid), "pas-un-uuid"]}
    )
    assert response.status_code == 200
    garbage = reverse("www:pool_create") + "?entreprise=pas-un-uuid"
    assert facilitator_member_client.post(garbage, {"name": "X"}).status_code == 200
    assert not GlobalisationAgreement.objects.exists()
    assert not AuditEntry.objects.filter(object_type="procurement.globalisationagreement").exists()


def test_edit_changes_lots_with_audit(world_a, lots, facilitator_member_client):
    agreement = GlobalisationAgreement.objects.create(
        facilitator=world_a.facilitator, company=world_a.orgs["company"], name="Avant"
    )
    agreement.lots.set(lots[:2], through_defaults={"facilitator": world_a.facilitator})
    url = reverse("www:pool_edit", kwargs={"uuid": agreement.uuid})
    html = facilitator_member_client.get(url).content.decode()
    assert 'data-testid="pool-lots"' in html and "Avant" in html
    response = facilitator_member_client.post(
        url, {"name": "Après", "lots": [str(lot.uuid) for lot in lots], "start_date": "2024-01-01"}
    )
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.name == "Après" and agreement.lots.count() == 3
    entry = AuditEntry.objects.get(object_type="procurement.globalisationagreement", action="update")
    assert entry.changes["name"] == ["Avant", "Après"] and "lots" in entry.changes
    # Dates in the wrong order: refused, nothing changes.
    response = facilitator_member_client.post(
        url,
        {
            "name": "Dates",
            "lots": [str(lots[0].uuid), str(lots[1].uuid)],
            "start_date": "2024-12-01",
            "end_date": "2024-01-01",
        },
    )
    assert response.status_code == 200
    agreement.refresh_from_db()
    assert agreement.name == "Après"


def test_non_staff_get_404(world_a, world_b, client_for):
    agreement = GlobalisationAgreement.objects.create(
        facilitator=world_a.facilitator, company=world_a.orgs["company"], name="Privée"
    )
    for user in (world_a.users["company"], world_a.users["buyer"], world_b.users["facilitator_admin"]):
        client = client_for(user)
        assert client.get(reverse("www:pool_edit", kwargs={"uuid": agreement.uuid})).status_code == 404
    for role in ("company", "buyer", "structure"):
        client = client_for(world_a.users[role])
        assert client.get(reverse("www:pool_list")).status_code == 404
        assert client.get(reverse("www:pool_create")).status_code == 404
