"""Realised hours per lot, month by month, with globalisation pools — in two queries for any number of lots.

Only hours of validated statements count (`counted_hours`, the value under the facilitator's rules).

Pooling rule (written on the lot page): within a convention de globalisation, the hours a lot has done
beyond its own target are credited to the pool's other lots that are short of theirs, earliest end date first.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from clausier.employment.models import HoursRecord, StatementStatus
from clausier.procurement.followup import FollowUp, follow_up
from clausier.procurement.models import GlobalisationAgreement

POOLING_RULE = (
    "Dans une convention de globalisation, les heures réalisées sur un lot au-delà de son objectif sont "
    "reportées sur les autres lots de la convention qui n'ont pas atteint le leur, en commençant par ceux "
    "dont la fin est la plus proche."
)


def validated_hours():
    return HoursRecord.objects.filter(statement__status=StatementStatus.VALIDATED)


@dataclass
class LotProgress:
    lot: object
    own: Decimal
    from_pool: Decimal
    monthly: dict = field(default_factory=dict)
    followup: FollowUp | None = None
    pools: list = field(default_factory=list)

    @property
    def target(self) -> Decimal:
        clause = _clause_of(self.lot)
        return clause.hours_target if clause else Decimal(0)


def _clause_of(lot):
    try:
        return lot.clause
    except type(lot).clause.RelatedObjectDoesNotExist:
        return None


def lots_progress(lots, *, today: datetime.date) -> dict[int, LotProgress]:
    """Progress of every lot of `lots` (a list or queryset with `clause` and `market` selected)."""
    lots = list(lots)
    ids = [lot.pk for lot in lots]
    monthly = defaultdict(dict)
    for row in (
        validated_hours()
        .filter(contract__lot_id__in=ids)
        .values("contract__lot_id", "month")
        .annotate(h=Sum("counted_hours"))
        .order_by()
    ):
        monthly[row["contract__lot_id"]][row["month"]] = row["h"]

    result = {
        lot.pk: LotProgress(
            lot=lot,
            own=sum(monthly[lot.pk].values(), Decimal(0)),
            from_pool=Decimal(0),
            monthly=monthly[lot.pk],
        )
        for lot in lots
    }
    _apply_pools(result, ids)
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


def _apply_pools(result: dict, ids: list[int]) -> None:
    """Credit pool surpluses to the lots of `result` (lots of the pools outside `result` give too)."""
    through = GlobalisationAgreement.lots.through
    agreements = through.objects.filter(lot_id__in=ids).values("globalisationagreement_id")
    members = defaultdict(list)
    for agreement_id, lot_id in through.objects.filter(globalisationagreement_id__in=agreements).values_list(
        "globalisationagreement_id", "lot_id"
    ):
        members[agreement_id].append(lot_id)
    if not members:
        return
    everyone = dict(result)
    outside = {lot_id for lot_ids in members.values() for lot_id in lot_ids} - everyone.keys()
    if outside:
        from clausier.procurement.models import Lot

        everyone.update(_own_hours(Lot.objects.filter(pk__in=outside).select_related("clause", "market")))
    for agreement_id, lot_ids in members.items():
        pool = sorted(
            (everyone[i] for i in lot_ids),
            key=lambda p: (p.lot.end_date or p.lot.market.end_date or datetime.date.max, p.lot.pk),
        )
        surplus = sum((max(Decimal(0), p.own - p.target) for p in pool), Decimal(0))
        for p in pool:
            p.pools.append(agreement_id)
            credit = min(max(Decimal(0), p.target - p.own - p.from_pool), surplus)
            p.from_pool += credit
            surplus -= credit


def _own_hours(lots) -> dict[int, LotProgress]:
    lots = list(lots)
    totals = dict(
        validated_hours()
        .filter(contract__lot_id__in=[lot.pk for lot in lots])
        .values("contract__lot_id")
        .annotate(h=Sum("counted_hours"))
        .values_list("contract__lot_id", "h")
        .order_by()
    )
    return {
        lot.pk: LotProgress(lot=lot, own=totals.get(lot.pk, Decimal(0)), from_pool=Decimal(0)) for lot in lots
    }
