"""Profiles at entry: hand-computed bands, criteria at entry, QPV flag, bulk refresh and one-query counts."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.participants.models import (
    AgeBand,
    Participant,
    ParticipantProfile,
    QpvFlag,
    QpvResidence,
    QualificationBand,
)
from clausier.participants.profiles import (
    age_band,
    age_on,
    counts_by,
    criteria_counts,
    profile_breakdown,
    qualification_band,
    refresh_facilitator_profiles,
    refresh_profile,
    refresh_profiles,
)
from clausier.reference.models import QualificationLevel
from tests.factories import (
    CommuneFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    ParticipantFactory,
    ref,
)

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def facilitator():
    return FacilitatorFactory(slug="cellule-profils")


def person(facilitator, **kwargs):
    kwargs.setdefault("entry_date", None)
    return ParticipantFactory(facilitator=facilitator, **kwargs)


def hire(participant, start, end=None):
    return ContractFactory(
        participant=participant,
        lot__market__facilitator=participant.facilitator,
        start_date=start,
        end_date=end,
    )


def profile_of(participant):
    refresh_profile(participant)
    return ParticipantProfile.objects.get(participant=participant)


# --- Age ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "day", "age", "band"),
    [
        (D(1998, 6, 15), D(2024, 6, 14), 25, AgeBand.UNDER_26),  # 25 years and 364 days
        (D(1998, 6, 15), D(2024, 6, 15), 26, AgeBand.FROM_26_TO_49),  # exactly 26
        (D(1974, 6, 16), D(2024, 6, 15), 49, AgeBand.FROM_26_TO_49),  # 49 years and 364 days
        (D(1974, 6, 15), D(2024, 6, 15), 50, AgeBand.FROM_50),  # exactly 50
        (D(2000, 2, 29), D(2026, 2, 28), 25, AgeBand.UNDER_26),  # born 29 February: 26 on 1 March
        (D(2000, 2, 29), D(2026, 3, 1), 26, AgeBand.FROM_26_TO_49),
    ],
)
def test_age_bands(birth, day, age, band):
    assert age_on(birth, day) == age
    assert age_band(age) == band


def test_age_is_taken_at_the_first_contract_else_at_entry(facilitator):
    participant = person(facilitator, birth_date=D(1998, 6, 15), entry_date=D(2024, 1, 10))
    profile = profile_of(participant)
    assert (profile.reference_date, profile.age_at_entry, profile.age_band) == (
        D(2024, 1, 10),
        25,
        AgeBand.UNDER_26,
    )
    hire(participant, D(2024, 9, 2), D(2024, 12, 31))
    hire(participant, D(2024, 6, 15), D(2024, 8, 31))  # the first contract, recorded second
    profile = profile_of(participant)
    assert (profile.reference_date, profile.age_at_entry, profile.age_band) == (
        D(2024, 6, 15),
        26,
        AgeBand.FROM_26_TO_49,
    )
    nobody_knows = profile_of(person(facilitator))
    assert (nobody_knows.reference_date, nobody_knows.age_band) == (None, AgeBand.UNKNOWN)


# --- Qualification ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "band"),
    [
        ("infra3", QualificationBand.INFRA_3),
        ("level3", QualificationBand.LEVEL_3),
        ("level4", QualificationBand.LEVEL_4),
        ("level5", QualificationBand.LEVEL_5_PLUS),
        ("level6plus", QualificationBand.LEVEL_5_PLUS),
        (None, QualificationBand.UNKNOWN),
    ],
)
def test_qualification_bands(facilitator, code, band):
    level = ref(QualificationLevel, code) if code else None
    participant = person(facilitator, qualification_level=level, entry_date=D(2024, 1, 1))
    assert profile_of(participant).qualification_band == band


def test_qualification_band_labels():
    assert qualification_band("infra 3") == QualificationBand.INFRA_3
    assert qualification_band(" 5+ ") == QualificationBand.LEVEL_5_PLUS
    assert qualification_band("6") == QualificationBand.UNKNOWN


# --- Criteria at entry ------------------------------------------------------------------------------------------


def codes(profile):
    return sorted(profile.criteria.values_list("code", flat=True))


def test_criteria_are_those_valid_at_entry_and_a_later_revalidation_changes_nothing(facilitator):
    participant = person(facilitator, entry_date=D(2023, 11, 15))
    first = EligibilityAssessmentFactory(
        participant=participant, assessed_on=D(2024, 1, 10), criteria=["deld", "rsa"]
    )
    hire(participant, D(2024, 2, 1), D(2024, 7, 31))
    profile = profile_of(participant)
    assert codes(profile) == ["deld", "rsa"] and profile.assessment_id == first.pk

    # Re-validated two years later with other criteria, and hired again: entry is still February 2024.
    EligibilityAssessmentFactory(
        participant=participant, assessed_on=D(2026, 1, 5), criteria=["qpv_resident"]
    )
    hire(participant, D(2026, 2, 1))
    assert codes(profile_of(participant)) == ["deld", "rsa"]


def test_overlapping_assessments_the_latest_before_entry_wins(facilitator):
    participant = person(facilitator)
    EligibilityAssessmentFactory(participant=participant, assessed_on=D(2023, 6, 1), criteria=["deld"])
    latest = EligibilityAssessmentFactory(
        participant=participant, assessed_on=D(2024, 1, 5), criteria=["detld", "rqth"]
    )
    EligibilityAssessmentFactory(
        participant=participant, assessed_on=D(2024, 3, 1), criteria=["ass"]
    )  # after
    hire(participant, D(2024, 2, 1))
    profile = profile_of(participant)
    assert codes(profile) == ["detld", "rqth"] and profile.assessment_id == latest.pk


def test_no_assessment_valid_at_entry_means_no_criteria(facilitator):
    participant = person(facilitator)
    EligibilityAssessmentFactory(
        participant=participant, assessed_on=D(2021, 1, 4), valid_until=D(2022, 1, 3), criteria=["rsa"]
    )
    hire(participant, D(2024, 2, 1))  # placed with an override: the old assessment had expired
    profile = profile_of(participant)
    assert codes(profile) == [] and profile.assessment_id is None


# --- QPV and commune ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "flag", "kept_code"),
    [
        (QpvResidence.INSIDE, "QP031007", QpvFlag.INSIDE, "QP031007"),
        (QpvResidence.OUTSIDE, "", QpvFlag.OUTSIDE, ""),
        (QpvResidence.NO_LIST, "", QpvFlag.UNKNOWN, ""),  # entry before 2015: unknown, never "outside"
        (QpvResidence.UNLOCATED, "", QpvFlag.UNKNOWN, ""),
        (QpvResidence.NOT_LOADED, "", QpvFlag.UNKNOWN, ""),
        ("", "", QpvFlag.UNKNOWN, ""),  # not resolved yet
    ],
)
def test_qpv_flag(facilitator, status, code, flag, kept_code):
    participant = person(facilitator, commune=CommuneFactory())
    Participant.objects.filter(pk=participant.pk).update(qpv_status=status, qpv_code=code)
    participant.refresh_from_db()
    profile = profile_of(participant)
    assert (profile.qpv_flag, profile.qpv_code, profile.commune_id) == (flag, kept_code, "31555")


# --- Bulk refresh and counts ------------------------------------------------------------------------------------


def population(facilitator, n):
    """`n` people hired on 2024-02-01: ages 25, 30, 55 in turn, one criterion each, every third in QPV."""
    births = [D(1998, 6, 15), D(1994, 1, 1), D(1969, 1, 1)]
    people = []
    for i in range(n):
        participant = person(
            facilitator,
            birth_date=births[i % 3],
            qpv_status=QpvResidence.INSIDE if i % 3 == 0 else QpvResidence.OUTSIDE,
        )
        EligibilityAssessmentFactory(participant=participant, criteria=["deld", "rsa"] if i % 2 else ["deld"])
        hire(participant, D(2024, 2, 1), D(2024, 7, 31))
        people.append(participant)
    return people


def refresh_queries(facilitator, batch_size):
    with CaptureQueriesContext(connection) as queries:
        count = refresh_facilitator_profiles(facilitator, batch_size=batch_size)
    return count, len(queries)


def test_bulk_refresh_costs_constant_queries_per_batch(facilitator):
    population(facilitator, 4)
    count, one_batch = refresh_queries(facilitator, batch_size=10)
    assert count == 4
    other = FacilitatorFactory()
    population(other, 12)
    count, three_batches = refresh_queries(other, batch_size=4)
    assert count == 12
    # Each batch costs the same (its page of ids included); one more query finds no further batch.
    per_batch = one_batch - 1
    assert three_batches == 3 * per_batch + 1
    # ids, participants, assessments, their criteria, the QPV criterion, delete, upsert, insert, savepoint
    assert per_batch <= 10
    # Refreshing again replaces rows, never duplicates them.
    refresh_facilitator_profiles(other, batch_size=5)
    assert ParticipantProfile.objects.filter(facilitator=other).count() == 12


def test_counts_in_one_query(facilitator):
    people = population(facilitator, 6)
    merged = people[-1]
    Participant.objects.filter(pk=merged.pk).update(merged_into=people[0])  # counted once: left out
    refresh_profiles(Participant.objects.filter(facilitator=facilitator))
    with CaptureQueriesContext(connection) as queries:
        ages = counts_by(facilitator, "age_band")
        qpv = counts_by(facilitator, "qpv_flag")
        breakdown = profile_breakdown(facilitator)
        criteria = criteria_counts(facilitator)
        communes = counts_by(facilitator, "commune")
    assert len(queries) == 5
    # People 0–4 (5 is merged): ages 25, 30, 55, 25, 30; QPV for 0 and 3; rsa for 1 and 3.
    assert ages == {"lt26": 2, "26_49": 2, "ge50": 1, "unknown": 0}
    assert qpv == {"inside": 2, "outside": 3, "unknown": 0}
    assert breakdown["total"] == {"total": 5}
    assert breakdown["age_band"] == ages and breakdown["qpv_flag"] == qpv
    assert breakdown["qualification_band"]["infra3"] == 5
    assert breakdown["sex"] == {"F": 5, "M": 0}
    assert criteria == {"deld": 5, "rsa": 2}
    assert communes == {"": 5}
    # Among some participants only (e.g. the holders of a year's contracts).
    assert counts_by(facilitator, "age_band", participants=people[:2])["lt26"] == 1
    ge50 = Participant.objects.active_records().with_profile().filter(profile__age_band="ge50")
    assert list(ge50) == [people[2]] and ge50[0].profile.age_at_entry == 55


def test_refresh_profiles_command(facilitator):
    population(facilitator, 3)
    out = StringIO()
    call_command("refresh-profiles", "--facilitator", "cellule-profils", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["refreshed"] == 3
    assert payload["breakdown"]["age_band"] == {"lt26": 1, "26_49": 1, "ge50": 1, "unknown": 0}
    out = StringIO()
    call_command("refresh-profiles", "--facilitator", "cellule-profils", "--missing-only", stdout=out)
    assert out.getvalue().startswith("0 profil(s) recalculé(s)")
    with pytest.raises(Exception, match="Aucun facilitateur"):
        call_command("refresh-profiles", "--facilitator", "inconnu")


# --- The actions keep profiles current -----------------------------------------------------------------------


def test_actions_refresh_the_profile(facilitator):
    from clausier.employment.actions import create_contract
    from clausier.participants.actions import CriterionLine, merge_participants, validate_eligibility
    from clausier.reference.models import ContractType, EligibilityCriterion, Modality
    from tests.factories import AwardFactory, UserFactory, acting

    staff = acting(UserFactory(member_of=facilitator))
    participant = person(facilitator, birth_date=D(1998, 6, 15), entry_date=D(2024, 1, 10))
    validate_eligibility(
        participant=participant,
        by=staff,
        assessed_on=D(2024, 1, 10),
        lines=[CriterionLine(ref(EligibilityCriterion, "rsa"), "caf", D(2024, 1, 2))],
    )
    profile = ParticipantProfile.objects.get(participant=participant)
    assert (profile.reference_date, profile.age_band, codes(profile)) == (D(2024, 1, 10), "lt26", ["rsa"])

    award = AwardFactory(lot__market__facilitator=facilitator)
    create_contract(
        facilitator=facilitator,
        participant=participant,
        lot=award.lot,
        company=award.company,
        employer=award.company,
        modality=ref(Modality, "direct_hire"),
        contract_type=ref(ContractType, "cdd"),
        start_date=D(2024, 6, 17),
        by=staff,
    )
    profile.refresh_from_db()
    assert (profile.reference_date, profile.age_band) == (D(2024, 6, 17), "26_49")

    # Merging: the kept record's entry becomes the earliest contract of both.
    duplicate = person(facilitator, birth_date=D(1998, 6, 15))
    hire(duplicate, D(2023, 3, 1), D(2023, 6, 30))
    merge_participants(kept=participant, duplicate=duplicate, by=staff)
    profile.refresh_from_db()
    assert (profile.reference_date, profile.age_band) == (D(2023, 3, 1), "lt26")
    assert codes(profile) == []  # no assessment was valid on 1 March 2023
