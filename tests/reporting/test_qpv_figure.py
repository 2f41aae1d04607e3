"""One QPV figure everywhere (issue 14): residence at entry from the geocoded address, the criterion declared
at eligibility when the address does not tell; the bilans, the dashboard, the public figures and the
territory figures give the same count, and the bilan says how many rest on each source."""

import datetime

import pytest

from clausier.participants.models import Participant, QpvFlag, QpvResidence, QpvSource
from clausier.participants.profiles import QPV_RULE, refresh_facilitator_profiles
from clausier.publicsite.figures import compute as public_figures
from clausier.reporting.bilans import METHOD, build_bilan
from clausier.reporting.filters import IndicatorFilter
from clausier.reporting.indicators import territory_figures
from tests.factories import (
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    ParticipantFactory,
)

pytestmark = pytest.mark.django_db
D = datetime.date

# (address resolution at entry, criteria declared at entry) → (flag, source), by the rule.
PEOPLE = [
    (QpvResidence.INSIDE, [], QpvFlag.INSIDE, QpvSource.ADDRESS),
    (QpvResidence.INSIDE, ["qpv_resident"], QpvFlag.INSIDE, QpvSource.ADDRESS),
    (QpvResidence.OUTSIDE, ["qpv_resident"], QpvFlag.OUTSIDE, QpvSource.ADDRESS),  # the address wins
    (QpvResidence.NOT_LOADED, ["qpv_resident", "deld"], QpvFlag.INSIDE, QpvSource.CRITERION),
    (QpvResidence.UNLOCATED, ["qpv_resident"], QpvFlag.INSIDE, QpvSource.CRITERION),
    (QpvResidence.NO_LIST, ["deld"], QpvFlag.UNKNOWN, QpvSource.NONE),
    ("", [], QpvFlag.UNKNOWN, QpvSource.NONE),
]


@pytest.fixture
def territory():
    facilitator = FacilitatorFactory(slug="cellule-qpv")
    people = []
    for status, criteria, _flag, _source in PEOPLE:
        participant = ParticipantFactory(facilitator=facilitator)
        EligibilityAssessmentFactory(participant=participant, assessed_on=D(2024, 1, 8), criteria=criteria)
        ContractFactory(
            participant=participant, lot__market__facilitator=facilitator, start_date=D(2024, 2, 1)
        )
        Participant.objects.filter(pk=participant.pk).update(qpv_status=status)
        people.append(participant)
    # A merged duplicate of the first person, in QPV by its own address: the person counts once.
    duplicate = ParticipantFactory(facilitator=facilitator)
    ContractFactory(participant=duplicate, lot__market__facilitator=facilitator, start_date=D(2024, 3, 1))
    Participant.objects.filter(pk=duplicate.pk).update(qpv_status=QpvResidence.INSIDE, merged_into=people[0])
    refresh_facilitator_profiles(facilitator)
    return facilitator, people


def test_each_person_gets_the_rules_flag_and_source(territory):
    _facilitator, people = territory
    for participant, (_status, _criteria, flag, source) in zip(people, PEOPLE, strict=True):
        participant.profile.refresh_from_db()
        assert (participant.profile.qpv_flag, participant.profile.qpv_source) == (flag, source)


def test_the_same_count_everywhere(territory):
    facilitator, _people = territory
    # Hand count: rows 1, 2 (address), 4, 5 (criterion); the duplicate is the first person.
    assert territory_figures(facilitator).qpv_residents == 4
    assert public_figures(facilitator, D(2026, 12, 7)).qpv_residents == 4

    bilan = build_bilan(
        IndicatorFilter(facilitator=facilitator), title="Bilan", subject="territoire", public=False
    )
    figures = dict(bilan.key_figures)
    assert figures["dont résidents d'un QPV"].value == 4
    profile_rows = next(t for t in bilan.tables if t.slug == "profils").rows
    qpv = {row[1].value: row[2].value for row in profile_rows if row[0].value == "QPV"}
    assert qpv == {
        "Réside en QPV": 4,
        "dont d'après l'adresse géocodée": 2,
        "dont d'après le critère déclaré à l'éligibilité": 2,
        "Hors QPV": 1,
        "Inconnu": 2,
    }
    assert ("Résidence en QPV", QPV_RULE) in METHOD


def test_a_public_bilan_masks_a_small_qpv_count(territory):
    facilitator, _people = territory
    bilan = build_bilan(
        IndicatorFilter(facilitator=facilitator), title="Bilan", subject="territoire", public=True
    )
    assert dict(bilan.key_figures)["dont résidents d'un QPV"].value == "< 5"
    assert public_figures(facilitator, D(2026, 12, 7)).qpv_shown == "< 5"


def test_the_migration_rule_and_the_computation_agree(territory):
    """The data migration applies the rule to stored profiles with two UPDATEs: same result."""
    from importlib import import_module

    from django.apps import apps

    facilitator, people = territory
    from clausier.participants.models import ParticipantProfile

    ParticipantProfile.objects.filter(facilitator=facilitator, qpv_source=QpvSource.CRITERION).update(
        qpv_flag=QpvFlag.UNKNOWN, qpv_source=QpvSource.NONE
    )
    ParticipantProfile.objects.filter(facilitator=facilitator).update(qpv_source=QpvSource.NONE)
    import_module("clausier.participants.migrations.0005_profile_qpv_source").apply_the_rule(apps, None)
    for participant, (_status, _criteria, flag, source) in zip(people, PEOPLE, strict=True):
        participant.profile.refresh_from_db()
        assert (participant.profile.qpv_flag, participant.profile.qpv_source) == (flag, source)
