"""Eligibility: "Valider l'éligibilité" creates a new assessment (the history is kept), the validating
member is the current user, the validity follows the facilitator's parameter; "autre, sur avis motivé"
requires the prescriber and the reason. Criteria are shown to facilitator staff only: every other role,
on every page that shows a participant, never sees one. The participant page costs a fixed number of
queries however many contracts and assessments the person has."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import Action, AuditEntry
from clausier.organizations.models import FacilitatorSettings
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment
from clausier.reference.models import EligibilityCriterion
from tests.factories import (
    ContractFactory,
    EligibilityAssessmentFactory,
    HoursRecordFactory,
    OutcomeFactory,
    ref,
)

pytestmark = pytest.mark.django_db


def url(person):
    return reverse("www:participant_assessment_create", kwargs={"uuid": person.uuid})


def detail(person):
    return reverse("www:participant_detail", kwargs={"uuid": person.uuid})


def refused(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "rien n'a été enregistré" in html
    return html


def test_the_form_lists_every_criterion_and_no_document_field(world_a, facilitator_member_client):
    html = facilitator_member_client.get(url(world_a.objects["participant"])).content.decode()
    for criterion in EligibilityCriterion.objects.active():
        assert escape(criterion.label) in html
    assert 'type="file"' not in html
    assert "Attestation CAF / MSA" in html  # evidence kinds


def test_revalidation_creates_a_new_assessment_and_keeps_the_old_one(world_a, facilitator_member_client):
    person = world_a.objects["participant"]
    old = world_a.objects["assessment"]
    response = facilitator_member_client.post(
        url(person),
        {
            "assessed_on": "15/06/2025",
            "crit_rsa": "on",
            "kind_rsa": "caf",
            "date_rsa": "01/06/2025",
            "crit_qpv_resident": "on",
            "kind_qpv_resident": "address",
        },
    )
    assert response.status_code == 302 and response["Location"] == detail(person)
    assert EligibilityAssessment.objects.filter(pk=old.pk).exists()
    new = EligibilityAssessment.objects.filter(participant=person).exclude(pk=old.pk).get()
    assert new.assessed_on == datetime.date(2025, 6, 15)
    assert new.valid_until == datetime.date(2027, 6, 15)  # + 24 months by default
    assert new.validated_by == world_a.users["facilitator_member"]
    lines = {line.criterion.code: line for line in new.criterion_lines.select_related("criterion")}
    assert set(lines) == {"rsa", "qpv_resident"}
    assert lines["rsa"].evidence_kind == "caf" and lines["rsa"].evidence_date == datetime.date(2025, 6, 1)
    assert lines["qpv_resident"].evidence_date is None
    old.refresh_from_db()
    assert [line.criterion.code for line in old.criterion_lines.all()] == ["deld"]
    entry = AuditEntry.objects.get(object_type="participants.eligibilityassessment", object_id=str(new.uuid))
    assert entry.action == Action.CREATE and entry.actor == world_a.users["facilitator_member"]

    page = facilitator_member_client.get(detail(person)).content.decode()
    assert page.count('data-testid="assessment"') == 2  # the history
    assert "15/06/2025" in page and "01/01/2024" in page


def test_the_validity_follows_the_facilitator_parameter_and_is_editable(world_a, facilitator_member_client):
    FacilitatorSettings.objects.update_or_create(
        facilitator=world_a.facilitator, defaults={"eligibility_validity_months": 12}
    )
    person = world_a.objects["participant"]
    data = {"assessed_on": "31/01/2025", "crit_deld": "on", "kind_deld": "france_travail"}
    assert facilitator_member_client.post(url(person), data).status_code == 302
    assert EligibilityAssessment.objects.filter(participant=person).latest("pk").valid_until == datetime.date(
        2026, 1, 31
    )
    assert (
        facilitator_member_client.post(url(person), {**data, "valid_until": "30/06/2025"}).status_code == 302
    )
    assert EligibilityAssessment.objects.filter(participant=person).latest("pk").valid_until == datetime.date(
        2025, 6, 30
    )


@pytest.mark.parametrize(
    "data, messages",
    [
        ({"assessed_on": "01/06/2025"}, ["Cochez au moins un critère d'éligibilité."]),
        ({"assessed_on": "", "crit_deld": "on", "kind_deld": "caf"}, ["Indiquez la date de validation."]),
        (
            {"assessed_on": "01/06/2025", "crit_deld": "on"},
            ["Indiquez le justificatif du critère « Demandeur d'emploi de longue durée"],
        ),
        (
            {"assessed_on": "01/06/2025", "crit_deld": "on", "kind_deld": "caf", "date_deld": "02/06/2025"},
            ["La date du justificatif ne peut pas être postérieure à la validation."],
        ),
        (
            {"assessed_on": "01/06/2025", "crit_deld": "on", "kind_deld": "caf", "valid_until": "01/01/2025"},
            ["La fin de validité doit être postérieure ou égale à la date de validation."],
        ),
        (
            {"assessed_on": "01/06/2025", "crit_other_reasoned": "on", "kind_other_reasoned": "prescriber"},
            [
                "exige le prescripteur qui a donné son avis.",
                "exige l'avis motivé du prescripteur.",
            ],
        ),
        (
            {
                "assessed_on": "01/06/2025",
                "crit_other_reasoned": "on",
                "kind_other_reasoned": "prescriber",
                "reason": "Parcours validé en commission.",
            },
            ["exige le prescripteur qui a donné son avis."],
        ),
    ],
)
def test_invalid_assessments_are_refused_in_french(data, messages, world_a, facilitator_member_client):
    person = world_a.objects["participant"]
    person.prescriber = None  # the form pre-fills the participant's prescriber
    person.save()
    before = (EligibilityAssessment.objects.count(), AssessmentCriterion.objects.count())
    html = refused(facilitator_member_client.post(url(person), data))
    for message in messages:
        assert escape(message) in html
    assert (EligibilityAssessment.objects.count(), AssessmentCriterion.objects.count()) == before


def test_other_reasoned_with_the_prescriber_and_the_reason(world_a, facilitator_member_client):
    person = world_a.objects["participant"]
    response = facilitator_member_client.post(
        url(person),
        {
            "assessed_on": "01/06/2025",
            "crit_other_reasoned": "on",
            "kind_other_reasoned": "prescriber",
            "prescriber": str(world_a.orgs["prescriber"].uuid),
            "reason": "Parcours validé en commission.",
        },
    )
    assert response.status_code == 302
    new = EligibilityAssessment.objects.filter(participant=person).latest("pk")
    assert new.prescriber == world_a.orgs["prescriber"] and new.reason == "Parcours validé en commission."


def test_a_merged_record_cannot_be_validated(world_a, facilitator_member_client):
    duplicate, kept = world_a.objects["other_participant"], world_a.objects["participant"]
    duplicate.merged_into = kept
    duplicate.save()
    assert facilitator_member_client.get(url(duplicate)).status_code == 404


# --- Criteria are for facilitator staff only ----------------------------------------------------------------

SECRET_REASON = "Avis motivé confidentiel de la sonde"


@pytest.fixture
def sensitive(world_a):
    """A second assessment with a health criterion, a reasoned opinion and an MDPH notification."""
    assessment = EligibilityAssessmentFactory(
        participant=world_a.objects["participant"],
        assessed_on=datetime.date(2024, 6, 1),
        criteria=["rqth", "other_reasoned"],
        reason=SECRET_REASON,
    )
    AssessmentCriterion.objects.filter(assessment=assessment).update(evidence_kind="mdph")
    labels = [escape(ref(EligibilityCriterion, code).label) for code in ("deld", "rqth", "other_reasoned")]
    return [*labels, "Notification MDPH", escape(SECRET_REASON), 'data-testid="eligibility"']


def pages_of(world):
    contracts = [world.objects["contract"], world.objects["direct_contract"]]
    yield reverse("www:dashboard")
    yield reverse("www:participant_list")
    yield reverse("www:contract_list")
    yield reverse("www:participant_list") + "?q=" + world.objects["participant"].last_name
    for person in (world.objects["participant"], world.objects["direct_contract"].participant):
        yield detail(person)
    for contract in contracts:
        yield reverse("www:contract_detail", kwargs={"uuid": contract.uuid})
    for kind in ("company", "structure", "prescriber"):
        yield reverse(f"www:{kind}_detail", kwargs={"uuid": world.orgs[kind].uuid})
    yield reverse("www:buyer_detail", kwargs={"uuid": world.orgs["buyer"].uuid})
    yield reverse("www:lot_detail", kwargs={"uuid": world.objects["lot"].uuid})
    yield reverse("www:market_detail", kwargs={"uuid": world.objects["market"].uuid})


def test_staff_see_the_criteria(world_a, sensitive, facilitator_member_client):
    page = facilitator_member_client.get(detail(world_a.objects["participant"])).content.decode()
    for secret in sensitive:
        assert secret in page


@pytest.mark.parametrize(
    "role",
    [
        "buyer",
        "company",
        "structure",
        "prescriber",
        "other_buyer",
        "other_company",
        "other_structure",
        "other_prescriber",
    ],
)
def test_no_other_role_ever_sees_a_criterion(role, world_a, sensitive, client_for):
    client = client_for(world_a.users[role])
    seen_the_person = False
    for page_url in pages_of(world_a):
        response = client.get(page_url)
        assert response.status_code in (200, 404), f"{role} GET {page_url} → {response.status_code}"
        if response.status_code != 200:
            continue
        html = response.content.decode()
        seen_the_person |= page_url == detail(world_a.objects["participant"])
        leaks = [secret for secret in sensitive if secret in html]
        assert not leaks, f"{role} voit {leaks} sur {page_url}"
    # The roles linked to the person do see the participant page itself (without the criteria).
    assert seen_the_person == (role in ("company", "structure", "prescriber"))


def test_non_staff_cannot_reach_the_assessment_form(world_a, client_for):
    person = world_a.objects["participant"]
    for role in ("buyer", "company", "structure", "prescriber"):
        client = client_for(world_a.users[role])
        assert client.get(url(person)).status_code == 404
        data = {"assessed_on": "01/06/2025", "crit_deld": "on", "kind_deld": "caf"}
        assert client.post(url(person), data).status_code == 404
    assert EligibilityAssessment.objects.filter(participant=person).count() == 1


# --- The participant page costs the same whatever the history -----------------------------------------------


def page_queries(client, person):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(detail(person))
    assert response.status_code == 200
    return len(queries)


def test_the_participant_page_query_count_is_constant(world_a, facilitator_member_client, company_client):
    person = world_a.objects["participant"]
    lot, company = world_a.objects["lot"], world_a.orgs["company"]
    staff_before = page_queries(facilitator_member_client, person)
    company_before = page_queries(company_client, person)
    for month in range(1, 6):
        contract = ContractFactory(
            lot=lot,
            participant=person,
            company=company,
            start_date=datetime.date(2025, month, 1),
            end_date=datetime.date(2025, month, 28),
        )
        HoursRecordFactory(contract=contract)
        OutcomeFactory(contract=contract)
        EligibilityAssessmentFactory(
            participant=person, assessed_on=datetime.date(2025, month, 1), criteria=["rsa", "rqth"]
        )
    person.merged_records.model.objects.filter(pk=world_a.objects["other_participant"].pk).update(
        merged_into=person
    )
    assert page_queries(facilitator_member_client, person) == staff_before
    assert page_queries(company_client, person) == company_before
