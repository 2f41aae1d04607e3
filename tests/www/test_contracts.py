"""Placing a participant on a lot: from the participant's page and from the lot's page; refusals of
`create_contract` shown as form errors, the input kept, nothing saved; the admin override with a reason."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import AuditEntry
from clausier.employment.models import Contract
from tests.factories import (
    AwardFactory,
    ClauseFactory,
    InsertionStructureFactory,
    LotFactory,
    ParticipantFactory,
    partner,
)

pytestmark = pytest.mark.django_db


def payload(world, **extra):
    return {
        "company": str(world.orgs["company"].uuid),
        "modality": "direct_hire",
        "contract_type": "cdd",
        "rome_code": "f1703",
        "job_title": "Maçon",
        "start_date": "01/03/2024",
        "end_date": "31/08/2024",
        "weekly_hours": "35",
        **extra,
    }


def from_participant(world, participant=None):
    participant = participant or world.objects["participant"]
    return reverse("www:contract_create_for_participant", kwargs={"uuid": participant.uuid})


def from_lot(world):
    return reverse("www:contract_create_for_lot", kwargs={"uuid": world.objects["lot"].uuid})


def errors_of(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "rien n'a été enregistré" in html
    return html


def test_place_from_the_participant_page(world_a, facilitator_member_client):
    before = Contract.objects.count()
    response = facilitator_member_client.post(
        from_participant(world_a), payload(world_a, lot=str(world_a.objects["lot"].uuid))
    )
    assert response.status_code == 302
    contract = Contract.objects.exclude(
        pk__in=[world_a.objects["contract"].pk, world_a.objects["direct_contract"].pk]
    ).get(participant=world_a.objects["participant"], start_date=datetime.date(2024, 3, 1))
    assert response["Location"] == reverse("www:contract_detail", kwargs={"uuid": contract.uuid})
    assert Contract.objects.count() == before + 1
    assert contract.employer == world_a.orgs["company"] and contract.rome_code == "F1703"
    assert contract.eligibility_override_reason == ""
    assert AuditEntry.objects.filter(object_type="employment.contract", object_id=str(contract.uuid)).exists()
    page = facilitator_member_client.get(response["Location"]).content.decode()
    assert "Le contrat a été enregistré." in page and "fr-alert--success" in page


def test_place_from_the_lot_page_with_an_insertion_structure(world_a, facilitator_member_client):
    response = facilitator_member_client.post(
        from_lot(world_a),
        payload(
            world_a,
            participant=str(world_a.objects["participant"].uuid),
            employer=str(world_a.orgs["structure"].uuid),
            modality="provision",
            contract_type="ctti",
        ),
    )
    assert response.status_code == 302
    # Back to the lot it was placed on (its contracts, hours and next placement are there), the new one listed.
    lot_url = reverse("www:lot_detail", kwargs={"uuid": world_a.objects["lot"].uuid})
    assert response["Location"] == f"{lot_url}#contrats"
    contract = Contract.objects.filter(lot=world_a.objects["lot"]).latest("pk")
    assert (
        contract.employer == world_a.orgs["structure"]
        and contract.participant == world_a.objects["participant"]
    )
    assert (
        reverse("www:contract_detail", kwargs={"uuid": contract.uuid})
        in facilitator_member_client.get(lot_url).content.decode()
    )


def test_the_pages_show_the_buttons(world_a, facilitator_member_client):
    lot_page = facilitator_member_client.get(
        reverse("www:lot_detail", kwargs={"uuid": world_a.objects["lot"].uuid})
    )
    assert from_lot(world_a) in lot_page.content.decode()
    person = facilitator_member_client.get(
        reverse("www:participant_detail", kwargs={"uuid": world_a.objects["participant"].uuid})
    )
    assert from_participant(world_a) in person.content.decode()


def test_ineligible_participant_is_refused_with_the_input_kept(world_a, facilitator_member_client):
    person = ParticipantFactory(facilitator=world_a.facilitator, last_name="Sanseligibilite")
    before = Contract.objects.count()
    html = errors_of(
        facilitator_member_client.post(
            from_participant(world_a, person), payload(world_a, lot=str(world_a.objects["lot"].uuid))
        )
    )
    assert "n&#x27;a pas de validation d&#x27;éligibilité en cours au 01/03/2024" in html
    assert 'value="2024-03-01"' in html and 'value="Maçon"' in html  # the date input holds ISO
    assert 'name="override_reason"' not in html  # members cannot override
    assert Contract.objects.count() == before


def test_an_admin_overrides_with_a_reason(world_a, facilitator_admin_client):
    person = ParticipantFactory(facilitator=world_a.facilitator)
    url = from_participant(world_a, person)
    assert 'name="override_reason"' in facilitator_admin_client.get(url).content.decode()
    data = payload(world_a, lot=str(world_a.objects["lot"].uuid))
    errors_of(facilitator_admin_client.post(url, data))  # no reason: refused
    response = facilitator_admin_client.post(
        url, {**data, "override_reason": "Avis motivé de la Mission locale."}
    )
    assert response.status_code == 302
    contract = Contract.objects.get(participant=person)
    assert contract.eligibility_override_reason == "Avis motivé de la Mission locale."
    assert contract.eligibility_override_by == world_a.users["facilitator_admin"]


def test_a_member_cannot_slip_an_override_in(world_a, facilitator_member_client):
    person = ParticipantFactory(facilitator=world_a.facilitator)
    data = payload(world_a, lot=str(world_a.objects["lot"].uuid), override_reason="Je passe outre.")
    errors_of(facilitator_member_client.post(from_participant(world_a, person), data))
    assert not Contract.objects.filter(participant=person).exists()


def test_company_must_be_an_awardee_of_the_lot(world_a, facilitator_member_client):
    other_lot = LotFactory(market=world_a.objects["market"])
    ClauseFactory(lot=other_lot)
    AwardFactory(lot=other_lot, company=world_a.orgs["other_company"])
    html = errors_of(
        facilitator_member_client.post(
            from_participant(world_a),
            payload(
                world_a, lot=str(world_a.objects["lot"].uuid), company=str(world_a.orgs["other_company"].uuid)
            ),
        )
    )
    assert escape(f"{world_a.orgs['other_company']} n'est pas attributaire de ce lot.") in html


def test_an_employer_company_other_than_the_awardee_is_refused(world_a, facilitator_member_client):
    html = errors_of(
        facilitator_member_client.post(
            from_participant(world_a),
            payload(
                world_a,
                lot=str(world_a.objects["lot"].uuid),
                employer=str(world_a.orgs["other_company"].uuid),
                modality="provision",
            ),
        )
    )
    assert "Choix invalide" in html or "L&#x27;employeur est l&#x27;entreprise attributaire" in html


def test_direct_hire_by_a_structure_is_refused_by_the_action(world_a, facilitator_member_client):
    html = errors_of(
        facilitator_member_client.post(
            from_participant(world_a),
            payload(
                world_a, lot=str(world_a.objects["lot"].uuid), employer=str(world_a.orgs["structure"].uuid)
            ),
        )
    )
    assert "En embauche directe, l&#x27;employeur est l&#x27;entreprise attributaire." in html


def test_another_facilitators_uuids_posted_by_hand_are_invalid_choices(
    world_a, world_b, facilitator_member_client
):
    before = Contract.objects.count()
    for field, value in (
        ("lot", str(world_b.objects["lot"].uuid)),
        ("company", str(world_b.orgs["company"].uuid)),
        ("employer", str(world_b.orgs["structure"].uuid)),
        ("lot", "pas-un-uuid"),
        ("modality", "teleportation"),
    ):
        data = payload(world_a, lot=str(world_a.objects["lot"].uuid))
        data[field] = value
        html = errors_of(facilitator_member_client.post(from_participant(world_a), data))
        assert "Choix invalide" in html, field
    data = payload(world_a, participant=str(world_b.objects["participant"].uuid))
    assert "Choix invalide" in errors_of(facilitator_member_client.post(from_lot(world_a), data))
    assert Contract.objects.count() == before


@pytest.mark.parametrize(
    "extra",
    [
        {"start_date": "32/13/2024"},
        {"start_date": ""},
        {"end_date": "01/01/2024"},  # before the start
        {"weekly_hours": "70"},
        {"weekly_hours": "-1"},
        {"weekly_hours": "trente-cinq"},
        {"rome_code": "12345"},
        {"contract_type": ""},
    ],
)
def test_garbage_input_is_refused_in_french(extra, world_a, facilitator_member_client):
    before = Contract.objects.count()
    data = {**payload(world_a, lot=str(world_a.objects["lot"].uuid)), **extra}
    errors_of(facilitator_member_client.post(from_participant(world_a), data))
    assert Contract.objects.count() == before


def test_pages_are_404_outside_the_facilitators_staff(world_a, world_b, client_for):
    urls = [from_participant(world_a), from_lot(world_a)]
    for user in (
        world_b.users["facilitator_admin"],
        world_a.users["company"],
        world_a.users["structure"],
        world_a.users["prescriber"],
        world_a.users["buyer"],
    ):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 404
            assert client.post(url, payload(world_a)).status_code == 404


def test_a_lot_without_clause_cannot_receive_contracts(world_a, facilitator_member_client):
    lot = LotFactory(market=world_a.objects["market"])
    url = reverse("www:contract_create_for_lot", kwargs={"uuid": lot.uuid})
    assert facilitator_member_client.get(url).status_code == 404


def test_the_form_costs_the_same_whatever_the_number_of_lots(world_a, facilitator_member_client):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert facilitator_member_client.get(from_participant(world_a)).status_code == 200
        return len(queries)

    few = count()
    for _ in range(5):
        lot = LotFactory(market=world_a.objects["market"])
        ClauseFactory(lot=lot)
        AwardFactory(lot=lot)
        partner(InsertionStructureFactory, world_a.facilitator)
    assert count() == few
