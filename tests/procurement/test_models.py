"""Procurement constraints (database level) and the hours formula."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from clausier.procurement.models import Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis
from tests.factories import ClauseFactory, LotFactory, MarketFactory, OperationFactory, ref

D = datetime.date


def test_formula_hours_worked_example():
    # MEF Sud 77: 1,000,000 € × 50 % × 5 % ÷ 30 €/h = 833.33 → 833 h (rounded down).
    assert Clause.formula_hours(Decimal(1_000_000), Decimal("0.5"), Decimal("0.05"), Decimal(30)) == 833


@pytest.mark.parametrize(
    ("amount", "share", "rate", "cost", "expected"),
    [
        ("1000000", "0.5", "0.05", "30", 833),
        ("250000.00", "0.70", "0.07", "28", 437),  # 437.5 → 437
        ("100000", "0.8", "0.05", "20", 200),  # exact
        ("0", "0.5", "0.05", "30", 0),
    ],
)
def test_formula_hours_rounds_down_with_decimals(amount, share, rate, cost, expected):
    hours = Clause.formula_hours(Decimal(amount), Decimal(share), Decimal(rate), Decimal(cost))
    assert hours == expected
    assert isinstance(hours, int)


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [OperationFactory, MarketFactory, LotFactory])
def test_dates_in_order(factory):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(start_date=D(2024, 6, 1), end_date=D(2024, 5, 31))


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [OperationFactory, MarketFactory, LotFactory])
def test_same_day_and_open_ended_are_fine(factory):
    factory(start_date=D(2024, 6, 1), end_date=D(2024, 6, 1))
    factory(start_date=D(2024, 6, 1), end_date=None)
    factory(start_date=None, end_date=D(2024, 6, 1))


@pytest.mark.django_db
def test_market_reference_unique_per_buyer_and_facilitator():
    market = MarketFactory(reference="2024-001")
    with pytest.raises(IntegrityError), transaction.atomic():
        MarketFactory(facilitator=market.facilitator, buyer=market.buyer, reference="2024-001")
    # Another buyer may use the same number.
    MarketFactory(facilitator=market.facilitator, reference="2024-001")


@pytest.mark.django_db
def test_amounts_are_not_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        MarketFactory(amount_ht=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        LotFactory(amount_ht=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ClauseFactory(fixed=True, hours_target=Decimal("-1"))


@pytest.mark.django_db
def test_lot_number_unique_in_market_and_one_clause_per_lot():
    lot = LotFactory(number="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LotFactory(market=lot.market, number="1")
    ClauseFactory(lot=lot)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClauseFactory(lot=lot)


@pytest.mark.django_db
def test_factories_keep_the_tenant_of_the_parent():
    clause = ClauseFactory(lot__market__in_operation=True)
    lot = clause.lot
    assert clause.facilitator == lot.facilitator == lot.market.facilitator == lot.market.operation.facilitator
    assert clause.hours_target == 833
    assert Market.objects.with_clause().get() == lot.market
    assert Operation.objects.count() == Lot.objects.count() == 1


@pytest.mark.django_db
def test_legal_basis_current_follows_replacements():
    assert ref(LegalBasis, "cmp2006_14").current().code == "ccp_l2112_2"
