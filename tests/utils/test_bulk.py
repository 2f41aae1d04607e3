"""`update_by_value` writes what `bulk_update` writes: every field of every row, shared and distinct values."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clausier.employment.models import HoursRecord
from clausier.utils.bulk import update_by_value
from tests.factories import ContractFactory, monthly_hours

pytestmark = pytest.mark.django_db
FIELDS = ["hours", "training_hours", "counted_hours", "statement", "updated_at"]


def records(n):
    contract = ContractFactory()
    return monthly_hours(contract, {datetime.date(2020 + i // 12, i % 12 + 1, 1): 10 for i in range(n)})


def state(rows):
    return list(
        HoursRecord.objects.filter(pk__in=[r.pk for r in rows])
        .order_by("pk")
        .values_list("pk", "hours", "training_hours", "counted_hours", "statement_id", "updated_at")
    )


def test_the_same_rows_as_bulk_update_with_shared_and_distinct_values():
    mine, theirs = records(7), records(7)
    stamp = timezone.now().replace(microsecond=0)
    for rows in (mine, theirs):
        for i, row in enumerate(rows):
            row.hours = Decimal(100 + i % 3)  # three distinct values
            row.counted_hours = Decimal(100 + i % 3) - Decimal("0.5") * (i % 2)
            row.training_hours = Decimal(0)  # one value
            row.statement = None
            row.updated_at = stamp
    assert update_by_value(HoursRecord, mine, FIELDS, batch_size=3) == 7
    HoursRecord.objects.bulk_update(theirs, FIELDS)
    assert [row[1:] for row in state(mine)] == [row[1:] for row in state(theirs)]
    assert state(mine)[3][1:4] == (Decimal(100), Decimal(0), Decimal("99.5"))  # i = 3


def test_one_update_a_batch_whatever_the_values():
    rows = records(10)
    for i, row in enumerate(rows):
        row.hours = Decimal(i)
    with CaptureQueriesContext(connection) as ctx:
        update_by_value(HoursRecord, rows, ["hours"], batch_size=4)
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["UPDATE"] * 3
    assert [row[1] for row in state(rows)] == [Decimal(i) for i in range(10)]
