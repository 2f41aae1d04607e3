"""Relances: employers with a contract running in the month whose statement is missing, draft or returned."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.employment.models import StatementStatus
from clausier.employment.queries import previous_month, statements_to_chase
from tests.factories import (
    CompanyFactory,
    ContractFactory,
    FacilitatorFactory,
    InsertionStructureFactory,
    LotFactory,
    MarketFactory,
    MonthlyStatementFactory,
    partner,
)

pytestmark = pytest.mark.django_db
JUNE = datetime.date(2024, 6, 1)


def test_previous_month():
    assert previous_month(datetime.date(2024, 7, 15)) == JUNE
    assert previous_month(datetime.date(2024, 1, 1)) == datetime.date(2023, 12, 1)


def test_who_is_chased():
    fac = FacilitatorFactory()
    lot = LotFactory(market=MarketFactory(facilitator=fac))

    def employer_with(status=None, start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31), n=1):
        employer = partner(CompanyFactory, fac)
        for _ in range(n):
            ContractFactory(lot=lot, company=employer, start_date=start, end_date=end)
        if status:
            MonthlyStatementFactory(facilitator=fac, employer=employer, month=JUNE, status=status)
        return employer

    missing = employer_with(n=2)
    draft = employer_with(StatementStatus.DRAFT)
    returned = employer_with(StatementStatus.RETURNED)
    employer_with(StatementStatus.SUBMITTED)
    employer_with(StatementStatus.VALIDATED)
    employer_with(start=datetime.date(2024, 1, 1), end=datetime.date(2024, 5, 31))  # ended in May
    starts_late = employer_with(start=datetime.date(2024, 6, 30), end=None)  # one day in June counts
    structure = partner(InsertionStructureFactory, fac)
    ContractFactory(lot=lot, employer=structure, start_date=datetime.date(2024, 6, 1), end_date=None)
    # Another facilitator's employer, same month, no statement: not ours.
    ContractFactory(start_date=datetime.date(2024, 1, 1), end_date=None)

    with CaptureQueriesContext(connection) as queries:
        chased = list(statements_to_chase(fac, JUNE))
    assert len(queries) == 1
    by_pk = {org.pk: org for org in chased}
    assert set(by_pk) == {missing.pk, draft.pk, returned.pk, starts_late.pk, structure.pk}
    assert by_pk[missing.pk].contracts_running == 2 and by_pk[missing.pk].statement_status is None
    assert by_pk[draft.pk].statement_status == "draft" and by_pk[returned.pk].statement_status == "returned"
    assert by_pk[draft.pk].statement_uuid is not None
