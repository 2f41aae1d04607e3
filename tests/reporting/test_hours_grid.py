"""The dashboard reads the filtered hours once (`HoursGrid`), the filtered contracts once (`ContractRows`) and
the profiles' bands and communes in one grouped query, and sums or counts every figure from them: the very
numbers the separate aggregates give, under every kind of filter, on the hand-computed territory of
`test_breakdowns`."""

import datetime

import pytest

from clausier.participants.profiles import (
    breakdown_and_communes,
    counts_among,
    counts_by,
    criteria_counts,
    profile_breakdown,
)
from clausier.reporting.breakdowns import (
    ContractRows,
    HoursGrid,
    by_dimension,
    figures,
    hours_by_lot_type_modality,
    indicators,
    months,
    people,
    years,
)
from clausier.reporting.filters import IndicatorFilter
from tests.factories import FacilitatorFactory
from tests.reporting.test_breakdowns import TODAY, build

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def world():
    world = build(FacilitatorFactory(slug="cellule-grille"))
    build(FacilitatorFactory())  # another tenant: never counted
    return world


def filters(w):
    fac = w["fac"]
    return [
        IndicatorFilter(fac),
        IndicatorFilter.for_year(fac, 2024),
        IndicatorFilter(fac, start=D(2023, 4, 15), end=D(2025, 1, 31)),
        IndicatorFilter(fac, buyer_id=w["b2"].pk),
        IndicatorFilter(fac, company_id=w["k1"].pk, start=D(2024, 1, 1)),
    ]


def test_the_grid_gives_what_each_query_gives(world):
    for f in filters(world):
        grid = HoursGrid(f)
        assert figures(f, grid) == figures(f)
        assert sorted(grid.by_lot_type_modality()) == sorted(hours_by_lot_type_modality(f))
        assert years(f, today=TODAY, grid=grid) == years(f, today=TODAY)


def test_the_grid_on_the_hand_computed_figures(world):
    grid = HoursGrid(IndicatorFilter(world["fac"]))
    assert grid.total == 970
    assert grid.by_year() == {2023: 310, 2024: 490, 2025: 170}
    assert indicators(IndicatorFilter(world["fac"]), today=TODAY).hours == 970


def test_bands_and_communes_in_one_query(world):
    for f in filters(world):
        who = people(f)
        assert breakdown_and_communes(f.facilitator, who) == (
            profile_breakdown(f.facilitator, who),
            counts_by(f.facilitator, "commune", who),
        )
    breakdown, communes = breakdown_and_communes(world["fac"])
    assert breakdown["total"] == {"total": 3} and breakdown["sex"] == {"F": 2, "M": 1}
    assert sorted(communes.values()) == [1, 2]


def test_the_contract_rows_count_what_each_aggregate_counts(world):
    for f in filters(world):
        rows, grid = ContractRows.of(f), HoursGrid(f)
        hours_rows = grid.by_lot_type_modality()
        assert figures(f, grid, rows) == figures(f)
        for dimension, position in (("contract_type", 1), ("modality", 2)):
            assert by_dimension(f, dimension, hours_rows, position, rows) == by_dimension(
                f, dimension, hours_rows, position
            )
        assert years(f, today=TODAY, grid=grid, contract_rows=rows) == years(f, today=TODAY)
        for year in (2022, 2023, 2024, 2025, 2026):
            assert months(f, year, contract_rows=rows) == months(f, year)


def test_the_contract_rows_on_the_hand_computed_figures(world):
    rows = ContractRows.of(IndicatorFilter(world["fac"]))
    # 5 contracts, 3 people (Q's duplicate counts as Q), companies K1 and K2, the one structure S.
    assert rows.headline() == {"contracts": 5, "participants": 3, "companies": 2, "structures": 1}
    assert rows.first_start == D(2023, 3, 1)
    assert rows.running(D(2024, 1, 1), D(2024, 12, 31)) == (2, 2)  # C2 and C3, P and Q
    assert rows.running(D(2025, 2, 1), D(2025, 2, 28)) == (2, 1)  # C3 and C4, both Q
    assert rows.running(D(2030, 1, 1), None) == (1, 1)  # C3 has no end


def test_the_profiles_counted_among_the_people_of_the_contracts(world):
    for f in filters(world):
        who, among = people(f), ContractRows.of(f).people
        assert counts_among(f.facilitator, among) == (
            profile_breakdown(f.facilitator, who),
            counts_by(f.facilitator, "commune", who),
            criteria_counts(f.facilitator, who),
        )
    # P (deld, qpv_resident), Q (deld, young_unqualified), R (senior_50, rsa): every person once.
    criteria = counts_among(world["fac"], ContractRows.of(IndicatorFilter(world["fac"])).people)[2]
    assert criteria == {"deld": 2, "qpv_resident": 1, "rsa": 1, "senior_50": 1, "young_unqualified": 1}
