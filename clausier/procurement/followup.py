"""Lot follow-up: where a clause stands, where it is heading, and a status with a written rule.

Pure functions over a monthly series, so that the lot page, the dashboard and `clausier lot-status`
say the same thing. Months are first days of months.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

PACE_MONTHS = 3  # the "recent pace" is the mean of the last three complete months
LATE_RATIO = Decimal("0.7")  # projected below 70 % of the target at the end date → late


class Status(StrEnum):
    UPCOMING = "upcoming"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    LATE = "late"
    DONE = "done"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.UPCOMING: "À venir",
    Status.ON_TRACK: "En bonne voie",
    Status.AT_RISK: "À risque",
    Status.LATE: "En retard",
    Status.DONE: "Réalisé",
}

STATUS_RULE = (
    "Réalisé : les heures réalisées atteignent l'objectif. "
    "À venir : le lot n'a pas commencé. "
    f"Sinon, la projection prolonge le rythme des {PACE_MONTHS} derniers mois complets jusqu'à la fin du lot : "
    "en bonne voie si elle atteint l'objectif, "
    f"à risque si elle en atteint au moins {int(LATE_RATIO * 100)} %, "
    f"en retard en dessous de {int(LATE_RATIO * 100)} % ou si la fin du lot est passée sans que l'objectif soit atteint."
)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_between(first: datetime.date, last: datetime.date) -> int:
    """Number of months from `first` to `last` inclusive (0 if last < first)."""
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


@dataclass(frozen=True)
class FollowUp:
    target: Decimal
    realised: Decimal
    projection: Decimal | None
    status: Status

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.target - self.realised)

    @property
    def completion(self) -> Decimal | None:
        """Realised ÷ target, in percent with one decimal (None without a target)."""
        if not self.target:
            return None
        return (self.realised * 100 / self.target).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def follow_up(
    *,
    target: Decimal,
    monthly: dict[datetime.date, Decimal],
    start: datetime.date | None,
    end: datetime.date | None,
    today: datetime.date,
) -> FollowUp:
    target = Decimal(target)
    realised = sum(monthly.values(), Decimal(0))
    current = month_start(today)
    if target and realised >= target:
        return FollowUp(target, realised, realised, Status.DONE)
    if start is None or month_start(start) >= current:
        return FollowUp(target, realised, None, Status.UPCOMING)
    # Pace: mean of the last complete months since the lot started (up to PACE_MONTHS).
    last_complete = add_months(current, -1)
    window = min(PACE_MONTHS, months_between(month_start(start), last_complete))
    recent = [add_months(last_complete, -i) for i in range(window)]
    pace = sum((monthly.get(m, Decimal(0)) for m in recent), Decimal(0)) / window if window else Decimal(0)
    end_month = month_start(end) if end else last_complete
    months_left = months_between(current, end_month)
    projection = (realised + pace * months_left).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    if end and end < today:
        status = Status.LATE
    elif projection >= target:
        status = Status.ON_TRACK
    elif projection >= target * LATE_RATIO:
        status = Status.AT_RISK
    else:
        status = Status.LATE
    return FollowUp(target, realised, projection, status)
