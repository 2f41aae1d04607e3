"""Territory figures against a hand-computed fixture.

Facilitator F (other facilitator G has its own data, never counted):

    buyer 1: market M1 (2023-01-01 → 2024-12-31), lot L1 with a clause; market M1b with a clause too
    buyer 2: market M2 (2024-01-01 → 2025-12-31), lot L2 with a clause
    buyer 3: market M3 whose lot has no clause          → not counted
    buyer 4: no market                                   → not counted

    person P: C1 on L1 2023-03-01 → 2023-06-30   2023-03: 100, 2023-04: 150.50
              C2 on L1 2024-01-15 → 2024-03-31   2024-01: 80, 2024-02: 120
              C3 on L2 2024-06-01 → (open)       2024-06: 140, 2024-07..11: 150 × 4 + 108.50 (Dec), 2025-01: 100
    person Q: C4 on L2 2024-09-01 → 2024-12-31   2024-09: 151
              C7 on L2 2025-01-01 → 2025-01-31   (no hours)
    Q's duplicate record (merged into Q): C5 on L2 2025-02-01 → 2025-03-31   2025-02: 70
    person R: C6 on L1 2023-05-01 → 2023-05-31   2023-05: 60

    all years: 2 buyers, 1,680 h, 7 contracts, 3 people (P, Q, R), ETP 1,680 / 1,600 = 1.05 → 1.1
               (1,607 h per ETP: 1.045… → 1.0)
    2023: 1 buyer (M1), 310.50 h, 2 contracts (C1, C6), 2 people (P, R)
    2024: 2 buyers, 1,199.50 h, 3 contracts (C2, C3, C4), 2 people (P, Q)
    2025: 1 buyer (M2), 170 h, 3 contracts (C3, C5, C7), 2 people (P, Q — the duplicate counts as Q)
"""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.organizations.models import Organization
from clausier.reporting.indicators import participants_per_year, territory_figures
from tests.factories import (
    BuyerFactory,
    ClauseFactory,
    ContractFactory,
    FacilitatorFactory,
    FacilitatorSettingsFactory,
    LotFactory,
    MarketFactory,
    ParticipantFactory,
    monthly_hours,
)

pytestmark = pytest.mark.django_db
D = datetime.date


def months(year, values):
    return {D(year, month, 1): hours for month, hours in values}


def build_territory(facilitator):
    buyer1, buyer2, buyer3 = (BuyerFactory(partner_of=facilitator) for _ in range(3))
    BuyerFactory(partner_of=facilitator)  # buyer 4: no market
    m1 = MarketFactory(
        facilitator=facilitator, buyer=buyer1, start_date=D(2023, 1, 1), end_date=D(2024, 12, 31)
    )
    m1b = MarketFactory(
        facilitator=facilitator, buyer=buyer1, start_date=D(2023, 1, 1), end_date=D(2023, 12, 31)
    )
    m2 = MarketFactory(
        facilitator=facilitator, buyer=buyer2, start_date=D(2024, 1, 1), end_date=D(2025, 12, 31)
    )
    m3 = MarketFactory(
        facilitator=facilitator, buyer=buyer3, start_date=D(2023, 1, 1), end_date=D(2025, 12, 31)
    )
    l1 = ClauseFactory(lot__market=m1).lot
    ClauseFactory(lot__market=m1b)
    l2 = ClauseFactory(lot__market=m2).lot
    LotFactory(market=m3)  # no clause

    p = ParticipantFactory(facilitator=facilitator, first_name="Éloïse", last_name="DUPONT-MARTIN")
    q = ParticipantFactory(facilitator=facilitator, first_name="Karim", last_name="Benali")
    q_duplicate = ParticipantFactory(
        facilitator=facilitator,
        first_name="karim",
        last_name="BENALI",
        birth_date=q.birth_date,
        merged_into=q,
    )
    r = ParticipantFactory(facilitator=facilitator, first_name="Rose", last_name="Martin")

    def contract(person, lot, start, end):
        return ContractFactory(participant=person, lot=lot, start_date=start, end_date=end)

    c1 = contract(p, l1, D(2023, 3, 1), D(2023, 6, 30))
    c2 = contract(p, l1, D(2024, 1, 15), D(2024, 3, 31))
    c3 = contract(p, l2, D(2024, 6, 1), None)
    c4 = contract(q, l2, D(2024, 9, 1), D(2024, 12, 31))
    c5 = contract(q_duplicate, l2, D(2025, 2, 1), D(2025, 3, 31))
    c6 = contract(r, l1, D(2023, 5, 1), D(2023, 5, 31))
    contract(q, l2, D(2025, 1, 1), D(2025, 1, 31))  # C7, no hours yet

    monthly_hours(c1, months(2023, [(3, 100), (4, "150.50")]))
    monthly_hours(c2, months(2024, [(1, 80), (2, 120)]))
    monthly_hours(c3, {**months(2024, [(6, 140), (7, 150), (8, 150), (10, 150), (11, 150), (12, "108.50")])})
    monthly_hours(c3, months(2025, [(1, 100)]))
    monthly_hours(c4, months(2024, [(9, 151)]))
    monthly_hours(c5, months(2025, [(2, 70)]))
    monthly_hours(c6, months(2023, [(5, 60)]))


@pytest.fixture
def facilitator():
    fac = FacilitatorFactory(slug="cellule-test")
    build_territory(fac)
    # Another facilitator's activity never leaks into F's figures.
    other = FacilitatorFactory()
    build_territory(other)
    return fac


def test_territory_figures_all_years(facilitator):
    figures = territory_figures(facilitator)
    assert figures.buyers == 2
    assert figures.hours == Decimal("1680")
    assert figures.contracts == 7
    assert figures.participants == 3
    assert figures.fte == Decimal("1.1")


@pytest.mark.parametrize(
    ("year", "buyers", "hours", "contracts", "participants", "fte"),
    [
        (2022, 0, "0", 0, 0, "0.0"),
        (2023, 1, "310.50", 2, 2, "0.2"),
        (2024, 2, "1199.50", 3, 2, "0.7"),
        (2025, 1, "170", 3, 2, "0.1"),
        (2026, 0, "0", 1, 1, "0.0"),  # every market has ended; C3 is open-ended
    ],
)
def test_territory_figures_by_year(facilitator, year, buyers, hours, contracts, participants, fte):
    figures = territory_figures(facilitator, year=year)
    assert (figures.buyers, figures.hours, figures.contracts, figures.participants, figures.fte) == (
        buyers,
        Decimal(hours),
        contracts,
        participants,
        Decimal(fte),
    )


def test_fte_uses_the_facilitator_setting(facilitator):
    assert territory_figures(facilitator).fte == Decimal("1.1")  # 1,680 / 1,600 = 1.05 → 1.1
    FacilitatorSettingsFactory(facilitator=facilitator, fte_hours=1607)
    facilitator = Organization.objects.get(pk=facilitator.pk)
    assert territory_figures(facilitator).fte == Decimal("1.0")  # 1,680 / 1,607 = 1.045… → 1.0


def test_participants_per_year(facilitator):
    assert participants_per_year(facilitator, until=2025) == [(2023, 2), (2024, 2), (2025, 2)]
    assert participants_per_year(facilitator, until=2026) == [(2023, 2), (2024, 2), (2025, 2), (2026, 1)]


def test_participants_per_year_empty():
    assert participants_per_year(FacilitatorFactory(), until=2025) == []


def test_merged_duplicate_counts_once_but_unmerged_would_count_twice(facilitator):
    from clausier.participants.models import Participant

    assert territory_figures(facilitator, year=2025).participants == 2
    Participant.objects.filter(facilitator=facilitator, merged_into__isnull=False).update(merged_into=None)
    assert territory_figures(facilitator, year=2025).participants == 3
    assert territory_figures(facilitator).participants == 4


def run_indicators(*args):
    out = StringIO()
    call_command("indicators", *args, stdout=out)
    return out.getvalue()


def test_indicators_command_json(facilitator):
    data = json.loads(run_indicators("--facilitator", "cellule-test", "--json"))
    assert data == {
        "facilitator": "cellule-test",
        "year": None,
        "buyers": 2,
        "hours": 1680,
        "contracts": 7,
        "participants": 3,
        "fte": 1.1,
        "qpv_residents": 0,
    }
    data = json.loads(run_indicators("--facilitator", "cellule-test", "--year", "2023", "--json"))
    assert data == {
        "facilitator": "cellule-test",
        "year": 2023,
        "buyers": 1,
        "hours": 310.5,
        "contracts": 2,
        "participants": 2,
        "fte": 0.2,
        "qpv_residents": 0,
    }


def test_indicators_command_text_and_unknown_facilitator(facilitator):
    out = run_indicators("--facilitator", "cellule-test")
    assert "Bénéficiaires (sans double compte) : 3" in out
    with pytest.raises(CommandError, match="Aucun facilitateur"):
        run_indicators("--facilitator", "inconnu")


def count_queries(function):
    with CaptureQueriesContext(connection) as ctx:
        function()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("year", [None, 2024])
def test_query_count_does_not_grow_with_data(year):
    facilitator = FacilitatorFactory()
    FacilitatorSettingsFactory(facilitator=facilitator)
    build_territory(facilitator)
    facilitator = Organization.objects.get(pk=facilitator.pk)
    small = count_queries(lambda: territory_figures(facilitator, year=year))
    small_per_year = count_queries(lambda: participants_per_year(facilitator, until=2026))
    for _ in range(3):
        build_territory(facilitator)
    facilitator = Organization.objects.get(pk=facilitator.pk)
    assert count_queries(lambda: territory_figures(facilitator, year=year)) == small
    assert count_queries(lambda: participants_per_year(facilitator, until=2026)) == small_per_year
    assert small <= 5  # buyers, hours, contracts and people, QPV residents (+ the settings)
    assert small_per_year <= 2


def test_only_validated_statements_count_at_their_counted_value(facilitator):
    from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus

    before = territory_figures(facilitator).hours
    record = HoursRecord.objects.filter(facilitator=facilitator, month=D(2025, 2, 1)).get()  # C5: 70 h
    # Counted under a rule at 0.5: the indicator takes the counted value, not the worked one.
    HoursRecord.objects.filter(pk=record.pk).update(counted_hours=Decimal(35))
    assert territory_figures(facilitator).hours == before - 35
    # Its statement sent back for correction: its hours no longer count at all.
    MonthlyStatement.objects.filter(pk=record.statement_id).update(status=StatementStatus.RETURNED)
    assert territory_figures(facilitator).hours == before - 70
