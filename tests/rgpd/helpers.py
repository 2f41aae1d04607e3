"""A world with history for the RGPD tests, and every figure that must not move."""

import datetime

from clausier.participants.actions import merge_participants, update_participant
from clausier.participants.models import Participant
from clausier.participants.profiles import criteria_counts, profile_breakdown, refresh_facilitator_profiles
from clausier.reporting.indicators import participants_per_year, territory_figures
from tests.factories import (
    ContractFactory,
    EligibilityAssessmentFactory,
    OutcomeFactory,
    ParticipantFactory,
    acting,
    build_world,
    monthly_hours,
)

YEARS = range(2019, 2028)


def world_with_history():
    """World A, plus a person last seen in 2021 (two records merged, contract, hours, assessment, outcome)."""
    world = build_world("A")
    fac = world.facilitator
    old = ParticipantFactory(
        facilitator=fac,
        first_name="Rosalie",
        last_name="Vieillecasse",
        birth_name="Ancienom",
        birth_date=datetime.date(1998, 11, 20),
        email="rosalie@example.org",
        phone="0601020304",
        address="3 rue des Archives",
        entry_date=datetime.date(2020, 3, 1),
        referent="Mme Conseillère",
        prescriber=world.prescriber,
    )
    duplicate = ParticipantFactory(
        facilitator=fac,
        first_name="Rosalie",
        last_name="Vieillecaze",
        birth_date=datetime.date(1998, 11, 20),
        entry_date=datetime.date(2020, 3, 1),
    )
    contract = ContractFactory(
        lot=world.lot,
        participant=duplicate,
        company=world.company,
        start_date=datetime.date(2020, 3, 2),
        end_date=datetime.date(2021, 2, 28),
        eligibility_override_reason="Situation connue de Rosalie Vieillecase",
    )
    monthly_hours(contract, {datetime.date(2020, 3, 1): 100, datetime.date(2021, 2, 1): 80})
    EligibilityAssessmentFactory(
        participant=old,
        assessed_on=datetime.date(2020, 2, 15),
        valid_until=datetime.date(2022, 2, 15),
        reason="Avis motivé au sujet de Rosalie Vieillecase",
    )
    OutcomeFactory(contract=contract, detail="CDI chez le cousin de Rosalie Vieillecase")
    admin = acting(world.users["facilitator_admin"])
    update_participant(participant=old, by=admin, last_name="Vieillecase")  # the audit log keeps both names
    merge_participants(kept=old, duplicate=duplicate, by=admin)
    # Their records were last updated in 2021 (an update is a contact).
    Participant.objects.filter(pk__in=[old.pk, duplicate.pk]).update(
        updated_at=datetime.datetime(2021, 1, 15, tzinfo=datetime.UTC)
    )
    # Someone still in a contract (never due).
    world.objects["current"] = ContractFactory(
        lot=world.lot, company=world.company, start_date=datetime.date(2019, 1, 1), end_date=None
    )
    refresh_facilitator_profiles(fac)
    old.refresh_from_db()
    duplicate.refresh_from_db()
    world.objects["old"], world.objects["duplicate"] = old, duplicate
    return world


def every_figure(facilitator) -> dict:
    return {
        "all": territory_figures(facilitator).as_json(),
        **{year: territory_figures(facilitator, year).as_json() for year in YEARS},
        "per_year": participants_per_year(facilitator, until=YEARS[-1]),
        "profiles": profile_breakdown(facilitator),
        "criteria": criteria_counts(facilitator),
    }
