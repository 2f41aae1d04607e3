"""A statement's steps where the work is done: the grid shows each employer's statement of the month and
offers submit / validate / return, each through a confirmation that says what it does, then back to the
grid; the lot's realised hours move only once validated. The employer's shortcut opens the first month it
still has to send."""

import datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.urls import reverse

from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.employment.queries import employer_month_to_declare
from clausier.procurement.progress import lots_progress
from tests.factories import (
    CompanyFactory,
    ContractFactory,
    FacilitatorFactory,
    LotFactory,
    MonthlyStatementFactory,
    partner,
)

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2026, 12, 7)  # the last complete month is November 2026
S = StatementStatus


def statuses(company, facilitator, months: dict):
    for month, status in months.items():
        MonthlyStatementFactory(facilitator=facilitator, employer=company, month=month, status=status)


@pytest.fixture
def employer():
    facilitator = FacilitatorFactory()
    company = partner(CompanyFactory, facilitator)
    ContractFactory(
        lot=LotFactory(market__facilitator=facilitator),
        company=company,
        start_date=D(2026, 1, 12),
        end_date=None,
    )
    return facilitator, company


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({}, D(2026, 1, 1)),  # nothing sent: the contract's first month
        ({D(2026, m, 1): S.VALIDATED for m in range(1, 11)}, D(2026, 11, 1)),  # January–October done
        (
            {D(2026, m, 1): S.SUBMITTED for m in range(1, 12)},
            D(2026, 12, 1),
        ),  # all sent: the month in progress
        ({**{D(2026, m, 1): S.VALIDATED for m in range(1, 12)}, D(2026, 3, 1): S.RETURNED}, D(2026, 3, 1)),
        ({D(2026, 1, 1): S.VALIDATED, D(2026, 2, 1): S.DRAFT}, D(2026, 2, 1)),  # a draft is not sent
    ],
)
def test_the_employers_month_to_declare(employer, sent, expected):
    facilitator, company = employer
    statuses(company, facilitator, sent)
    assert employer_month_to_declare(company, today=TODAY) == expected


def test_each_facilitator_of_the_employer_gets_its_statement(employer):
    facilitator, company = employer
    other = FacilitatorFactory()
    ContractFactory(
        lot=LotFactory(market__facilitator=other),
        company=company,
        start_date=D(2026, 6, 1),
        end_date=D(2026, 6, 30),
    )
    statuses(company, facilitator, {D(2026, m, 1): S.VALIDATED for m in range(1, 12)})
    assert employer_month_to_declare(company, today=TODAY) == D(2026, 6, 1)  # June is missing for the other


def test_old_contracts_only_give_the_last_complete_month():
    facilitator = FacilitatorFactory()
    company = partner(CompanyFactory, facilitator)
    ContractFactory(lot=LotFactory(market__facilitator=facilitator), company=company)  # 2024
    assert employer_month_to_declare(company, today=TODAY) == D(2026, 11, 1)


def test_the_company_space_opens_the_first_month_to_send(world_a, client_for, monkeypatch):
    monkeypatch.setattr("clausier.www.spaces.views.today", lambda: TODAY)
    company = world_a.orgs["company"]
    ContractFactory(lot=world_a.objects["lot"], company=company, start_date=D(2026, 9, 1), end_date=None)
    statuses(company, world_a.facilitator, {D(2026, 9, 1): S.VALIDATED, D(2026, 10, 1): S.SUBMITTED})
    client = client_for(world_a.users["company"])

    html = client.get(reverse("www:dashboard")).content.decode()

    assert f'href="{reverse("www:my_hours")}?mois=2026-11">Saisir les heures de novembre 2026<' in html
    grid = client.get(reverse("www:my_hours")).content.decode()  # the menu's « Saisir mes heures »
    assert "Heures mensuelles" in grid and 'value="2026-11"' in grid


def grid_url(world):
    return reverse("www:structure_hours", kwargs={"uuid": world.orgs["structure"].uuid}) + "?mois=2024-05"


def test_from_the_grid_the_staff_validate_the_month_and_the_lot_moves(world_a, client_for):
    staff = client_for(world_a.users["facilitator_member"])
    contract, lot = world_a.objects["contract"], world_a.objects["lot"]
    before = lots_progress([lot], today=TODAY)[lot.pk].followup.realised
    staff.post(grid_url(world_a), {"mois": "2024-05", f"h-{contract.uuid}": "80,5"})
    statement = MonthlyStatement.objects.get(employer=world_a.orgs["structure"], month=D(2024, 5, 1))
    assert lots_progress([lot], today=TODAY)[lot.pk].followup.realised == before  # a draft counts nothing

    grid = staff.get(grid_url(world_a)).content.decode()
    step = (
        reverse("www:statement_transition", kwargs={"uuid": statement.uuid})
        + "?vers=validated&amp;retour="
        + quote(grid_url(world_a), safe="/")
    )
    assert 'data-testid="grid-statement"' in grid and "Brouillon" in grid
    assert f'href="{step}"' in grid
    assert "qu'une fois le relevé de leur employeur validé" in grid

    confirm = staff.get(step.replace("&amp;", "&"))
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Confirmer : valider le relevé" in page
    assert "80,5 h" in page and "comptent dès lors dans le suivi des lots" in page
    assert f'value="{grid_url(world_a)}"' in page.replace("&amp;", "&")
    assert MonthlyStatement.objects.get(pk=statement.pk).status == S.DRAFT  # a GET changes nothing

    done = staff.post(
        reverse("www:statement_transition", kwargs={"uuid": statement.uuid}),
        {"vers": "validated", "commentaire": "", "retour": grid_url(world_a)},
    )

    assert done.status_code == 302 and done["Location"] == grid_url(world_a)
    assert MonthlyStatement.objects.get(pk=statement.pk).status == S.VALIDATED
    after = lots_progress([lot], today=TODAY)[lot.pk].followup.realised
    counted = HoursRecord.objects.get(contract=contract, month=D(2024, 5, 1)).counted_hours
    assert after - before == counted == Decimal("80.5")


def test_the_way_back_never_leaves_the_site(world_a, client_for):
    statement = world_a.objects["hours"].statement
    staff = client_for(world_a.users["facilitator_member"])
    url = reverse("www:statement_transition", kwargs={"uuid": statement.uuid})

    response = staff.post(
        url, {"vers": "returned", "commentaire": "À revoir", "retour": "https://ailleurs.example/"}
    )

    assert response["Location"] == reverse("www:statement_detail", kwargs={"uuid": statement.uuid})


def test_a_step_one_may_not_take_has_no_confirmation(world_a, client_for):
    statement = world_a.objects["hours"].statement  # validated
    url = reverse("www:statement_transition", kwargs={"uuid": statement.uuid})
    employer = client_for(world_a.users["structure"])

    for client, to in (
        (employer, "returned"),
        (client_for(world_a.users["facilitator_member"]), "validated"),
    ):
        response = client.get(url, {"vers": to})
        assert response.status_code == 302
        assert response["Location"] == reverse("www:statement_detail", kwargs={"uuid": statement.uuid})


def test_the_employer_is_offered_to_submit_not_to_validate(world_a, client_for):
    structure = world_a.orgs["structure"]
    statement = MonthlyStatementFactory(
        facilitator=world_a.facilitator, employer=structure, month=D(2024, 6, 1), status=S.DRAFT
    )
    HoursRecord.objects.create(
        facilitator=world_a.facilitator,
        contract=world_a.objects["contract"],
        month=D(2024, 6, 1),
        hours=Decimal("70"),
        training_hours=Decimal("0"),
        counted_hours=Decimal("70"),
        statement=statement,
    )
    client = client_for(world_a.users["structure"])

    grid = client.get(reverse("www:my_hours"), {"mois": "2024-06"}).content.decode()
    page = client.get(reverse("www:statement_detail", kwargs={"uuid": statement.uuid})).content.decode()

    assert "Transmettre le relevé" in grid and "Valider le relevé" not in grid
    assert "Transmettre le relevé" in page and "?vers=submitted" in page
    confirm = client.get(
        reverse("www:statement_transition", kwargs={"uuid": statement.uuid}), {"vers": "submitted"}
    )
    assert "Vous ne pourrez plus le modifier" in confirm.content.decode()
    assert world_a.objects["lot"].market.reference in confirm.content.decode()
    assert (
        reverse("www:lot_detail", kwargs={"uuid": world_a.objects["lot"].uuid})
        not in confirm.content.decode()
    )
