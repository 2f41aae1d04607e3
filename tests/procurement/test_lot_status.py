"""`clausier lot-status`: the text table, and a clear French refusal for an unknown facilitator."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from tests.factories import ClauseFactory, CompanyFactory, ContractFactory, LotFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 28)


def lot_with_hours(target, hours_by_month, **lot):
    lot = LotFactory(start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 12, 31), **lot)
    ClauseFactory(lot=lot, hours_target=Decimal(target))
    contract = ContractFactory(lot=lot, start_date=datetime.date(2026, 1, 1), end_date=None)
    for month, hours in hours_by_month.items():
        statement, _ = MonthlyStatement.objects.get_or_create(
            facilitator=lot.facilitator,
            employer=contract.employer,
            month=month,
            defaults={"status": StatementStatus.VALIDATED},
        )
        HoursRecord.objects.create(
            facilitator=lot.facilitator,
            contract=contract,
            month=month,
            statement=statement,
            hours=hours,
            counted_hours=hours,
        )
    return lot


def test_text_output_lists_each_lot_with_its_figures(capsys):
    months = {datetime.date(2026, m, 1): Decimal(100) for m in (8, 9, 10)}
    late = lot_with_hours(1000, months, market__reference="2026-M-0042-LONGUE-REF", number="3")
    facilitator = late.facilitator
    done = lot_with_hours(
        250, months, market__facilitator=facilitator, market__reference="2026-A", number="1"
    )
    LotFactory(market=done.market, number="2")  # no clause: not listed
    upcoming = LotFactory(market=done.market, number="4", start_date=datetime.date(2027, 1, 1), end_date=None)
    ClauseFactory(lot=upcoming, hours_target=Decimal("120.4"))
    lot_with_hours(500, months)  # another facilitator's lot: not listed
    call_command("lot-status", facilitator=facilitator.slug, date=TODAY)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Marché           Lot      Objectif    Réalisé  Projection  Statut",
        # 300 h for 250 h: done, the projection is what is done.
        "2026-A           1             250        300         300  Réalisé",
        # Not started: no projection; 120,4 h shown rounded to the hour.
        "2026-A           4             120          0           —  À venir",
        # 300 h, pace 100 h/month, November and December left: 500 h projected < 70 % of 1 000 h: late.
        # The market reference is cut to its column (16 characters).
        "2026-M-0042-LONG 3            1000        300         500  En retard",
    ]


def test_unknown_facilitator_is_refused_in_french():
    with pytest.raises(CommandError, match="^Aucun facilitateur avec l'identifiant « inconnu »\\.$"):
        call_command("lot-status", facilitator="inconnu")
    # An organization that is not a facilitator is not one either.
    company = CompanyFactory(slug="entreprise-btp")
    with pytest.raises(CommandError, match="« entreprise-btp »"):
        call_command("lot-status", facilitator=company.slug)


def test_unknown_facilitator_exits_non_zero_with_the_message_on_stderr(capsys):
    command = load_command_class("clausier.procurement", "lot-status")
    with pytest.raises(SystemExit) as exit_info:
        command.run_from_argv(["manage.py", "lot-status", "--facilitator", "inconnu"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "Aucun facilitateur avec l'identifiant « inconnu »." in captured.err and captured.out == ""
