"""Every indicator of domain.md §7 under one `IndicatorFilter`, as SQL aggregates.

`indicators(filter)` answers in a constant number of queries (about twenty), whatever the amount of data:
each figure or breakdown is one aggregate (conditional counts for the years and months).

Definitions (written in the bilans' "Méthode et définitions"):
- heures prévues: sum of the hours targets of the clauses of the filtered lots;
- heures réalisées: hours counted under the facilitator's rules (`counted_hours`) in validated monthly
  statements; taux de réalisation = réalisées ÷ prévues;
- ETP = heures réalisées ÷ the facilitator's hours per full-time equivalent (1,600 by default);
- participants (bénéficiaires sans double compte): distinct people holding the filtered contracts,
  a merged duplicate counting as the record it was merged into;
- entreprises: distinct companies whose obligation the contracts fulfil (one SIRET each);
- structures d'insertion: distinct insertion structures employing the contracts' participants;
- donneurs d'ordre, marchés: distinct buyers and markets of the lots with a clause;
- profils à l'entrée: the people's profiles (sex, age band, qualification, criteria, QPV, commune);
- sorties: outcomes of the filtered contracts, at the end and at 6 months, by family; sorties dynamiques =
  emploi durable + emploi de transition + sortie positive.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear

from clausier.employment.models import Contract
from clausier.organizations.models import OrganizationKind
from clausier.participants.models import Outcome
from clausier.participants.profiles import breakdown_and_communes, counts_among, criteria_counts
from clausier.procurement.models import Award
from clausier.reporting.filters import IndicatorFilter
from clausier.reporting.indicators import fte_hours_of, overlapping, to_fte, year_bounds

PERSON = Coalesce("participant__merged_into_id", "participant_id")
OUTCOME_GROUPS = ("durable", "transition", "positive", "other")
DYNAMIC_GROUPS = ("durable", "transition", "positive")
ZERO = Decimal(0)


@dataclass
class YearRow:
    year: int
    participants: int
    contracts: int
    hours: Decimal


@dataclass
class MonthRow:
    month: datetime.date
    participants: int
    contracts: int
    hours: Decimal


@dataclass
class Indicators:
    planned_hours: Decimal
    hours: Decimal
    fte: Decimal
    fte_hours: int
    contracts: int
    participants: int
    companies: int
    structures: int
    buyers: int
    markets: int
    lots: int
    by_contract_type: list[dict] = field(default_factory=list)  # code, label, contracts, participants, hours
    by_modality: list[dict] = field(default_factory=list)
    by_buyer: list[dict] = field(default_factory=list)  # name, planned, hours
    profiles: dict = field(default_factory=dict)  # profile_breakdown(): {dimension: {band: n}}
    criteria: dict = field(default_factory=dict)  # {criterion code: n}
    communes: list[dict] = field(default_factory=list)  # insee, name, n
    outcomes: dict = field(default_factory=dict)  # {"end"|"6m": {group: n, "dynamic": n, "total": n}}
    years: list[YearRow] = field(default_factory=list)
    months: list[MonthRow] = field(default_factory=list)
    months_year: int | None = None

    @property
    def completion(self) -> Decimal | None:
        """Realised ÷ planned (None when nothing is planned)."""
        if not self.planned_hours:
            return None
        return self.hours / self.planned_hours

    @property
    def first_year(self) -> int | None:
        return self.years[0].year if self.years else None

    @property
    def qpv_residents(self) -> int:
        """People residing in a QPV at entry, by `profiles.QPV_RULE` (0 when profiles were not asked for)."""
        return self.profiles.get("qpv_flag", {}).get("inside", 0)


def _lots(f: IndicatorFilter):
    lots = f.lots()
    if f.company_id is not None:
        # The company's awards join lots once per award: count each lot once.
        lots = lots.model.objects.filter(pk__in=lots.values("pk"))
    return lots


def figures(
    f: IndicatorFilter, grid: "HoursGrid | None" = None, contract_rows: "ContractRows | None" = None
) -> dict:
    """The headline figures: four queries (fewer with the hours in `grid`, the contracts in `contract_rows`)."""
    lots = _lots(f).aggregate(
        planned=Coalesce(Sum("clause__hours_target"), ZERO),
        lots=Count("pk"),
        markets=Count("market_id", distinct=True),
        buyers=Count("market__buyer_id", distinct=True),
    )
    if grid is not None:
        hours = grid.total
    else:
        hours = f.hours().aggregate(h=Coalesce(Sum("counted_hours"), ZERO))["h"]
    if contract_rows is not None:
        contracts = contract_rows.headline()
    else:
        contracts = f.contracts().aggregate(
            contracts=Count("pk"),
            participants=Count(PERSON, distinct=True),
            companies=Count("company_id", distinct=True),
            structures=Count(
                "employer_id", distinct=True, filter=Q(employer__kind=OrganizationKind.INSERTION_STRUCTURE)
            ),
        )
    fte_hours = fte_hours_of(f.facilitator)
    return {
        "planned_hours": Decimal(lots["planned"]),
        "hours": Decimal(hours),
        "fte": to_fte(hours, fte_hours),
        "fte_hours": fte_hours,
        "lots": lots["lots"],
        "markets": lots["markets"],
        "buyers": lots["buyers"],
        **contracts,
    }


class HoursGrid:
    """The filtered realised hours by (lot, contract type, modality, year), read in one query: the total, the
    years and the breakdowns by type, modality and buyer are sums of it, where each was a scan of the
    territory's hours records joined to their statements (about 3,000 rows for a territory of Toulouse's
    size, against 15,700 records; by month it would be 14,000 rows, more Python than the scans it saves)."""

    def __init__(self, f: IndicatorFilter):
        self.rows: list[tuple[int, int, int, int, Decimal]] = list(
            f.hours(through=("contract",))
            .annotate(y=ExtractYear("month"))
            .values_list("contract__lot_id", "contract__contract_type_id", "contract__modality_id", "y")
            .annotate(h=Sum("counted_hours"))
            .order_by()
        )

    @property
    def total(self) -> Decimal:
        return sum((row[4] for row in self.rows), ZERO)

    def by_lot_type_modality(self) -> list[tuple[int, int, int, Decimal]]:
        sums: dict[tuple[int, int, int], Decimal] = {}
        for lot, contract_type, modality, _year, hours in self.rows:
            key = (lot, contract_type, modality)
            sums[key] = sums.get(key, ZERO) + hours
        return [(*key, hours) for key, hours in sums.items()]

    def by_year(self) -> dict[int, Decimal]:
        sums: dict[int, Decimal] = {}
        for *_, year, hours in self.rows:
            sums[year] = sums.get(year, ZERO) + hours
        return sums


class ContractRows:
    """The filtered contracts, one row each (a territory has a few thousand): the headline counts, the counts by
    contract type and modality, by year and by month are counted from them in Python, where each was a SQL
    aggregate over the same contracts — thirty `COUNT(DISTINCT …) FILTER` for the years and months alone, each
    a sort of the territory's contracts. Same rules: a contract counts in a period it overlaps (open end: still
    running), a person once (a merged duplicate as the record it was merged into)."""

    DIMENSIONS = {"contract_type": 6, "modality": 7}  # their positions in a row

    def __init__(self, rows: list[tuple]):
        self.rows = rows

    @classmethod
    def of(cls, f: IndicatorFilter) -> "ContractRows":
        return cls(
            list(
                f.contracts()
                .annotate(person=PERSON)
                .values_list(
                    "person",
                    "start_date",
                    "end_date",
                    "company_id",
                    "employer_id",
                    "employer__kind",
                    "contract_type_id",
                    "modality_id",
                )
                .order_by()
            )
        )

    def headline(self) -> dict:
        return {
            "contracts": len(self.rows),
            "participants": len(self.people),
            "companies": len({row[3] for row in self.rows if row[3] is not None}),
            "structures": len(
                {row[4] for row in self.rows if row[5] == OrganizationKind.INSERTION_STRUCTURE}
            ),
        }

    @property
    def people(self) -> set[int]:
        """The people (kept records) holding the contracts."""
        return {row[0] for row in self.rows}

    @property
    def first_start(self) -> datetime.date | None:
        return min((row[1] for row in self.rows), default=None)

    def overlapping(self, first: datetime.date | None, last: datetime.date | None) -> "ContractRows":
        """The contracts running at some point of [first, last] (None: unbounded), as `period_q` says."""
        return ContractRows(
            [
                row
                for row in self.rows
                if (last is None or row[1] <= last) and (first is None or row[2] is None or row[2] >= first)
            ]
        )

    def running(self, first: datetime.date | None, last: datetime.date | None) -> tuple[int, int]:
        """(contracts, people) of the contracts running at some point of [first, last]."""
        rows = self.overlapping(first, last).rows
        return len(rows), len({row[0] for row in rows})

    def by(self, position: int) -> dict[int, tuple[int, int]]:
        """{dimension id: (contracts, people)} for the dimension at `position` (`DIMENSIONS`)."""
        contracts: dict[int, int] = {}
        people: dict[int, set] = {}
        for row in self.rows:
            contracts[row[position]] = contracts.get(row[position], 0) + 1
            people.setdefault(row[position], set()).add(row[0])
        return {key: (n, len(people[key])) for key, n in contracts.items()}


def hours_by_lot_type_modality(f: IndicatorFilter) -> list[tuple[int, int, int, Decimal]]:
    """Realised hours by (lot, contract type, modality): one query joining contracts only, the breakdowns
    by type, modality and buyer are summed from it (a few thousand rows for a whole territory)."""
    return list(
        f.hours(through=("contract",))
        .values_list("contract__lot_id", "contract__contract_type_id", "contract__modality_id")
        .annotate(h=Sum("counted_hours"))
        .order_by()
    )


def by_dimension(
    f: IndicatorFilter,
    dimension: str,
    hours_rows: list,
    position: int,
    contract_rows: "ContractRows | None" = None,
) -> list[dict]:
    """Contracts, people and realised hours by a contract dimension ("contract_type" or "modality"), ordered by
    label: one query, plus `hours_rows` (with `contract_rows`, a query of the few reference rows only)."""
    if contract_rows is not None:
        counts = contract_rows.by(ContractRows.DIMENSIONS[dimension])
        model = Contract._meta.get_field(dimension).related_model
        references = (
            model.objects.filter(pk__in=counts).order_by("label").values_list("pk", "code", "label")
            if counts
            else []
        )
        rows = {
            pk: {
                "code": code,
                "label": label,
                "contracts": counts[pk][0],
                "participants": counts[pk][1],
                "hours": ZERO,
            }
            for pk, code, label in references
        }
    else:
        rows = {
            row[f"{dimension}_id"]: {
                "code": row[f"{dimension}__code"],
                "label": row[f"{dimension}__label"],
                "contracts": row["contracts"],
                "participants": row["participants"],
                "hours": ZERO,
            }
            for row in f.contracts()
            .values(f"{dimension}_id", f"{dimension}__code", f"{dimension}__label")
            .annotate(contracts=Count("pk"), participants=Count(PERSON, distinct=True))
            .order_by(f"{dimension}__label")
        }
    for row in hours_rows:
        if row[position] in rows:
            rows[row[position]]["hours"] += row[3]
    return list(rows.values())


def by_buyer(f: IndicatorFilter, hours_rows: list) -> list[dict]:
    """Planned and realised hours per buyer, largest planned first (one or two queries)."""
    from clausier.procurement.models import Lot

    lots = {
        pk: (buyer_id, name, planned or ZERO)
        for pk, buyer_id, name, planned in _lots(f).values_list(
            "pk", "market__buyer_id", "market__buyer__name", "clause__hours_target"
        )
    }
    missing = {row[0] for row in hours_rows} - lots.keys()
    if missing:  # hours on lots outside the filtered set (e.g. a company's contracts on another's lot)
        lots.update(
            (pk, (buyer_id, name, None))
            for pk, buyer_id, name in Lot.objects.filter(pk__in=missing).values_list(
                "pk", "market__buyer_id", "market__buyer__name"
            )
        )
    rows: dict = {}
    for buyer_id, name, planned in lots.values():
        entry = rows.setdefault(buyer_id, {"name": name, "planned": ZERO, "hours": ZERO})
        entry["planned"] += planned or ZERO
    for lot_id, _, _, hours in hours_rows:
        rows[lots[lot_id][0]]["hours"] += hours
    return sorted(rows.values(), key=lambda r: (-r["planned"], -r["hours"], r["name"]))


def outcomes(f: IndicatorFilter) -> dict:
    """Outcomes of the filtered contracts by timing and family (one query)."""
    result = {
        timing: dict.fromkeys((*OUTCOME_GROUPS, "dynamic", "total"), 0) for timing in Outcome.Timing.values
    }
    for row in f.outcomes().values("timing", "category__group").annotate(n=Count("pk")).order_by():
        counts = result[row["timing"]]
        counts[row["category__group"]] = row["n"]
        counts["total"] += row["n"]
        if row["category__group"] in DYNAMIC_GROUPS:
            counts["dynamic"] += row["n"]
    return result


def people(f: IndicatorFilter):
    """The people (kept records) holding the filtered contracts, as a subquery."""
    return f.contracts().annotate(person=PERSON).values("person")


def profiles(
    f: IndicatorFilter, contract_rows: "ContractRows | None" = None
) -> tuple[dict, dict, list[dict]]:
    """Profiles at entry of the people: bands and communes, criteria (two queries, and the communes' names;
    with `contract_rows`, the territory's profiles and criteria lines kept for its people in Python)."""
    from clausier.geo.models import Commune

    if contract_rows is not None:
        breakdown, by_commune, criteria = counts_among(f.facilitator, contract_rows.people)
    else:
        who = people(f)
        breakdown, by_commune = breakdown_and_communes(f.facilitator, who)
        criteria = criteria_counts(f.facilitator, who)
    names = dict(
        Commune.objects.filter(insee_code__in=[c for c in by_commune if c]).values_list("insee_code", "name")
    )
    communes = sorted(
        (
            {"insee": code, "name": names.get(code, "Inconnue") if code else "Inconnue", "n": n}
            for code, n in by_commune.items()
        ),
        key=lambda r: (-r["n"], r["name"]),
    )
    return breakdown, criteria, communes


def years(
    f: IndicatorFilter,
    *,
    today: datetime.date | None = None,
    grid: HoursGrid | None = None,
    contract_rows: ContractRows | None = None,
) -> list[YearRow]:
    """Participants, contracts and hours per year, from the first year with a contract (three queries; none
    with the hours in `grid` and the contracts in `contract_rows`)."""
    today = today or datetime.date.today()
    contracts = f.contracts()
    if contract_rows is not None:
        first = contract_rows.first_start
    else:
        first = contracts.aggregate(first=Min("start_date"))["first"]
    if first is None:
        return []
    first_year = max(first.year, f.start.year) if f.start else first.year
    last_year = f.end.year if f.end else max(today.year, first_year)
    span = range(first_year, last_year + 1)
    if contract_rows is not None:
        counts = {}
        for y in span:
            counts[f"c{y}"], counts[f"p{y}"] = contract_rows.running(*year_bounds(y))
    else:
        counts = contracts.aggregate(
            **{f"c{y}": Count("pk", filter=overlapping(y)) for y in span},
            **{f"p{y}": Count(PERSON, distinct=True, filter=overlapping(y)) for y in span},
        )
    if grid is not None:
        hours = grid.by_year()
    else:
        hours = dict(
            f.hours()
            .annotate(y=ExtractYear("month"))
            .values("y")
            .annotate(h=Sum("counted_hours"))
            .values_list("y", "h")
            .order_by()
        )
    return [YearRow(y, counts[f"p{y}"], counts[f"c{y}"], hours.get(y, ZERO)) for y in span]


def months(f: IndicatorFilter, year: int, *, contract_rows: ContractRows | None = None) -> list[MonthRow]:
    """The twelve months of `year` (two queries; one with the filter's contracts in `contract_rows`)."""
    scoped = f.within(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    firsts = [datetime.date(year, m, 1) for m in range(1, 13)]
    lasts = [*(d - datetime.timedelta(days=1) for d in firsts[1:]), datetime.date(year, 12, 31)]

    def running(first, last):
        return Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gte=first))

    if contract_rows is not None:
        # The contracts of the year's part of the period (`scoped`), running in each month.
        inside = contract_rows.overlapping(scoped.start, scoped.end)
        counts = {}
        for i, (a, b) in enumerate(zip(firsts, lasts, strict=True)):
            counts[f"c{i}"], counts[f"p{i}"] = inside.running(a, b)
    else:
        counts = scoped.contracts().aggregate(
            **{
                f"c{i}": Count("pk", filter=running(a, b))
                for i, (a, b) in enumerate(zip(firsts, lasts, strict=True))
            },
            **{
                f"p{i}": Count(PERSON, distinct=True, filter=running(a, b))
                for i, (a, b) in enumerate(zip(firsts, lasts, strict=True))
            },
        )
    hours = dict(
        scoped.hours()
        .annotate(m=ExtractMonth("month"))
        .values("m")
        .annotate(h=Sum("counted_hours"))
        .values_list("m", "h")
        .order_by()
    )
    return [
        MonthRow(d, counts[f"p{i}"], counts[f"c{i}"], hours.get(i + 1, ZERO)) for i, d in enumerate(firsts)
    ]


def indicators(
    f: IndicatorFilter, *, today: datetime.date | None = None, with_months: bool = True
) -> Indicators:
    today = today or datetime.date.today()
    grid, contract_rows = HoursGrid(f), ContractRows.of(f)
    breakdown, criteria, communes = profiles(f, contract_rows)
    hours_rows = grid.by_lot_type_modality()
    result = Indicators(
        **figures(f, grid, contract_rows),
        by_contract_type=by_dimension(f, "contract_type", hours_rows, 1, contract_rows),
        by_modality=by_dimension(f, "modality", hours_rows, 2, contract_rows),
        by_buyer=by_buyer(f, hours_rows),
        profiles=breakdown,
        criteria=criteria,
        communes=communes,
        outcomes=outcomes(f),
        years=years(f, today=today, grid=grid, contract_rows=contract_rows),
    )
    if with_months:
        year = min(today.year, f.end.year) if f.end else today.year
        if f.start and f.start.year > year:
            year = f.start.year
        result.months_year = year
        result.months = months(f, year, contract_rows=contract_rows)
    return result


def awarded_companies(f: IndicatorFilter) -> int:
    """Distinct companies awarded the filtered lots (holder, co-contractor or subcontractor)."""
    return Award.objects.filter(lot__in=_lots(f).values("pk")).aggregate(
        n=Count("company_id", distinct=True)
    )["n"]
