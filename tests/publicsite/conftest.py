import datetime
from decimal import Decimal

import pytest

from clausier.employment.models import StatementStatus
from tests.factories import (
    ClauseFactory,
    ContractFactory,
    FacilitatorFactory,
    FacilitatorSettingsFactory,
    HoursRecordFactory,
    LotFactory,
    MarketFactory,
    ParticipantFactory,
)

D = datetime.date


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def commit():
    """`commit()`: what a commit does to on-commit callbacks — run those pending, then forget them.

    The test's transaction never commits; without this, a callback registered while building the data
    would stay pending and (rightly) absorb the later changes of the same transaction.
    """
    from django.db import connection

    def run():
        pending = list(connection.run_on_commit)
        connection.run_on_commit.clear()
        for _savepoints, callback, _robust in pending:
            callback()
        return [callback for _savepoints, callback, _robust in pending]

    return run


@pytest.fixture
def cellule():
    """Hand-computed: 2 buyers (a third has no clause), 360 validated hours (80 in a draft do not count),
    4 contracts, 2 people (the third record is a duplicate merged into the first).

    Per year: 2022 → P1; 2023 → P1, P2; 2024 → P1 (twice, once through the merged record); then 0.
    """
    fac = FacilitatorFactory(name="Cellule du test", slug="cellule-du-test")
    FacilitatorSettingsFactory(facilitator=fac, territory_label="Pays de test")
    lot1 = LotFactory(market=MarketFactory(facilitator=fac, start_date=D(2022, 1, 1)))
    lot2 = LotFactory(market=MarketFactory(facilitator=fac, start_date=D(2022, 1, 1)))
    ClauseFactory(lot=lot1)
    ClauseFactory(lot=lot2)
    LotFactory(market=MarketFactory(facilitator=fac))  # a third buyer, no clause: not counted
    p1 = ParticipantFactory(facilitator=fac)
    p2 = ParticipantFactory(facilitator=fac)
    p3 = ParticipantFactory(facilitator=fac, merged_into=p1)
    c1 = ContractFactory(lot=lot1, participant=p1, start_date=D(2022, 3, 1), end_date=D(2022, 8, 31))
    c2 = ContractFactory(lot=lot2, participant=p1, start_date=D(2023, 2, 1), end_date=D(2024, 1, 31))
    c3 = ContractFactory(lot=lot1, participant=p2, start_date=D(2023, 5, 1), end_date=D(2023, 10, 31))
    ContractFactory(lot=lot2, participant=p3, start_date=D(2024, 3, 1), end_date=D(2024, 6, 30))
    HoursRecordFactory(contract=c1, month=D(2022, 3, 1), hours=Decimal("120"))
    HoursRecordFactory(contract=c1, month=D(2022, 4, 1), hours=Decimal("140"))
    HoursRecordFactory(contract=c3, month=D(2023, 5, 1), hours=Decimal("100"))
    HoursRecordFactory(
        contract=c2, month=D(2023, 2, 1), hours=Decimal("80"), statement_status=StatementStatus.DRAFT
    )
    return fac
