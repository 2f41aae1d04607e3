"""Realised hours per lot, month by month, with globalisation pools — in a constant number of queries.

Only hours of validated statements count (`counted_hours`, the value under the facilitator's rules).
Two queries (the hours, then the pools' lots and terms); with pools, at most two more (the pools' lots outside
the ones asked for, then their hours), whatever the number of lots and agreements.

Pooling rule (written on the lot page): within a convention de globalisation, the hours a lot has done
beyond its own target are credited to the pool's other lots that are short of theirs, earliest end date first,
taken from the lots ahead of their target in the same order. Only the agreement company's hours of months
inside the agreement's period may leave a lot; the lot's other hours stay and cover its own target first.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Exists, F, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from clausier.employment.models import HoursRecord, StatementStatus
from clausier.procurement.followup import FollowUp, follow_up, month_start
from clausier.procurement.models import Award, GlobalisationAgreement, Lot
from clausier.utils.models import same_tenant

POOLING_RULE = (
    "Dans une convention de globalisation, les heures réalisées sur un lot au-delà de son objectif sont "
    "reportées sur les autres lots de la convention qui n'ont pas atteint le leur, en commençant par ceux "
    "dont la fin est la plus proche. Seules peuvent être reportées les heures réalisées pour l'entreprise "
    "de la convention sur un lot qui lui est attribué (par ses salariés, ou par une structure d'insertion "
    "en mise à disposition ou en sous-traitance pour elle) pendant les mois de la période de la convention "
    "(mois de début et de fin compris) ; les autres heures restent sur leur lot et couvrent d'abord son "
    "propre objectif."
)

ZERO = Decimal(0)


def validated_hours():
    return HoursRecord.objects.filter(statement__status=StatementStatus.VALIDATED)


@dataclass
class PoolCredit:
    """Hours credited to a lot from another lot of a globalisation agreement."""

    agreement_id: int
    lot: object  # the lot the hours came from (with `market` selected)
    hours: Decimal


@dataclass
class LotProgress:
    lot: object
    own: Decimal
    from_pool: Decimal
    monthly: dict = field(default_factory=dict)
    followup: FollowUp | None = None
    pools: list = field(default_factory=list)
    # Validated hours by (company whose obligation they fulfil, month): what a pool may take from the lot.
    by_company_month: dict = field(default_factory=dict, repr=False)
    pooled_from: list[PoolCredit] = field(default_factory=list)  # where `from_pool` came from
    given: Decimal = ZERO  # hours of this lot credited to other lots of its pools

    @property
    def target(self) -> Decimal:
        clause = _clause_of(self.lot)
        return clause.hours_target if clause else ZERO


def _clause_of(lot):
    try:
        return lot.clause
    except type(lot).clause.RelatedObjectDoesNotExist:
        return None


def _progress_of(lots) -> dict[int, LotProgress]:
    """Own validated hours of `lots`, in one query."""
    by_lot = defaultdict(dict)
    hours = validated_hours().filter(contract__lot_id__in=[lot.pk for lot in lots])
    tenants = {lot.facilitator_id for lot in lots}
    if len(tenants) == 1:  # the usual case: keep every joined table on its facilitator index
        hours = hours.filter(same_tenant(tenants.pop(), "statement", "contract"))
    for row in (
        hours.values("contract__lot_id", "contract__company_id", "month")
        .annotate(h=Sum("counted_hours"))
        .order_by()
    ):
        by_lot[row["contract__lot_id"]][row["contract__company_id"], row["month"]] = row["h"]
    result = {}
    for lot in lots:
        hours = by_lot[lot.pk]
        monthly = defaultdict(lambda: ZERO)
        for (_company, month), h in hours.items():
            monthly[month] += h
        result[lot.pk] = LotProgress(
            lot=lot,
            own=sum(hours.values(), ZERO),
            from_pool=ZERO,
            monthly=dict(monthly),
            by_company_month=hours,
        )
    return result


def lots_progress(lots, *, today: datetime.date) -> dict[int, LotProgress]:
    """Progress of every lot of `lots` (a list or queryset with `clause` and `market` selected)."""
    lots = list(lots)
    result = _progress_of(lots)
    _apply_pools(result, [lot.pk for lot in lots])
    for progress in result.values():
        lot = progress.lot
        credited = dict(progress.monthly)
        if progress.from_pool:
            # Pool credit is not a month's work: it raises the realised total, not the pace.
            credited[datetime.date.min] = progress.from_pool
        progress.followup = follow_up(
            target=progress.target,
            monthly=credited,
            start=lot.start_date or lot.market.start_date,
            end=lot.end_date or lot.market.end_date,
            today=today,
        )
    return result


def _end_order(p: LotProgress):
    return (p.lot.end_date or p.lot.market.end_date or datetime.date.max, p.lot.pk)


def _apply_pools(result: dict, ids: list[int]) -> None:
    """Credit pool surpluses to the lots of `result` (lots of the pools outside `result` give too)."""
    through = GlobalisationAgreement.lots.through
    agreements = through.objects.filter(lot_id__in=ids).values("globalisationagreement_id")
    # On the agreement's tenant too: else PostgreSQL runs this EXISTS as one hashed scan of every tenant's
    # awards (measured with 119 territories: 66 ms → 0.4 ms for the dashboard's lots at risk).
    awarded = Award.objects.filter(
        lot_id=OuterRef("lot_id"),
        company_id=OuterRef("globalisationagreement__company_id"),
        facilitator_id=OuterRef("globalisationagreement__facilitator_id"),
    )
    members, terms = defaultdict(list), {}
    for agreement_id, lot_id, company_id, start, end, is_awarded in (
        through.objects.filter(globalisationagreement_id__in=agreements)
        .annotate(awarded=Exists(awarded))
        .values_list(
            "globalisationagreement_id",
            "lot_id",
            "globalisationagreement__company_id",
            "globalisationagreement__start_date",
            "globalisationagreement__end_date",
            "awarded",
        )
        .order_by("globalisationagreement_id", "lot_id")
    ):
        members[agreement_id].append((lot_id, is_awarded))
        terms[agreement_id] = (company_id, month_start(start) if start else None, end)
    if not members:
        return
    everyone = dict(result)
    outside = {lot_id for lots in members.values() for lot_id, _ in lots} - everyone.keys()
    if outside:
        everyone.update(
            _progress_of(list(Lot.objects.filter(pk__in=outside).select_related("clause", "market")))
        )
    # What each lot still has to give, by (company, month): an agreement takes hours only once.
    left = {lot_id: dict(p.by_company_month) for lot_id, p in everyone.items()}
    for agreement_id in sorted(members):
        company_id, first, last = terms[agreement_id]
        awarded_lots = {lot_id for lot_id, is_awarded in members[agreement_id] if is_awarded}
        pool = sorted((everyone[lot_id] for lot_id, _ in members[agreement_id]), key=_end_order)
        givable = {}  # lot id → (hours it may give, the (company, month) keys they are taken from)
        for p in pool:
            # Company's hours: Contract.company is it (employee, or SIAE placing for it), lot awarded to it.
            mine = p.lot.pk in awarded_lots
            keys = sorted(
                (
                    key
                    for key in left[p.lot.pk]
                    if mine and key[0] == company_id and _within(key[1], first, last)
                ),
                key=lambda key: key[1],
            )
            surplus = p.own - p.target - p.given
            givable[p.lot.pk] = (min(surplus, sum((left[p.lot.pk][k] for k in keys), ZERO)), keys)
        for p in pool:
            p.pools.append(agreement_id)
            need = p.target - p.own - p.from_pool
            for giver in pool:
                if need <= 0:
                    break
                available, keys = givable[giver.lot.pk]
                hours = min(need, available)
                if hours <= 0:
                    continue
                givable[giver.lot.pk] = (available - hours, keys)
                _take(left[giver.lot.pk], keys, hours)
                giver.given += hours
                p.from_pool += hours
                p.pooled_from.append(PoolCredit(agreement_id=agreement_id, lot=giver.lot, hours=hours))
                need -= hours


def _within(month: datetime.date, first: datetime.date | None, last: datetime.date | None) -> bool:
    """Is `month` (first day) one of the months of the period from `first` (a first day) to `last`?"""
    return (first is None or month >= first) and (last is None or month <= last)


def _take(buckets: dict, keys: list, hours: Decimal) -> None:
    """Take `hours` from `buckets` (hours by key), in the order of `keys`."""
    for key in keys:
        taken = min(buckets[key], hours)
        buckets[key] -= taken
        hours -= taken
        if hours <= 0:
            return


def obligations_of(user, *, day: datetime.date):
    """The lots with a clause the user may see: the running ones first, soonest deadline first (no deadline
    last), then the ended ones, most recently ended first — what a company or a buyer has to act on."""
    ended = Q(deadline__lt=day)
    return (
        Lot.objects.visible_to(user)
        .filter(clause__isnull=False)
        .select_related("clause", "market__buyer")
        .annotate(deadline=Coalesce("end_date", "market__end_date"))
        .annotate(
            ended=Case(When(ended, then=Value(1)), default=Value(0)),
            running_until=Case(When(~ended, then=F("deadline"))),
            ended_on=Case(When(ended, then=F("deadline"))),
        )
        .order_by(
            "ended",
            F("running_until").asc(nulls_last=True),
            F("ended_on").desc(nulls_last=True),
            "market__reference",
            "number",
            "pk",
        )
    )
