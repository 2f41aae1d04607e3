"""Merging duplicates from the participant page: candidates and search, side-by-side comparison, choice of
the record to keep, confirmation, then "fusionné dans …" on the merged record and the "Fusions" review page.
Facilitator staff only."""

import datetime

import pytest
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract
from clausier.participants.models import EligibilityAssessment, Participant
from tests.factories import ContractFactory, EligibilityAssessmentFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

MERGES = reverse("www:participant_merges")


def merge_url(person):
    return reverse("www:participant_merge", kwargs={"uuid": person.uuid})


def detail(person):
    return reverse("www:participant_detail", kwargs={"uuid": person.uuid})


@pytest.fixture
def twins(world_a):
    """The world's participant and a duplicate record of the same person, with its own contract and assessment."""
    kept = world_a.objects["participant"]
    kept.first_name, kept.last_name, kept.birth_date = "Éloïse", "DUPONT-MARTIN", datetime.date(1990, 4, 3)
    kept.save()
    duplicate = ParticipantFactory(
        facilitator=world_a.facilitator,
        first_name="eloise",
        last_name="dupont martin",
        birth_date=datetime.date(1990, 4, 3),
        phone="06 00 00 00 01",
    )
    contract = ContractFactory(
        lot=world_a.objects["lot"], participant=duplicate, company=world_a.orgs["company"]
    )
    assessment = EligibilityAssessmentFactory(participant=duplicate, criteria=["rsa"])
    return kept, duplicate, contract, assessment


def test_the_merge_page_proposes_the_likely_duplicates_and_a_search(
    twins, world_a, facilitator_member_client
):
    kept, duplicate, _contract, _assessment = twins
    page = facilitator_member_client.get(detail(kept)).content.decode()
    assert merge_url(kept) in page and "Fusionner avec…" in page

    html = facilitator_member_client.get(merge_url(kept)).content.decode()
    assert 'data-testid="merge-candidates"' in html
    assert f"?avec={duplicate.uuid}" in html and "03/04/1990" in html

    found = facilitator_member_client.get(merge_url(kept), {"q": "Dupont"}).content.decode()
    assert f"?avec={duplicate.uuid}" in found
    other = world_a.objects["other_participant"]
    found = facilitator_member_client.get(merge_url(kept), {"q": other.last_name}).content.decode()
    assert f"?avec={other.uuid}" in found


def test_the_comparison_shows_both_records_side_by_side(twins, facilitator_member_client):
    kept, duplicate, contract, _assessment = twins
    html = facilitator_member_client.get(merge_url(kept), {"avec": str(duplicate.uuid)}).content.decode()
    assert 'data-testid="comparison"' in html
    assert "Éloïse" in html and "eloise" in html
    assert "06 00 00 00 01" in html
    assert contract.employer.name in html
    assert html.count("Contrats (1)") == 2
    assert "Validations d'éligibilité (1)" in html
    assert 'name="kept"' in html and 'name="confirm"' in html


def test_nothing_is_merged_without_confirmation(twins, facilitator_member_client):
    kept, duplicate, _contract, _assessment = twins
    response = facilitator_member_client.post(
        merge_url(kept), {"avec": str(duplicate.uuid), "kept": str(kept.uuid)}
    )
    assert response.status_code == 200
    assert "Cochez la case pour confirmer la fusion." in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    response = facilitator_member_client.post(
        merge_url(kept), {"avec": str(duplicate.uuid), "kept": "autre", "confirm": "on"}
    )
    assert "Choix invalide" in response.content.decode()
    assert not AuditEntry.objects.filter(action=Action.MERGE).exists()


@pytest.mark.parametrize("keep_the_duplicate", [False, True])
def test_merge_flow(keep_the_duplicate, twins, world_a, facilitator_member_client):
    first, second, contract, assessment = twins
    kept, merged = (second, first) if keep_the_duplicate else (first, second)
    response = facilitator_member_client.post(
        merge_url(first), {"avec": str(second.uuid), "kept": str(kept.uuid), "confirm": "on"}
    )
    assert response.status_code == 302 and response["Location"] == detail(kept)
    merged.refresh_from_db()
    assert merged.merged_into == kept
    assert Contract.objects.get(pk=contract.pk).participant == kept
    assert EligibilityAssessment.objects.get(pk=assessment.pk).participant == kept
    assert not Contract.objects.filter(participant=merged).exists()

    # The merged record says where it went; the kept one lists what was merged into it.
    merged_page = facilitator_member_client.get(detail(merged)).content.decode()
    assert "fusionné dans" in merged_page and detail(kept) in merged_page
    assert "Fusionner avec…" not in merged_page
    kept_page = facilitator_member_client.get(detail(kept)).content.decode()
    assert 'data-testid="merged-records"' in kept_page and detail(merged) in kept_page

    # The review page: who, when, which records.
    review = facilitator_member_client.get(MERGES).content.decode()
    assert review.count('data-testid="row"') == 1
    member = world_a.users["facilitator_member"]
    assert member.get_full_name() in review
    assert detail(kept) in review and detail(merged) in review

    # A merged record can no longer be edited, validated or merged.
    for name in ("participant_edit", "participant_assessment_create", "participant_merge"):
        assert (
            facilitator_member_client.get(reverse(f"www:{name}", kwargs={"uuid": merged.uuid})).status_code
            == 404
        )


def test_the_review_page_shows_only_the_facilitators_merges(worlds, client_for):
    a, b = worlds
    response = client_for(b.users["facilitator_admin"]).post(
        merge_url(b.objects["participant"]),
        {
            "avec": str(b.objects["other_participant"].uuid),
            "kept": str(b.objects["participant"].uuid),
            "confirm": "on",
        },
    )
    assert response.status_code == 302
    assert 'data-testid="row"' not in client_for(a.users["facilitator_member"]).get(MERGES).content.decode()
    assert 'data-testid="row"' in client_for(b.users["facilitator_member"]).get(MERGES).content.decode()


def test_a_record_of_another_facilitator_or_itself_cannot_be_compared(worlds, facilitator_member_client):
    a, b = worlds
    person = a.objects["participant"]
    assert (
        facilitator_member_client.get(
            merge_url(person), {"avec": str(b.objects["participant"].uuid)}
        ).status_code
        == 404
    )
    assert facilitator_member_client.get(merge_url(person), {"avec": str(person.uuid)}).status_code == 404
    assert facilitator_member_client.get(merge_url(person), {"avec": "pas-un-uuid"}).status_code == 404
    response = facilitator_member_client.post(
        merge_url(person),
        {"avec": str(b.objects["participant"].uuid), "kept": str(person.uuid), "confirm": "on"},
    )
    assert response.status_code == 404
    assert not Participant.objects.filter(merged_into__isnull=False).exists()


@pytest.mark.parametrize("role", ["buyer", "company", "structure", "prescriber"])
def test_non_staff_get_404(role, twins, world_a, client_for):
    kept, duplicate, _contract, _assessment = twins
    client = client_for(world_a.users[role])
    assert client.get(merge_url(kept)).status_code == 404
    assert client.get(MERGES).status_code == 404
    data = {"avec": str(duplicate.uuid), "kept": str(kept.uuid), "confirm": "on"}
    assert client.post(merge_url(kept), data).status_code == 404
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
