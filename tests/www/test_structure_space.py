"""An insertion structure's space (issue 8): its mises à disposition and subcontracting, hours and statements.

World A's structure employs A's participant placed with A's company on A's lot (mise à disposition, CTTI,
February–July 2024), with 120 + 140 + 100 h in validated statements (February to April). Its neighbour
(`other_structure`) places someone with the other company; the company's own employee is not the structure's.
"""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.imports.template import HEADER_ROW
from tests.factories import ContractFactory, ref
from tests.www.test_company_space import (
    GRID,
    HOME,
    MAY,
    PEOPLE,
    TEMPLATE,
    filled,
    grid_post,
    more_obligations,
    named_apart,
    queries_of,
    template_rows,
    transition,
    upload,
)

pytestmark = pytest.mark.django_db


def test_the_home_shows_its_placements_by_company_and_lot_with_their_hours(
    world_a, world_b, structure_client
):
    w = world_a
    response = structure_client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Mon espace</h1>" in html
    rows = html.split('data-testid="group-row"')[1:]
    assert len(rows) == 1
    row = rows[0].split("</tr>")[0]
    assert escape(w.orgs["company"].name) in row
    assert f"{w.objects['market'].reference} — lot {w.objects['lot'].number}" in row
    assert escape(ref(type(w.objects["contract"].modality), "provision").label) in row
    assert 'data-testid="group-declared">360 h<' in row and 'data-testid="group-realised">360 h<' in row
    for other in (w.orgs["other_company"], world_b.orgs["company"]):
        assert escape(other.name) not in html
    # Its statements (validated February to April) and the links to declare the next ones.
    recent = html.split('data-testid="recent-statements"')[1].split("</ul>")[0]
    assert recent.count("<li>") == 3 and "04/2024" in recent
    assert f"{GRID}?mois=" in html and f"{TEMPLATE}?mois=" in html


def test_only_validated_hours_count_as_realised(world_a, structure_client):
    HoursRecord.objects.filter(contract=world_a.objects["contract"], month=datetime.date(2024, 4, 1)).update(
        statement=None
    )
    row = structure_client.get(HOME).content.decode().split('data-testid="group-row"')[1].split("</tr>")[0]
    assert 'data-testid="group-declared">360 h<' in row and 'data-testid="group-realised">260 h<' in row


def test_the_home_costs_the_same_queries_for_1_or_12_placements(
    world_a, structure_client, django_assert_max_num_queries
):
    structure = world_a.orgs["structure"]
    small = queries_of(structure_client, HOME)
    more_obligations(world_a, world_a.orgs["other_company"], 11, employer=structure)
    with django_assert_max_num_queries(small):
        response = structure_client.get(HOME)
    assert response.content.decode().count('data-testid="group-row"') == 12


def test_people_are_the_structures_employees(world_a, structure_client, django_assert_max_num_queries):
    w = world_a
    named_apart(
        w.objects["participant"], w.objects["direct_contract"].participant, w.objects["other_participant"]
    )
    html = structure_client.get(PEOPLE).content.decode()
    assert html.count('data-testid="row"') == 1
    assert escape(w.objects["participant"].last_name.upper()) in html
    assert 'data-testid="eligibility">Validée<' in html
    for other in (w.objects["direct_contract"].participant, w.objects["other_participant"]):
        assert escape(other.last_name.upper()) not in html
    small = queries_of(structure_client, PEOPLE)
    more_obligations(world_a, w.orgs["company"], 15, employer=w.orgs["structure"])
    with django_assert_max_num_queries(small):
        assert structure_client.get(PEOPLE).content.decode().count('data-testid="row"') == 16


def test_the_structure_fills_in_and_submits_its_month_but_cannot_validate_it(world_a, client_for):
    w = world_a
    structure = client_for(w.users["structure"])
    contract, direct = w.objects["contract"], w.objects["direct_contract"]

    page = structure.get(GRID, {"mois": "2024-05"}).content.decode()
    assert f'name="h-{contract.uuid}"' in page
    assert f'data-contract="{direct.uuid}"' not in page  # the company's own employee
    # The company's employee posted by editing the form: ignored.
    response = structure.post(GRID, {"mois": "2024-05", f"h-{contract.uuid}": "80", f"h-{direct.uuid}": "99"})
    assert response.status_code == 302
    assert HoursRecord.objects.get(contract=contract, month=MAY).hours == Decimal("80")
    assert not HoursRecord.objects.filter(contract=direct).exists()
    statement = MonthlyStatement.objects.get(employer=w.orgs["structure"], month=MAY)
    assert statement.status == StatementStatus.DRAFT

    transition(structure, statement, "validated")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.DRAFT
    transition(structure, statement, "submitted")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SUBMITTED


def test_a_validated_month_is_read_only_in_its_grid(world_a, structure_client):
    contract = world_a.objects["contract"]
    page = structure_client.get(GRID, {"mois": "2024-02"}).content.decode()
    assert f'name="h-{contract.uuid}"' not in page and 'data-testid="readonly-note"' in page
    grid_post(structure_client, contract, "10", month="2024-02")
    assert HoursRecord.objects.get(contract=contract, month=datetime.date(2024, 2, 1)).hours == Decimal("120")


def test_its_template_and_upload_take_only_its_contracts(world_a, structure_client):
    w = world_a
    contract = w.objects["contract"]
    rows = template_rows(structure_client.get(TEMPLATE, {"mois": "2024-05"}))
    assert [row[0] for row in rows[HEADER_ROW + 1 :]] == [str(contract.uuid)]
    # The company's own employee (same lot), added by hand: refused by row, nothing written.
    month = rows[HEADER_ROW + 1][6]
    extra = [[str(w.objects["direct_contract"].uuid), "", "", "", "", "", month, 50, ""]]
    response = upload(structure_client, filled(rows, {str(contract.uuid): 90}, extra))
    assert response.status_code == 422
    assert "Ligne 6, colonne « Identifiant contrat (ne pas modifier) » (A) : ce contrat n&#x27;est pas" in (
        response.content.decode()
    )
    assert not HoursRecord.objects.filter(month=MAY).exists()
    # Its own row alone is imported.
    assert upload(structure_client, filled(rows, {str(contract.uuid): 90})).status_code == 302
    assert HoursRecord.objects.get(contract=contract, month=MAY).hours == Decimal("90")


def test_subcontracting_shows_too(world_a, structure_client):
    w = world_a
    ContractFactory(
        lot=w.objects["other_lot"],
        company=w.orgs["other_company"],
        employer=w.orgs["structure"],
        modality=ref(type(w.objects["contract"].modality), "subcontracting"),
        contract_type=ref(type(w.objects["contract"].contract_type), "cddi"),
    )
    html = structure_client.get(HOME).content.decode()
    assert html.count('data-testid="group-row"') == 2
    assert "Sous-traitance" in html and escape(w.orgs["other_company"].name) in html


@pytest.mark.parametrize("url", [reverse("www:directory"), reverse("www:bilan_index")])
def test_the_structure_has_no_directory_nor_bilans(world_a, structure_client, url):
    response = structure_client.get(url)
    assert response.status_code == 404 or 'data-testid="no-bilan"' in response.content.decode()
