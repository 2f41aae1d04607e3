"""The territory's figures, as SQL aggregates.

Definitions (README, glossary):
- donneurs d'ordre: distinct buyers with at least one market carrying a clause (for a year: a market
  whose execution overlaps the year);
- heures: hours counted under the facilitator's rules (`counted_hours`) in validated monthly statements
  (for a year: months of that year);
- contrats: contracts (for a year: contracts running at some point of the year);
- bénéficiaires sans double compte: distinct people holding those contracts, a merged duplicate
  counting as the record it was merged into;
- ETP: hours ÷ the facilitator's hours per full-time equivalent (1,600 by default);
- résidents QPV: those people residing in a QPV at entry (`participants.profiles.QPV_RULE`).
"""

import datetime
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from clausier.employment.models import Contract
from clausier.participants.models import QpvFlag
from clausier.participants.profiles import counts_by
from clausier.procurement.models import Market
from clausier.procurement.progress import validated_hours
from clausier.utils.models import same_tenant

DEFAULT_FTE_HOURS = 1600


@dataclass(frozen=True)
class TerritoryFigures:
    buyers: int
    hours: Decimal
    contracts: int
    participants: int
    fte: Decimal
    qpv_residents: int

    def as_json(self) -> dict:
        data = asdict(self)
        data["hours"] = int(self.hours) if self.hours == self.hours.to_integral_value() else float(self.hours)
        data["fte"] = float(self.fte)
        return data


def fte_hours_of(facilitator) -> int:
    settings = getattr(facilitator, "settings", None)
    try:
        return settings.fte_hours if settings else DEFAULT_FTE_HOURS
    except AttributeError:
        return DEFAULT_FTE_HOURS


def to_fte(hours: Decimal, fte_hours: int) -> Decimal:
    return (Decimal(hours) / Decimal(fte_hours)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def overlapping(year: int, start: str = "start_date", end: str = "end_date") -> Q:
    first, last = year_bounds(year)
    return Q(**{f"{start}__lte": last}) & (Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": first}))


def territory_figures(facilitator, year: int | None = None) -> TerritoryFigures:
    markets = Market.objects.filter(
        same_tenant(facilitator, "lots", "lots__clause"), lots__clause__isnull=False
    )
    contracts = Contract.objects.filter(same_tenant(facilitator, "participant"))
    hours = validated_hours().filter(same_tenant(facilitator, "statement"))
    if year is not None:
        markets = markets.filter(overlapping(year))
        contracts = contracts.filter(overlapping(year))
        hours = hours.filter(month__year=year)

    buyers = markets.aggregate(n=Count("buyer_id", distinct=True))["n"]
    total_hours = hours.aggregate(h=Coalesce(Sum("counted_hours"), Decimal(0)))["h"]
    counts = contracts.aggregate(
        contracts=Count("id"),
        participants=Count(Coalesce("participant__merged_into_id", "participant_id"), distinct=True),
    )
    people = contracts.annotate(person=Coalesce("participant__merged_into_id", "participant_id")).values(
        "person"
    )
    return TerritoryFigures(
        qpv_residents=counts_by(facilitator, "qpv_flag", people)[QpvFlag.INSIDE],
        buyers=buyers,
        hours=Decimal(total_hours),
        contracts=counts["contracts"],
        participants=counts["participants"],
        fte=to_fte(total_hours, fte_hours_of(facilitator)),
    )


def participants_per_year(facilitator, until: int | None = None) -> list[tuple[int, int]]:
    """Distinct people with a contract running in each year, first year to `until` (default: this year).

    One query: a conditional distinct count per year.
    """
    contracts = Contract.objects.filter(facilitator=facilitator)
    first = contracts.order_by("start_date").values_list("start_date", flat=True).first()
    if first is None:
        return []
    until = until or datetime.date.today().year
    person = Coalesce("participant__merged_into_id", "participant_id")
    years = range(first.year, until + 1)
    counts = contracts.aggregate(
        **{f"y{y}": Count(person, distinct=True, filter=overlapping(y)) for y in years}
    )
    return [(y, counts[f"y{y}"]) for y in years]
