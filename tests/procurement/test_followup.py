import datetime
from decimal import Decimal

from clausier.procurement.followup import Status, add_months, follow_up, months_between

D = Decimal
TODAY = datetime.date(2026, 11, 28)


def months(*pairs):
    return {datetime.date(y, m, 1): D(h) for (y, m), h in pairs}


def test_month_arithmetic():
    assert add_months(datetime.date(2026, 11, 1), 3) == datetime.date(2027, 2, 1)
    assert add_months(datetime.date(2026, 1, 1), -1) == datetime.date(2025, 12, 1)
    assert months_between(datetime.date(2026, 1, 1), datetime.date(2026, 12, 1)) == 12
    assert months_between(datetime.date(2026, 5, 1), datetime.date(2026, 4, 1)) == 0


def test_projection_from_the_last_three_complete_months():
    # Lot 01/2026 → 31/12/2026, target 1 000 h. Aug-Oct: 100, 120, 140 → pace 120 h/month.
    # Realised = 600 (Jan-Jul: 240) + 360 = 600. Months left: Nov and Dec = 2 → 600 + 240 = 840.
    monthly = months(((2026, 3), 240), ((2026, 8), 100), ((2026, 9), 120), ((2026, 10), 140))
    result = follow_up(
        target=D(1000),
        monthly=monthly,
        start=datetime.date(2026, 1, 5),
        end=datetime.date(2026, 12, 31),
        today=TODAY,
    )
    assert result.realised == 600
    assert result.projection == 840
    assert result.status == Status.AT_RISK  # 840 ≥ 700 (70 %) but < 1 000
    assert result.remaining == 400
    assert result.completion == D("60.0")


def test_on_track_late_done_upcoming():
    start, end = datetime.date(2026, 1, 1), datetime.date(2027, 6, 30)
    steady = months(*[((2026, m), 100) for m in range(1, 11)])  # 1 000 h, pace 100
    # 1 000 + 100 × 8 months (Nov 2026 → Jun 2027) = 1 800
    assert (
        follow_up(target=D(1800), monthly=steady, start=start, end=end, today=TODAY).status == Status.ON_TRACK
    )
    assert follow_up(target=D(3000), monthly=steady, start=start, end=end, today=TODAY).status == Status.LATE
    assert follow_up(target=D(900), monthly=steady, start=start, end=end, today=TODAY).status == Status.DONE
    future = follow_up(target=D(900), monthly={}, start=datetime.date(2027, 1, 1), end=end, today=TODAY)
    assert future.status == Status.UPCOMING and future.projection is None


def test_past_end_date_without_target_is_late():
    monthly = months(((2025, 1), 100))
    result = follow_up(
        target=D(200),
        monthly=monthly,
        start=datetime.date(2025, 1, 1),
        end=datetime.date(2025, 6, 30),
        today=TODAY,
    )
    assert result.status == Status.LATE


def test_lot_started_last_month_uses_only_its_months():
    monthly = months(((2026, 10), 50))
    result = follow_up(
        target=D(100),
        monthly=monthly,
        start=datetime.date(2026, 10, 1),
        end=datetime.date(2026, 12, 31),
        today=TODAY,
    )
    # window = 1 month (October) → pace 50; months left Nov, Dec → 50 + 100 = 150
    assert result.projection == 150
    assert result.status == Status.ON_TRACK
