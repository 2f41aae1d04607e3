"""Lot progress: validated hours only, globalisation pools, constant queries."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.procurement.followup import Status
from clausier.procurement.models import GlobalisationAgreement, Lot
from clausier.procurement.progress import lots_progress
from tests.factories import ClauseFactory, ContractFactory, LotFactory

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime.date(2026, 11, 28)


def worked(contract, hours_by_month, status=StatementStatus.VALIDATED):
    for month, hours in hours_by_month.items():
        statement, _ = MonthlyStatement.objects.get_or_create(
            facilitator=contract.facilitator,
            employer=contract.employer,
            month=month,
            defaults={"status": status},
        )
        HoursRecord.objects.create(
            facilitator=contract.facilitator,
            contract=contract,
            month=month,
            statement=statement,
            hours=D(hours),
            counted_hours=D(hours),
        )


def lot_with_target(target, **kwargs):
    lot = LotFactory(start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 12, 31), **kwargs)
    ClauseFactory(lot=lot, hours_target=D(target))
    return Lot.objects.select_related("clause", "market").get(pk=lot.pk)


def contract_on(lot):
    return ContractFactory(
        lot=lot, start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 12, 31)
    )


def test_only_validated_hours_count():
    lot = lot_with_target(1000)
    contract = contract_on(lot)
    worked(contract, {datetime.date(2026, 9, 1): 100})
    other = ContractFactory(lot=lot, start_date=datetime.date(2026, 1, 1), end_date=None)
    worked(other, {datetime.date(2026, 9, 1): 50}, status=StatementStatus.SUBMITTED)
    progress = lots_progress([lot], today=TODAY)[lot.pk]
    assert progress.own == 100
    assert progress.followup.realised == 100


def test_pool_surplus_goes_to_the_lots_short_of_their_target_earliest_end_first():
    a, b, c = lot_with_target(100), lot_with_target(300), lot_with_target(300)
    Lot.objects.filter(pk=b.pk).update(end_date=datetime.date(2026, 6, 30))
    b.refresh_from_db()
    on_a = contract_on(a)
    worked(on_a, {datetime.date(2026, 3, 1): 160, datetime.date(2026, 4, 1): 140})  # 300 done: 200 surplus
    worked(contract_on(b), {datetime.date(2026, 3, 1): 150})  # short by 150, ends first
    worked(contract_on(c), {datetime.date(2026, 3, 1): 100})  # short by 200
    pool = GlobalisationAgreement.objects.create(
        facilitator=a.facilitator,
        company=on_a.company,
        name="Pool",
    )
    pool.lots.set([a, b, c])
    progress = lots_progress([a, b, c], today=TODAY)
    assert (progress[a.pk].own, progress[a.pk].from_pool) == (300, 0)
    assert (progress[b.pk].own, progress[b.pk].from_pool) == (150, 150)  # fully covered
    assert (progress[c.pk].own, progress[c.pk].from_pool) == (100, 50)  # what is left of the surplus
    assert progress[b.pk].followup.realised == 300 and progress[b.pk].followup.status == Status.DONE
    # Asking for one lot alone gives the same credit (the others of the pool are read too).
    alone = lots_progress([Lot.objects.select_related("clause", "market").get(pk=c.pk)], today=TODAY)
    assert alone[c.pk].from_pool == 50


def test_query_count_does_not_grow_with_lots(django_assert_num_queries):
    lots = [lot_with_target(100) for _ in range(3)]
    for lot in lots:
        worked(contract_on(lot), {datetime.date(2026, 5, 1): 10})
    with django_assert_num_queries(2):
        lots_progress(lots, today=TODAY)
    more = lots + [lot_with_target(100) for _ in range(6)]
    with django_assert_num_queries(2):
        lots_progress(more, today=TODAY)


def test_lot_status_command(capsys):
    lot = lot_with_target(1000)
    worked(
        contract_on(lot),
        {datetime.date(2026, 8, 1): 100, datetime.date(2026, 9, 1): 100, datetime.date(2026, 10, 1): 100},
    )
    call_command("lot-status", facilitator=lot.facilitator.slug, json=True, date=TODAY)
    [row] = json.loads(capsys.readouterr().out)
    # 300 realised, pace 100/month, Nov + Dec left → 500 projected, below 70 % of 1 000 → late.
    assert (row["target"], row["realised"], row["projection"], row["status"]) == (1000, 300, 500, "late")
