"""Hours are declared for a month that has begun, never for one to come (issue 13): the rule of
`employment.actions.check_entry`, which the grid, the statement forms and every hours import go through.

Today is fixed at 6 December 2026: December 2026 can be declared, January 2027 cannot.
"""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from clausier.employment.actions import MonthEntry, Refused, declare_month
from clausier.employment.models import HoursRecord, MonthlyStatement
from clausier.imports.pipeline import run
from tests.factories import ContractFactory, ParticipantFactory, acting
from tests.imports.corpus import csv_bytes

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 12, 6)
DECEMBER, JANUARY = datetime.date(2026, 12, 1), datetime.date(2027, 1, 1)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


@pytest.fixture
def running(world_a):
    """An open-ended contract of world A's company, started in June 2026."""
    person = ParticipantFactory(facilitator=world_a.facilitator, last_name="Lefèvre", first_name="Hélène")
    contract = ContractFactory(
        lot=world_a.lot,
        company=world_a.company,
        participant=person,
        start_date=datetime.date(2026, 6, 1),
        end_date=None,
    )
    return world_a, contract


def lines(w, contract, *months):
    person = contract.participant
    header = ["Nom", "Prénom", "Né(e) le", "N° marché", "Lot", "Mois", "Nb heures"]
    return [header] + [
        [
            person.last_name,
            person.first_name,
            f"{person.birth_date:%d/%m/%Y}",
            w.market.reference,
            w.lot.number,
            month,
            "35",
        ]
        for month in months
    ]


def test_an_import_of_months_to_come_is_refused_on_the_month_column(running):
    w, contract = running
    data = csv_bytes(lines(w, contract, "12/2026", "01/2027", "05/2030"))

    report = run("heures", data, filename="releve.csv", facilitator=w.facilitator)[0]

    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert len(messages) == 2
    for line, month in ((3, "01/2027"), (4, "05/2030")):
        assert any(
            m.startswith(f"Ligne {line}, colonne « Mois » (F)")
            and "ce mois n'a pas encore commencé" in m
            and "au plus tard 12/2026" in m
            for m in messages
        ), (month, messages)
    assert not HoursRecord.objects.filter(contract=contract).exists()


def test_the_month_under_way_is_accepted(running):
    w, contract = running
    report = run(
        "heures",
        csv_bytes(lines(w, contract, "11/2026", "12/2026")),
        filename="releve.csv",
        facilitator=w.facilitator,
        by=w.users["facilitator_member"],
    )[0]
    assert report.status == "committed", list(report.lines())
    assert set(HoursRecord.objects.filter(contract=contract).values_list("month", flat=True)) == {
        datetime.date(2026, 11, 1),
        DECEMBER,
    }


def test_the_action_refuses_a_month_to_come(running):
    w, contract = running
    with pytest.raises(Refused, match="ce mois n'a pas encore commencé"):
        declare_month(
            facilitator=w.facilitator,
            month=JANUARY,
            entries=[MonthEntry(contract, Decimal("35"))],
            by=acting(w.users["facilitator_member"]),
        )
    assert not HoursRecord.objects.filter(contract=contract).exists()
    assert not MonthlyStatement.objects.filter(month=JANUARY).exists()


def test_the_grid_refuses_a_month_to_come_and_keeps_the_input(running, facilitator_member_client):
    w, contract = running
    url = reverse("www:lot_hours", kwargs={"uuid": w.lot.uuid})

    response = facilitator_member_client.post(url, {"mois": "2027-01", f"h-{contract.uuid}": "35"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "ce mois n&#x27;a pas encore commencé" in html
    assert 'value="35"' in html
    assert not HoursRecord.objects.filter(contract=contract).exists()
    response = facilitator_member_client.post(url, {"mois": "2026-12", f"h-{contract.uuid}": "35"})
    assert response.status_code == 302
    assert HoursRecord.objects.get(contract=contract).month == DECEMBER
