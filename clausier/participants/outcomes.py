"""Outcomes (sorties): the situation at the end of a contract and 6 months later, and the follow-up of those due.

Rules (domain.md §7):
- one outcome per contract and timing (`end`, `6m`), in a reference category with its group (emploi durable,
  emploi de transition, sortie positive, autre) and a free sub-situation (`detail`);
- the observed date is never before the contract's end, nor in the future; a 6-month outcome is observed at
  the earliest 6 months after the end minus `EARLY_TOLERANCE_DAYS` (15 days);
- an end outcome is due on the contract's end date once it has passed; a 6-month outcome is due on the end
  date + 6 months (the same day of the month, or the month's last day) once that date has come.

Written by `record_outcome` (an action: staff of the contract's facilitator only, atomic, audited).
Outcomes are visible to facilitator staff only (the access layer has no partner rule for them).
"""

import calendar
import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import CharField, DateField, Exists, F, Func, OuterRef, QuerySet, Subquery, Value

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.employment.actions import Refused
from clausier.employment.models import Contract
from clausier.organizations.access import current_organization
from clausier.organizations.models import OrganizationKind
from clausier.participants.models import Outcome, Participant
from clausier.utils.locking import check_version

SIX_MONTHS = 6
EARLY_TOLERANCE_DAYS = 15
Timing = Outcome.Timing

__all__ = [
    "AddMonths",
    "DueOutcome",
    "Refused",
    "add_months",
    "check_outcome",
    "due_on",
    "earliest_observation",
    "hydrate",
    "outcomes_due",
    "record_outcome",
]


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or the last day of that month (31 August + 6 months = 28/29 February)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return datetime.date(year, month0 + 1, min(day.day, last_day))


def due_on(contract_end: datetime.date, timing: str) -> datetime.date:
    """When the outcome of `timing` is due for a contract ending on `contract_end`."""
    return contract_end if timing == Timing.END else add_months(contract_end, SIX_MONTHS)


def earliest_observation(contract_end: datetime.date, timing: str) -> datetime.date:
    """The earliest observed date accepted for an outcome of `timing`."""
    if timing == Timing.END:
        return contract_end
    return due_on(contract_end, timing) - datetime.timedelta(days=EARLY_TOLERANCE_DAYS)


def check_outcome(
    contract: Contract, timing: str, observed_on: datetime.date | None, today: datetime.date
) -> list[str]:
    """French problems with recording this outcome (empty when fine)."""
    if timing not in Timing.values:
        return ["Moment de sortie inconnu."]
    if contract.end_date is None:
        return ["Ce contrat n'a pas de date de fin : sa sortie ne peut pas encore être renseignée."]
    if observed_on is None:
        return ["Indiquez la date à laquelle la situation a été constatée."]
    problems = []
    end = contract.end_date
    if observed_on < end:
        problems.append(
            f"La date de constat ({observed_on:%d/%m/%Y}) ne peut pas être antérieure à la fin du contrat "
            f"({end:%d/%m/%Y})."
        )
    elif timing == Timing.SIX_MONTHS and observed_on < earliest_observation(end, timing):
        problems.append(
            f"La situation à 6 mois se constate au plus tôt le {earliest_observation(end, timing):%d/%m/%Y} "
            f"(6 mois après la fin du contrat le {end:%d/%m/%Y}, moins {EARLY_TOLERANCE_DAYS} jours)."
        )
    if observed_on > today:
        problems.append(f"La date de constat ({observed_on:%d/%m/%Y}) ne peut pas être dans le futur.")
    return problems


def _check_staff(contract: Contract, by) -> None:
    org = current_organization(by)
    if org is None or org.kind != OrganizationKind.FACILITATOR or org.pk != contract.facilitator_id:
        raise Refused("Seule l'équipe du facilitateur peut renseigner les sorties de ce contrat.")


def record_outcome(
    *,
    contract: Contract,
    timing: str,
    category,
    observed_on: datetime.date,
    detail: str = "",
    by,
    today: datetime.date | None = None,
    expected_version=None,
) -> Outcome:
    """Record (or correct) the outcome of `contract` at `timing`: one per contract and timing, audited.

    `expected_version`: `version_of` the outcome when the form was read (`ABSENT` when there was none); an
    outcome changed or recorded meanwhile raises `EditConflict` and nothing is written.
    """
    _check_staff(contract, by)
    today = today or datetime.date.today()
    problems = check_outcome(contract, timing, observed_on, today)
    if category is None or not getattr(category, "is_active", False):
        problems.append("Choisissez une situation parmi les catégories de sortie.")
    if problems:
        raise Refused(problems)
    detail = " ".join((detail or "").split())[:255]
    label = Timing(timing).label.lower()
    with transaction.atomic():
        outcome = Outcome.objects.select_for_update().filter(contract=contract, timing=timing).first()
        check_version(outcome, expected_version)
        if outcome is None:
            outcome = Outcome.objects.create(
                facilitator_id=contract.facilitator_id,
                participant_id=contract.participant_id,
                contract=contract,
                timing=timing,
                category=category,
                detail=detail,
                observed_on=observed_on,
            )
            record(
                action=Action.CREATE, obj=outcome, by=by, detail=f"sortie {label} du contrat {contract.uuid}"
            )
            return outcome
        before = snapshot(outcome)
        outcome.category, outcome.detail, outcome.observed_on = category, detail, observed_on
        outcome.participant_id = contract.participant_id
        changes = diff(before, snapshot(outcome))
        if changes:
            outcome.save(update_fields=["category", "detail", "observed_on", "participant", "updated_at"])
            record(
                action=Action.UPDATE,
                obj=outcome,
                by=by,
                changes=changes,
                detail=f"sortie {label} du contrat {contract.uuid} corrigée",
            )
    return outcome


# --- The follow-up: outcomes due ------------------------------------------------------------------------------


class AddMonths(Func):
    """`date + n months` in SQL, clamped to the month's last day like `add_months` (PostgreSQL and SQLite)."""

    output_field = DateField()

    def __init__(self, expression, months: int, **extra):
        self.months = int(months)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL (and any backend with intervals)
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(({sql} + INTERVAL '{self.months} months') AS date)", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        n = self.months
        # Same day n months later (counted from the 1st, so that 31 + 1 month never spills over), capped by
        # the last day of that month.
        same_day = (
            f"date({sql}, 'start of month', '{n:+d} months', "
            f"'+' || (CAST(strftime('%%d', {sql}) AS integer) - 1) || ' days')"
        )
        last_day = f"date({sql}, 'start of month', '{n + 1:+d} months', '-1 day')"
        return f"min({same_day}, {last_day})", [*params, *params, *params]


def last_end_due(today: datetime.date) -> datetime.date:
    """The last contract end whose 6-month outcome is due by `today`: `add_months(end, 6) <= today` exactly.

    `add_months` never decreases, so the contracts due are those ending on or before this day; it is at most
    3 days after `add_months(today, -6)` (31 August + 6 months = 28 February).
    """
    day = add_months(today, -SIX_MONTHS) + datetime.timedelta(days=3)
    while add_months(day, SIX_MONTHS) > today:
        day -= datetime.timedelta(days=1)
    return day


def _missing(timing: str):
    # The facilitator (an outcome's is its contract's) bounds the anti-join to one territory's outcomes: without
    # it PostgreSQL may hash every outcome of the country (230 ms on the national base).
    return ~Exists(
        Outcome.objects.filter(
            facilitator_id=OuterRef("facilitator_id"), contract=OuterRef("pk"), timing=timing
        )
    )


def outcomes_due(contracts: QuerySet, today: datetime.date, timing: str | None = None) -> QuerySet:
    """The outcomes due among `contracts` (already scoped and filtered), one row per contract and timing.

    A values queryset of `pk` (the contract), `due_timing`, `due_on`, `last_name`, `first_name`: the union
    of the contracts ended before `today` without an end outcome and of those whose 6-month date has come
    without a 6-month outcome. Order it by those names; `hydrate` turns a page of it into `DueOutcome`s.
    """
    fields = ("pk", "due_timing", "due_on", "last_name", "first_name")
    # The names (for the sort) by a lookup per row rather than a join: a count then reads the contracts
    # alone, and PostgreSQL cannot pick a hash join over every participant of the country for them.
    names = {
        name: Subquery(Participant.objects.filter(pk=OuterRef("participant_id")).order_by().values(name)[:1])
        for name in ("last_name", "first_name")
    }
    parts = []
    if timing in (None, "", Timing.END):
        parts.append(
            contracts.filter(end_date__lt=today)
            .filter(_missing(Timing.END))
            .annotate(
                due_timing=Value(Timing.END.value, output_field=CharField()),
                due_on=F("end_date"),
                **names,
            )
            .values(*fields)
        )
    if timing in (None, "", Timing.SIX_MONTHS):
        # A plain end date bound the (facilitator, end_date) index serves, and no date arithmetic per row in
        # the WHERE (on SQLite, three date() calls a contract: most of the time of the list).
        parts.append(
            contracts.filter(end_date__lte=last_end_due(today))
            .filter(_missing(Timing.SIX_MONTHS))
            .annotate(
                due_timing=Value(Timing.SIX_MONTHS.value, output_field=CharField()),
                due_on=AddMonths("end_date", SIX_MONTHS),
                **names,
            )
            .values(*fields)
        )
    if not parts:
        return contracts.none().values(*fields)
    queryset = parts[0].order_by()
    if len(parts) > 1:
        queryset = queryset.union(parts[1].order_by(), all=True)
    return queryset


@dataclass(frozen=True)
class DueOutcome:
    contract: Contract
    timing: str
    due_on: datetime.date
    days_late: int

    @property
    def timing_label(self) -> str:
        return Timing(self.timing).label


def hydrate(rows, today: datetime.date) -> list[DueOutcome]:
    """A page of `outcomes_due` rows as `DueOutcome`s with their contracts (one query)."""
    rows = list(rows)
    if not rows:
        return []
    contracts = Contract.objects.select_related(
        "participant", "employer", "company", "contract_type", "lot__market__buyer"
    ).in_bulk([row["pk"] for row in rows])
    result = []
    for row in rows:
        day = row["due_on"]
        if isinstance(day, str):  # a raw SQL date on a backend without converters
            day = datetime.date.fromisoformat(day)
        result.append(DueOutcome(contracts[row["pk"]], row["due_timing"], day, max(0, (today - day).days)))
    return result
