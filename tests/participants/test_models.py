"""Participants: normalized identities, merged duplicates, assessments."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from clausier.participants.models import Participant
from clausier.utils.names import normalize_name
from tests.factories import EligibilityAssessmentFactory, OutcomeFactory, ParticipantFactory

D = datetime.date


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Éloïse", "DUPONT-MARTIN"), ("eloise", "dupont martin")),
        (("Éloïse", "Dupont–Martin"), ("ELOISE", "  dupont   MARTIN ")),
        (("Jean", "de La Fontaine"), ("jean", "LA FONTAINE")),
        (("Jean", "De la Fontaine"), ("Jean", "fontaine")),
        (("Anne", "d'Arc"), ("anne", "ARC")),
        (("Anne", "D’Arc"), ("Anne", " ARC ")),
        (("François", "Müller"), ("francois", "muller")),
        (("Jean-Pierre", "N'Diaye"), ("jean pierre", "n diaye")),
    ],
)
def test_normalize_name_equivalences(a, b):
    assert normalize_name(*a) == normalize_name(*b)


def test_normalize_name_exact_value():
    assert normalize_name("Éloïse", "DUPONT-MARTIN") == "dupont martin|eloise"
    assert normalize_name("Éloïse", "DUPONT-MARTIN") == normalize_name("eloise", "dupont martin")
    assert normalize_name("Anne", "d'Arc") == "arc|anne"


def test_normalize_name_keeps_people_apart():
    assert normalize_name("Jean", "Martin") != normalize_name("Martin", "Jean")
    assert normalize_name("Eloise", "Dupont") != normalize_name("Eloise", "Dupond")


def test_d_as_particle_only_alone():
    # "d'" is a particle, a name starting with D is not.
    assert normalize_name("Anne", "Dupont") == "dupont|anne"


@pytest.mark.django_db
def test_participant_stores_normalized_name():
    participant = ParticipantFactory(first_name="Éloïse", last_name="DUPONT-MARTIN")
    assert participant.normalized_name == "dupont martin|eloise"
    participant.last_name = "de Villiers"
    participant.save()
    participant.refresh_from_db()
    assert participant.normalized_name == "villiers|eloise"


@pytest.mark.django_db
def test_merged_duplicate_and_person_id():
    kept = ParticipantFactory()
    duplicate = ParticipantFactory(facilitator=kept.facilitator, merged_into=kept)
    assert set(Participant.objects.active_records()) == {kept}
    ids = dict(Participant.objects.with_person_id().values_list("pk", "person_id"))
    assert ids == {kept.pk: kept.pk, duplicate.pk: kept.pk}


@pytest.mark.django_db
def test_participant_cannot_be_merged_into_itself():
    participant = ParticipantFactory()
    participant.merged_into = participant
    with pytest.raises(IntegrityError), transaction.atomic():
        participant.save()


@pytest.mark.django_db
def test_assessment_dates_in_order():
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityAssessmentFactory(assessed_on=D(2024, 5, 1), valid_until=D(2024, 4, 30))


@pytest.mark.django_db
def test_assessment_factory_defaults():
    assessment = EligibilityAssessmentFactory(criteria=["deld", "qpv_resident"], assessed_on=D(2024, 1, 15))
    assert assessment.valid_until == D(2026, 1, 14)
    assert sorted(c.code for c in assessment.criteria.all()) == ["deld", "qpv_resident"]
    assert assessment.is_valid_on(D(2026, 1, 14))
    assert not assessment.is_valid_on(D(2026, 1, 15))
    reasoned = EligibilityAssessmentFactory(reasoned=True)
    assert [c.code for c in reasoned.criteria.all()] == ["other_reasoned"]
    assert reasoned.criteria.get().requires_reason


@pytest.mark.django_db
def test_one_outcome_per_contract_and_timing():
    outcome = OutcomeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeFactory(contract=outcome.contract)
    six = OutcomeFactory(contract=outcome.contract, six_months=True)
    assert six.participant == outcome.participant
    assert outcome.category.is_dynamic
