"""The public figures are cached per facilitator and refreshed when the data behind them change:
a save of a contract, hours record, statement, market, lot, clause or participant — or an action writing in
bulk (the monthly hours grid, a merge) — gives the facilitator a new data version, once per transaction,
after commit."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from clausier.employment import actions as employment_actions
from clausier.employment.models import Contract, StatementStatus
from clausier.participants.actions import merge_participants
from clausier.publicsite import figures
from clausier.publicsite.figures import data_version, public_figures
from tests.factories import (
    ClauseFactory,
    ContractFactory,
    FacilitatorFactory,
    HoursRecordFactory,
    ParticipantFactory,
    UserFactory,
    acting,
)

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def contract():
    return ContractFactory(start_date=D(2024, 2, 1), end_date=D(2024, 7, 31))


@pytest.fixture
def admin(contract):
    from clausier.organizations.models import Role

    return acting(UserFactory(member_of=contract.facilitator, member_of__role=Role.ADMIN))


@pytest.fixture
def computations(monkeypatch):
    calls = []
    real = figures.compute

    def counting(facilitator, day):
        calls.append(facilitator.pk)
        return real(facilitator, day)

    monkeypatch.setattr(figures, "compute", counting)
    return calls


def test_figures_are_computed_once_then_read_from_the_cache(contract, computations):
    fac = contract.facilitator
    first = public_figures(fac)
    again = public_figures(fac)
    assert first == again and first.contracts == 1
    assert computations == [fac.pk]


def test_the_cache_is_per_facilitator_and_per_day(contract, computations):
    other = FacilitatorFactory()
    public_figures(contract.facilitator)
    assert public_figures(other).contracts == 0
    public_figures(contract.facilitator, today=D(2030, 1, 2))
    assert len(computations) == 3


def test_a_saved_contract_refreshes_the_figures(contract, commit):
    fac = contract.facilitator
    commit()
    assert public_figures(fac).contracts == 1
    # A row written without any hook (bulk_create outside an action) is not seen: the cache answers…
    Contract.objects.bulk_create([ContractFactory.build(lot=contract.lot, participant=contract.participant)])
    commit()
    assert public_figures(fac).contracts == 1
    # …a saved contract gives a new version, but only once committed…
    ContractFactory(lot=contract.lot, start_date=D(2025, 1, 6), end_date=D(2025, 3, 31))
    assert public_figures(fac).contracts == 1
    commit()
    # …and the next visitor gets fresh figures.
    assert (public_figures(fac).contracts, public_figures(fac).participants) == (3, 2)
    assert [year for year, _ in public_figures(fac).per_year][-1] == datetime.date.today().year


def test_nothing_is_bumped_after_a_rollback(contract, commit):
    fac = contract.facilitator
    commit()
    before = data_version(fac)
    try:
        with transaction.atomic():
            ContractFactory(lot=contract.lot)
            raise RuntimeError("annulé")
    except RuntimeError:
        pass
    assert commit() == []
    assert data_version(fac) == before


def test_one_bump_per_facilitator_and_transaction(contract, commit):
    fac = contract.facilitator
    other = ClauseFactory()  # another facilitator
    commit()
    with transaction.atomic():
        for _ in range(3):
            ContractFactory(lot=contract.lot)
        other.save()
    bumps = [c for c in commit() if hasattr(c, "publicsite_facilitator")]
    assert sorted(c.publicsite_facilitator for c in bumps) == sorted([fac.pk, other.facilitator_id])
    assert data_version(fac) != "0" and data_version(other.facilitator) != "0"


def touch_contract(c, admin, ready):
    c.weekly_hours = Decimal("30")
    c.save()


def touch_hours(c, admin, ready):
    HoursRecordFactory(contract=c, month=D(2024, 3, 1))


def touch_statement(c, admin, ready):
    record = HoursRecordFactory(contract=c, month=D(2024, 4, 1), statement_status=StatementStatus.SUBMITTED)
    ready()  # only the transition is measured
    employment_actions.change_statement_status(
        statement=record.statement, to=StatementStatus.VALIDATED, by=admin
    )


def touch_market(c, admin, ready):
    c.lot.market.title = "Nouveau titre"
    c.lot.market.save()


def touch_lot(c, admin, ready):
    c.lot.title = "Nouveau lot"
    c.lot.save()


def touch_clause(c, admin, ready):
    ClauseFactory(lot=c.lot)


def touch_monthly_grid(c, admin, ready):
    # declare_month writes hours in bulk (no post_save): its audit entry bumps the version.
    employment_actions.declare_month(
        facilitator=c.facilitator,
        month=D(2024, 5, 1),
        entries=[employment_actions.MonthEntry(contract=c, hours="100")],
        by=admin,
    )


def touch_merge(c, admin, ready):
    duplicate = ParticipantFactory(facilitator=c.facilitator)
    ready()
    merge_participants(kept=c.participant, duplicate=duplicate, by=admin)


@pytest.mark.parametrize(
    "touch",
    [
        touch_contract,
        touch_hours,
        touch_statement,
        touch_market,
        touch_lot,
        touch_clause,
        touch_monthly_grid,
        touch_merge,
    ],
)
def test_every_change_behind_the_figures_bumps_the_version(touch, contract, admin, commit):
    fac = contract.facilitator
    versions = []

    def ready():
        commit()
        versions.append(data_version(fac))

    ready()
    touch(contract, admin, ready)
    commit()
    before, after = versions[-1], data_version(fac)
    assert after != before
    other = FacilitatorFactory()
    assert data_version(other) == "0"


def test_hours_validated_by_the_action_appear_on_the_public_page(contract, admin, client, commit):
    record = HoursRecordFactory(
        contract=contract, hours=Decimal("151.67"), statement_status=StatementStatus.SUBMITTED
    )
    commit()
    url = f"/cellules/{contract.facilitator.slug}/"
    assert 'data-testid="figure-hours">0<' in client.get(url).content.decode()
    employment_actions.change_statement_status(
        statement=record.statement, to=StatementStatus.VALIDATED, by=admin
    )
    assert 'data-testid="figure-hours">0<' in client.get(url).content.decode()  # not committed yet
    commit()
    assert 'data-testid="figure-hours">152<' in client.get(url).content.decode()
