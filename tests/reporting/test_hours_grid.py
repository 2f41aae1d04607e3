"""The dashboard reads the filtered hours once (`HoursGrid`) and sums the total, the years and the breakdowns
from it, and the profiles' bands and communes from one grouped query: the very numbers the separate queries give, under every kind of filter, on the hand-computed territory of `test_breakdowns`."""

import datetime

import pytest

from clausier.participants.profiles import breakdown_and_communes, counts_by, profile_breakdown
from clausier.reporting.breakdowns import (
    HoursGrid,
    figures,
    hours_by_lot_type_modality,
    indicators,
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
