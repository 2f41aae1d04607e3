"""`IndicatorFilter`: periods, intersections, and the scoping of each base queryset."""

import datetime

import pytest

from clausier.reporting.filters import IndicatorFilter
from tests.reporting.test_breakdowns import build

pytestmark = pytest.mark.django_db
D = datetime.date


def test_for_year_and_within():
    f = IndicatorFilter.for_year("fac", 2024, buyer_id=3)
    assert (f.start, f.end, f.buyer_id) == (D(2024, 1, 1), D(2024, 12, 31), 3)
    assert f.within(D(2024, 6, 1), D(2025, 6, 30)).start == D(2024, 6, 1)
    assert f.within(D(2024, 6, 1), D(2025, 6, 30)).end == D(2024, 12, 31)
    assert IndicatorFilter("fac").within(D(2025, 1, 1), D(2025, 12, 31)).start == D(2025, 1, 1)
    assert not f.without_period().has_period and f.without_period().buyer_id == 3


def test_describe():
    assert IndicatorFilter("fac").describe() == []
    assert IndicatorFilter("fac", start=D(2024, 1, 1)).describe() == [("Période", "du 01/01/2024 au …")]


@pytest.fixture
def t():
    from tests.factories import FacilitatorFactory

    world = build(FacilitatorFactory())
    build(FacilitatorFactory())
    return world


def test_base_querysets_stay_in_the_tenant(t):
    f = IndicatorFilter(t["fac"])
    assert f.lots().count() == 3  # lots with a clause only
    assert f.contracts().count() == 5
    assert f.hours().count() == 9
    assert f.outcomes().count() == 4


def test_open_ended_contracts_and_partial_months(t):
    # C3 is open-ended: it runs in any later period.
    f = IndicatorFilter(t["fac"], start=D(2030, 1, 1), end=D(2030, 12, 31))
    assert list(f.contracts().values_list("pk", flat=True)) == [t["c3"].pk]
    # A period starting mid-month takes that month's hours.
    f = IndicatorFilter(t["fac"], start=D(2024, 7, 15), end=D(2024, 7, 20))
    assert sorted(f.hours().values_list("counted_hours", flat=True)) == [150]


def test_company_filter_counts_each_lot_once(t):
    from clausier.reporting.breakdowns import figures
    from tests.factories import AwardFactory

    AwardFactory(lot=t["l1"], company=t["k1"], co_contractor=True)  # a second award of K1 on L1
    assert figures(IndicatorFilter(t["fac"], company_id=t["k1"].pk))["planned_hours"] == 800
