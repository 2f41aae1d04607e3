"""Simultaneous saves of the same contract-month: one record, no lost update (PostgreSQL, real threads)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from clausier.employment.actions import MonthEntry, declare_month
from clausier.employment.models import HoursRecord, MonthlyStatement
from tests.factories import ContractFactory, UserFactory, acting

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are exercised on PostgreSQL (CI runs it)"
    ),
]


def test_concurrent_saves_of_one_contract_month():
    contract = ContractFactory(start_date=datetime.date(2024, 1, 1), end_date=datetime.date(2024, 12, 31))
    user = acting(UserFactory(member_of=contract.facilitator))
    month = datetime.date(2024, 5, 1)
    values = [Decimal(100 + i) for i in range(8)]
    barrier = threading.Barrier(len(values))
    errors = []

    def save(hours):
        try:
            barrier.wait()
            declare_month(
                facilitator=contract.facilitator, month=month, entries=[MonthEntry(contract, hours)], by=user
            )
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=save, args=(v,)) for v in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    records = list(HoursRecord.objects.filter(contract=contract, month=month))
    assert len(records) == 1 and records[0].hours in values
    assert MonthlyStatement.objects.filter(employer=contract.employer, month=month).count() == 1
    # Every save was applied in turn (none lost): the audit log has one entry per change that changed something.
    from clausier.audit.models import AuditEntry

    assert AuditEntry.objects.filter(object_type="employment.monthlystatement").count() == len(values)
