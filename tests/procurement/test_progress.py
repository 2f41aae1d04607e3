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
from tests.factories import ClauseFactory, CompanyFactory, ContractFactory, FacilitatorFactory, LotFactory

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime.date(2026, 11, 28)
TENANT = {}  # the facilitator of a test's lots: a pool's lots are one facilitator's, as in the product


@pytest.fixture(autouse=True)
def one_tenant():
    TENANT["facilitator"] = FacilitatorFactory()
    yield
    TENANT.clear()


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
    lot = LotFactory(
        **{
            "market__facilitator": TENANT["facilitator"],
            "start_date": datetime.date(2026, 1, 1),
            "end_date": datetime.date(2026, 12, 31),
            **kwargs,
        }
    )
    ClauseFactory(lot=lot, hours_target=D(target))
    return Lot.objects.select_related("clause", "market").get(pk=lot.pk)


def contract_on(lot, **kwargs):
    return ContractFactory(
        lot=lot, start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 12, 31), **kwargs
    )


def month(m):
    return datetime.date(2026, m, 1)


def agreement(company, lots, **dates):
    pool = GlobalisationAgreement.objects.create(
        facilitator=lots[0].facilitator, company=company, name="Pool", **dates
    )
    pool.lots.set(lots, through_defaults={"facilitator": pool.facilitator})
    return pool


def sources(progress):
    return [(credit.lot.pk, credit.hours) for credit in progress.pooled_from]


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
    pool.lots.set([a, b, c], through_defaults={"facilitator": pool.facilitator})
    progress = lots_progress([a, b, c], today=TODAY)
    assert (progress[a.pk].own, progress[a.pk].from_pool) == (300, 0)
    assert (progress[b.pk].own, progress[b.pk].from_pool) == (150, 150)  # fully covered
    assert (progress[c.pk].own, progress[c.pk].from_pool) == (100, 50)  # what is left of the surplus
    assert progress[b.pk].followup.realised == 300 and progress[b.pk].followup.status == Status.DONE
    # Asking for one lot alone gives the same credit (the others of the pool are read too).
    alone = lots_progress([Lot.objects.select_related("clause", "market").get(pk=c.pk)], today=TODAY)
    assert alone[c.pk].from_pool == 50


def test_only_hours_of_the_months_of_the_agreement_period_pool():
    company = CompanyFactory()
    ahead, short = lot_with_target(100), lot_with_target(300)
    # 370 h for 100 h: 270 h surplus, but only February (the period starts mid-month) and May (it ends on
    # 31 May) are inside the period: 30 + 40 = 70 h may leave. January and June stay on the lot.
    worked(contract_on(ahead, company=company), {month(1): 200, month(2): 30, month(5): 40, month(6): 100})
    worked(contract_on(short, company=company), {month(3): 50})  # short by 250
    pool = agreement(
        company, [ahead, short], start_date=datetime.date(2026, 2, 15), end_date=datetime.date(2026, 5, 31)
    )
    progress = lots_progress([ahead, short], today=TODAY)
    assert (progress[short.pk].own, progress[short.pk].from_pool) == (50, 70)
    assert sources(progress[short.pk]) == [(ahead.pk, 70)]
    assert progress[ahead.pk].given == 70 and progress[ahead.pk].followup.realised == 370
    # An open end (null) takes June too: 30 + 40 + 100 = 170 h.
    GlobalisationAgreement.objects.filter(pk=pool.pk).update(end_date=None)
    assert lots_progress([short], today=TODAY)[short.pk].from_pool == 170
    # An open start (null) with an end in March: January and February, 200 + 30 = 230 h.
    GlobalisationAgreement.objects.filter(pk=pool.pk).update(
        start_date=None, end_date=datetime.date(2026, 3, 31)
    )
    assert lots_progress([short], today=TODAY)[short.pk].from_pool == 230


def test_only_the_agreement_companys_hours_pool():
    company, other = CompanyFactory(), CompanyFactory()
    ahead, stranger, short = lot_with_target(100), lot_with_target(100), lot_with_target(500)
    # On `ahead`, co-contracted: 150 h of the company's employees, 50 h of an SIAE placed for the company
    # (mise à disposition: the company's hours), 200 h of the other company. 400 h for 100 h: 300 h surplus,
    # of which the company's 200 h may leave; the other company's 200 h cover the lot's own target.
    worked(contract_on(ahead, company=company), {month(3): 150})
    worked(contract_on(ahead, company=company, provision=True), {month(3): 50})
    worked(contract_on(ahead, company=other), {month(3): 200})
    # On `stranger` (not awarded to the company), even hours declared for the company do not leave.
    worked(contract_on(stranger, company=company, award=False), {month(3): 300})
    agreement(company, [ahead, stranger, short])
    progress = lots_progress([ahead, stranger, short], today=TODAY)
    assert (progress[short.pk].own, progress[short.pk].from_pool) == (0, 200)
    assert sources(progress[short.pk]) == [(ahead.pk, 200)]
    assert (progress[ahead.pk].given, progress[stranger.pk].given) == (200, 0)


def test_the_per_source_breakdown_is_exact():
    company = CompanyFactory()
    # Earliest end first: c (June), d (September), b (October), a (December).
    a = lot_with_target(100)
    b = lot_with_target(100, end_date=datetime.date(2026, 10, 31))
    c = lot_with_target(300, end_date=datetime.date(2026, 6, 30))
    d = lot_with_target(200, end_date=datetime.date(2026, 9, 30))
    for lot, hours in ((a, 250), (b, 180), (c, 100), (d, 50)):
        worked(contract_on(lot, company=company), {month(3): hours})
    agreement(company, [a, b, c, d])
    progress = lots_progress([a, b, c, d], today=TODAY)
    # Surpluses: b 80 h, a 150 h, taken in that order (b ends first). c needs 200 h: 80 from b, 120 from a.
    # d needs 150 h: the 30 h left on a. Nothing is left for anyone else.
    assert sources(progress[c.pk]) == [(b.pk, 80), (a.pk, 120)] and progress[c.pk].from_pool == 200
    assert sources(progress[d.pk]) == [(a.pk, 30)] and progress[d.pk].from_pool == 30
    assert sources(progress[a.pk]) == sources(progress[b.pk]) == []
    assert (progress[a.pk].given, progress[b.pk].given) == (150, 80)


def test_a_surplus_is_pooled_once_across_agreements():
    company = CompanyFactory()
    ahead, first, second = lot_with_target(100), lot_with_target(300), lot_with_target(300)
    worked(contract_on(ahead, company=company), {month(3): 300})  # 200 h surplus
    agreement(company, [ahead, first])
    agreement(company, [ahead, second])
    progress = lots_progress([ahead, first, second], today=TODAY)
    # The earlier agreement takes the 200 h; nothing is left for the later one.
    assert (progress[first.pk].from_pool, progress[second.pk].from_pool) == (200, 0)
    assert progress[ahead.pk].given == 200


def test_query_count_with_pools_does_not_grow(django_assert_num_queries):
    company = CompanyFactory()
    lots = [lot_with_target(100) for _ in range(6)]
    for lot in lots:
        worked(contract_on(lot, company=company), {month(3): 150})
    agreement(company, lots[:3])
    # hours of the lots asked for, the pools' lots and terms, the other lots of the pools, their hours
    with django_assert_num_queries(4):
        lots_progress(lots[:1], today=TODAY)
    agreement(company, lots[2:])
    agreement(company, lots[::2])
    with django_assert_num_queries(4):
        lots_progress(lots[:2], today=TODAY)
    with django_assert_num_queries(2):  # every lot of the pools asked for: nothing more to read
        lots_progress(lots, today=TODAY)


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
