"""Contracts and monthly hours: constraints enforced by the database (SQLite and PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tests.factories import ContractFactory, HoursRecordFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def test_one_hours_record_per_contract_and_month():
    record = HoursRecordFactory(month=D(2024, 3, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursRecordFactory(contract=record.contract, month=D(2024, 3, 1))
    HoursRecordFactory(contract=record.contract, month=D(2024, 4, 1))


def test_hours_are_not_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursRecordFactory(hours=Decimal("-0.01"))
    HoursRecordFactory(hours=Decimal("0"))


def test_training_hours_within_hours():
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursRecordFactory(hours=Decimal("10"), training_hours=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursRecordFactory(hours=Decimal("10"), training_hours=Decimal("10.5"))
    HoursRecordFactory(hours=Decimal("10"), training_hours=Decimal("10"))


@pytest.mark.parametrize("day", [2, 15, 31])
def test_month_must_be_the_first_day(day):
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursRecordFactory(month=D(2024, 1, day))


def test_contract_dates_in_order():
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(start_date=D(2024, 5, 1), end_date=D(2024, 4, 30))
    ContractFactory(start_date=D(2024, 5, 1), end_date=D(2024, 5, 1))
    ContractFactory(start_date=D(2024, 5, 1), end_date=None)


def test_weekly_hours_not_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractFactory(weekly_hours=Decimal("-1"))


def test_contract_factory_awards_the_lot_and_keeps_the_tenant():
    contract = ContractFactory(provision=True)
    assert contract.facilitator == contract.lot.facilitator == contract.participant.facilitator
    assert contract.employer != contract.company
    assert contract.employer.kind == "insertion_structure"
    assert contract.lot.awards.get().company == contract.company
    assert contract.company.partnerships.get().facilitator == contract.facilitator


def test_active_on():
    contract = ContractFactory(start_date=D(2024, 2, 1), end_date=D(2024, 7, 31))
    open_ended = ContractFactory(start_date=D(2024, 6, 1), end_date=None)
    qs = type(contract).objects
    assert set(qs.active_on(D(2024, 1, 31))) == set()
    assert set(qs.active_on(D(2024, 7, 31))) == {contract, open_ended}
    assert set(qs.active_on(D(2030, 1, 1))) == {open_ended}


def test_supporting_factories():
    from tests.factories import CommuneFactory, CountingRuleFactory, HourlyCostFactory, LabourShareFactory

    rule = CountingRuleFactory(subcontracting=True, coefficient=Decimal("1.5"))
    assert rule.modality.code == "subcontracting"
    assert LabourShareFactory(facilitator=rule.facilitator).share == Decimal("0.65")
    assert HourlyCostFactory(facilitator=rule.facilitator, cleaning=True).amount == 20
    assert CommuneFactory().pk == CommuneFactory().pk == "31555"
