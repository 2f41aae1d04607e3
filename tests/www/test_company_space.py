"""A company's space (issue 8): « Mes obligations » on "/", its grid, template and upload, the people it employs.

World A's company is awarded A's lot (clause of 833 h by the formula, 360 h validated: 120 + 140 + 100 by the
structure that places its employee there, mise à disposition ending 31/07/2024), and directly employs one person
(`direct_contract`, February–July 2024, no eligibility assessment). Its neighbour (`other_company`) holds
another lot; world B is another facilitator.
"""

import datetime
import io
from decimal import Decimal

import pytest
import python_calamine
import xlsxwriter
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import Action, AuditEntry
from clausier.employment.actions import Refused, declare_month
from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.imports.template import HEADER_ROW
from clausier.reference.models import EligibilityCriterion
from tests.factories import (
    AwardFactory,
    ClauseFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    HoursRecordFactory,
    LotFactory,
    acting,
    monthly_hours,
    ref,
)

pytestmark = pytest.mark.django_db

HOME = reverse("www:dashboard")
GRID = reverse("www:my_hours")
TEMPLATE = reverse("www:my_statement_template")
UPLOAD = reverse("www:my_statement_upload")
PEOPLE = reverse("www:my_people")
MAY = datetime.date(2024, 5, 1)


def named_apart(*people):
    """Give `people` last names no other word of a page holds: the world's random surnames may be the same
    or hold one another (LECLERCQ holds CLERC), which would blur "this person is shown, that one is not"."""
    for index, person in enumerate(people):
        person.last_name = f"Nomdistinct{index:02d}"
        person.save(update_fields=["last_name", "normalized_name"])


def queries_of(client, url) -> int:
    client.get(url)  # warm up (session, caches)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def more_obligations(world, company, n, *, employer=None):
    """`n` more lots with a clause awarded to `company`, each with a contract (employed by `employer`, the
    company by default) and validated hours, half the people with a valid eligibility."""
    for i in range(n):
        lot = LotFactory(market__facilitator=world.facilitator, market__buyer=world.orgs["buyer"])
        ClauseFactory(lot=lot)
        AwardFactory(lot=lot, company=company)
        contract = ContractFactory(lot=lot, company=company, employer=employer or company)
        monthly_hours(contract, {datetime.date(2024, 2, 1): 10 + i, datetime.date(2024, 3, 1): 20})
        if i % 2:
            EligibilityAssessmentFactory(participant=contract.participant)


# --- « Mes obligations » -------------------------------------------------------------------------------------


def test_the_home_lists_each_awarded_lot_with_its_progress(world_a, world_b, company_client):
    w = world_a
    response = company_client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Mes obligations</h1>" in html
    lot, clause = w.objects["lot"], w.objects["clause"]
    row = html.split(f'data-lot="{lot.uuid}"')[1].split("</tr>")[0]
    target = clause.hours_target  # 1 000 000 € × 50 % × 5 % ÷ 30 €/h, rounded to the hour
    assert target == Decimal("833")
    assert 'data-testid="lot-target">833 h<' in row
    assert 'data-testid="lot-realised">360 h<' in row
    assert 'data-testid="lot-remaining">473 h<' in row
    assert 'data-testid="lot-completion">43,2 %<' in row
    assert 'data-testid="lot-deadline">31/12/2025<' in row  # the lot's end
    assert 'data-testid="lot-status">En retard<' in row  # ended without reaching its target
    for other in (w.objects["other_lot"], world_b.objects["lot"]):
        assert str(other.uuid) not in html
    # The monthly statements block: grid, own template, upload.
    assert f"{GRID}?mois=" in html and f"{TEMPLATE}?mois=" in html and UPLOAD in html
    # Nothing of the facilitator's dashboard.
    assert 'data-testid="figure-hours"' not in html and 'data-testid="alerts"' not in html


def test_the_status_follows_the_pace_of_the_lot(world_a, company_client, monkeypatch):
    """On 15/06/2024 the lot runs until 31/12/2025: 360 h done, pace 120 h a month → on track."""
    monkeypatch.setattr("clausier.www.spaces.views.today", lambda: datetime.date(2024, 6, 15))
    html = company_client.get(HOME).content.decode()
    row = html.split(f'data-lot="{world_a.objects["lot"].uuid}"')[1].split("</tr>")[0]
    assert 'data-testid="lot-status">En bonne voie<' in row


def test_running_lots_come_first_soonest_deadline_first_then_the_ended_ones_latest_first(
    world_a, company_client, monkeypatch
):
    """On 15/06/2024: lots ending 30/09/2024 and 31/12/2025 (A's lot) and one without an end run; lots ended
    on 31/01/2024 and 31/05/2024 come after, the latest first."""
    monkeypatch.setattr("clausier.www.spaces.views.today", lambda: datetime.date(2024, 6, 15))
    company = world_a.orgs["company"]

    def lot_ending(end):
        lot = LotFactory(
            market__facilitator=world_a.facilitator,
            market__buyer=world_a.orgs["buyer"],
            market__end_date=None,
            end_date=end,
        )
        ClauseFactory(lot=lot)
        AwardFactory(lot=lot, company=company)
        return lot

    soon, open_ended = lot_ending(datetime.date(2024, 9, 30)), lot_ending(None)
    ended_early, ended_late = lot_ending(datetime.date(2024, 1, 31)), lot_ending(datetime.date(2024, 5, 31))
    html = company_client.get(HOME).content.decode()
    expected = [soon, world_a.objects["lot"], open_ended, ended_late, ended_early]
    positions = [html.index(f'data-lot="{lot.uuid}"') for lot in expected]
    assert positions == sorted(positions)


def test_the_home_costs_the_same_queries_for_1_or_12_lots(
    world_a, company_client, django_assert_max_num_queries
):
    company = world_a.orgs["company"]
    small = queries_of(company_client, HOME)
    more_obligations(world_a, company, 11)
    MonthlyStatement.objects.filter(employer=company).update(status=StatementStatus.DRAFT)
    with django_assert_max_num_queries(small):
        response = company_client.get(HOME)
    assert response.content.decode().count('data-testid="lot-row"') == 12


# --- The people it employs ------------------------------------------------------------------------------------


def test_people_with_eligibility_validated_or_to_validate_never_the_criteria(
    world_a, world_b, company_client
):
    w = world_a
    placed, direct = w.objects["participant"], w.objects["direct_contract"].participant
    named_apart(placed, direct, w.objects["other_participant"], world_b.objects["participant"])
    html = company_client.get(PEOPLE).content.decode()
    assert html.count('data-testid="row"') == 2
    # The person placed by the structure on its lot: assessed on 01/01/2024 for 24 months → validated.
    row = html.split(escape(placed.last_name.upper()))[1].split("</tr>")[0]
    assert 'data-testid="eligibility">Validée<' in row and "lot " + w.objects["lot"].number in row
    assert escape(w.orgs["structure"].name) in row and "360" in row
    # Its own employee, never assessed → to be validated.
    row = html.split(escape(direct.last_name.upper()))[1].split("</tr>")[0]
    assert 'data-testid="eligibility">À valider<' in row
    # Never why: no criterion label or evidence.
    criterion = ref(EligibilityCriterion, "deld")
    assert escape(criterion.label) not in html and "France Travail" not in html
    for other in (w.objects["other_participant"], world_b.objects["participant"]):
        assert escape(other.last_name.upper()) not in html
    # Filters.
    only = company_client.get(PEOPLE, {"eligibility": "a-valider"}).content.decode()
    assert only.count('data-testid="row"') == 1 and escape(direct.last_name.upper()) in only


def test_people_costs_the_same_queries_for_2_or_22_people(
    world_a, company_client, django_assert_max_num_queries
):
    small = queries_of(company_client, PEOPLE)
    more_obligations(world_a, world_a.orgs["company"], 20)
    with django_assert_max_num_queries(small):
        response = company_client.get(PEOPLE)
    assert response.content.decode().count('data-testid="row"') == 22


# --- Hours online: fill in, submit, never validate ------------------------------------------------------------


def grid_post(client, contract, hours, month="2024-05"):
    return client.post(GRID, {"mois": month, f"h-{contract.uuid}": hours})


def transition(client, statement, to, comment=""):
    url = reverse("www:statement_transition", kwargs={"uuid": statement.uuid})
    return client.post(url, {"vers": to, "commentaire": comment})


def test_the_company_fills_in_and_submits_its_statement_but_cannot_validate_it(world_a, client_for):
    w = world_a
    company, member = client_for(w.users["company"]), client_for(w.users["facilitator_member"])
    direct = w.objects["direct_contract"]

    page = company.get(GRID, {"mois": "2024-05"}).content.decode()
    assert f'name="h-{direct.uuid}"' in page
    assert (
        f'data-contract="{w.objects["contract"].uuid}"' not in page
    )  # the structure's employee: not its own
    response = grid_post(company, direct, "100,5")
    assert response.status_code == 302
    statement = MonthlyStatement.objects.get(employer=w.orgs["company"], month=MAY)
    assert (statement.facilitator, statement.status) == (w.facilitator, StatementStatus.DRAFT)
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == Decimal("100.50")
    entry = AuditEntry.objects.get(action=Action.UPDATE, object_id=str(statement.uuid))
    assert entry.actor == w.users["company"] and entry.facilitator_id == w.facilitator.pk

    detail = company.get(reverse("www:statement_detail", kwargs={"uuid": statement.uuid})).content.decode()
    assert "Transmettre le relevé" in detail and "Valider le relevé" not in detail
    assert 'data-testid="employer-grid-link"' in detail
    # Validating by editing the form: refused, nothing changes.
    transition(company, statement, "validated")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.DRAFT
    assert transition(company, statement, "submitted").status_code == 302
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SUBMITTED

    # Sent: read-only in its grid, and a POST (the form edited back) changes nothing.
    page = company.get(GRID, {"mois": "2024-05"}).content.decode()
    assert f'name="h-{direct.uuid}"' not in page and "transmis au facilitateur" in page
    grid_post(company, direct, "150")
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == Decimal("100.50")
    with pytest.raises(Refused, match="transmis au facilitateur"):
        declare_month(
            facilitator=w.facilitator,
            month=MAY,
            entries=[_entry(direct, "150")],
            by=acting(w.users["company"]),
        )
    # The staff return it: the company corrects it, then sends it again; the staff validate.
    transition(member, statement, "returned", "Heures de mai à revoir")
    grid_post(company, direct, "120")
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == Decimal("120")
    transition(company, statement, "submitted")
    transition(member, statement, "validated")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED


def _entry(contract, hours):
    from clausier.employment.actions import MonthEntry

    return MonthEntry(contract, hours)


def test_the_grid_takes_only_the_companys_own_contracts(world_a, world_b, client_for):
    """Fields for another employer's contract, or another facilitator's, are ignored; the action refuses them."""
    w = world_a
    company = client_for(w.users["company"])
    structure_contract, b_contract = w.objects["contract"], world_b.objects["direct_contract"]
    before = list(HoursRecord.objects.order_by("pk").values_list("contract_id", "month", "hours"))
    response = company.post(
        GRID, {"mois": "2024-05", f"h-{structure_contract.uuid}": "99", f"h-{b_contract.uuid}": "99"}
    )
    assert response.status_code == 302
    assert list(HoursRecord.objects.order_by("pk").values_list("contract_id", "month", "hours")) == before
    assert not MonthlyStatement.objects.filter(month=MAY).exists()
    with pytest.raises(Refused, match="dont votre organisation est l'employeur"):
        declare_month(
            facilitator=w.facilitator,
            month=MAY,
            entries=[_entry(structure_contract, "99")],
            by=acting(w.users["company"]),
        )


# --- The statement template, downloaded and uploaded back -----------------------------------------------------


def template_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    return workbook.get_sheet_by_index(0).to_python()


def filled(rows, hours_by_uuid: dict, extra_rows=()) -> bytes:
    """The template as the company sends it back: its cells, the hours typed in, maybe added rows."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    lines = [list(row) for row in rows] + [list(row) for row in extra_rows]
    for index, row in enumerate(lines):
        if index > HEADER_ROW and row and str(row[0]) in hours_by_uuid:
            row[7] = hours_by_uuid[str(row[0])]
        for col, value in enumerate(row):
            if value not in ("", None):
                sheet.write(index, col, value)
    workbook.close()
    return buffer.getvalue()


def upload(client, data, action="importer", name="releve.xlsx", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data), "action": action, **extra})


def test_the_company_downloads_its_own_prefilled_template(world_a, company_client):
    w = world_a
    direct = w.objects["direct_contract"]
    HoursRecordFactory(
        contract=direct, month=datetime.date(2024, 3, 1), hours=Decimal("42"), statement_status="draft"
    )
    rows = template_rows(company_client.get(TEMPLATE, {"mois": "2024-03"}))
    contracts = [row[0] for row in rows[HEADER_ROW + 1 :]]
    assert contracts == [str(direct.uuid)]  # its own employee only: not the structure's, not the neighbour's
    assert rows[HEADER_ROW + 1][7] == 42  # hours already recorded, pre-filled
    assert rows[1][1] == f"Employeur : {w.orgs['company'].name}"
    export = AuditEntry.objects.get(action=Action.EXPORT, object_id=str(w.orgs["company"].uuid))
    assert export.facilitator_id == w.facilitator.pk  # in the facilitator's audit log
    assert export.actor == w.users["company"]


def test_another_facilitators_template_is_404(world_a, world_b, company_client):
    response = company_client.get(
        TEMPLATE, {"mois": "2024-03", "facilitateur": str(world_b.facilitator.uuid)}
    )
    assert response.status_code == 404


def test_the_filled_template_is_checked_then_imported(world_a, company_client):
    w = world_a
    direct = w.objects["direct_contract"]
    rows = template_rows(company_client.get(TEMPLATE, {"mois": "2024-05"}))
    data = filled(rows, {str(direct.uuid): 77.5})

    checked = upload(company_client, data, action="verifier")
    assert checked.status_code == 200 and 'data-testid="upload-ok"' in checked.content.decode()
    assert "1 à créer" in checked.content.decode()
    assert not HoursRecord.objects.filter(contract=direct, month=MAY).exists()  # checking writes nothing

    response = upload(company_client, data)
    assert response.status_code == 302 and response["Location"] == reverse("www:statement_list")
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == Decimal("77.50")
    statement = MonthlyStatement.objects.get(employer=w.orgs["company"], month=MAY)
    assert statement.status == StatementStatus.DRAFT
    assert (
        AuditEntry.objects.filter(action=Action.UPDATE, object_id=str(statement.uuid)).get().actor
        == (w.users["company"])
    )
    # Sent, it no longer takes the file.
    statement.status = StatementStatus.SUBMITTED
    statement.save()
    refused = upload(company_client, filled(rows, {str(direct.uuid): 80}))
    assert refused.status_code == 422
    assert "Ligne 5, colonne « Heures travaillées » (H) : le relevé de 05/2024 est déjà transmis" in (
        refused.content.decode()
    )
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == Decimal("77.50")


def test_rows_of_another_employer_are_refused_naming_the_row(world_a, world_b, company_client):
    """The structure's contract on the company's own lot, the neighbour's, another facilitator's: refused, by row;
    a person of another employer typed by name is not found (the file learns nothing about them)."""
    w = world_a
    direct = w.objects["direct_contract"]
    rows = template_rows(company_client.get(TEMPLATE, {"mois": "2024-05"}))
    structure_contract, neighbour = w.objects["contract"], w.objects["other_contract"]
    month = rows[HEADER_ROW + 1][6]
    extra = [
        [str(structure_contract.uuid), "", "", "", "", "", month, 50, ""],  # row 6
        [str(neighbour.uuid), "", "", "", "", "", month, 50, ""],  # row 7
        [str(world_b.objects["direct_contract"].uuid), "", "", "", "", "", month, 50, ""],  # row 8
    ]
    before = HoursRecord.objects.count()
    response = upload(company_client, filled(rows, {str(direct.uuid): 70}, extra))
    assert response.status_code == 422
    html = response.content.decode()
    label = "colonne « Identifiant contrat (ne pas modifier) » (A)"
    for row in (6, 7):
        assert escape(f"Ligne {row}, {label} : ce contrat n'est pas l'un des vôtres") in html, row
    assert escape(f"Ligne 8, {label} : contrat introuvable") in html
    assert HoursRecord.objects.count() == before  # all or nothing: not even the company's own row

    # By name: the structure's employee, on the company's own lot, is not among its contracts.
    from tests.imports.corpus import csv_bytes

    person = structure_contract.participant
    lines = [
        ["Nom", "Date de naissance", "Lot", "Mois", "Heures travaillées"],
        [person.last_name, f"{person.birth_date:%d/%m/%Y}", w.objects["lot"].number, "05/2024", "50"],
    ]
    response = upload(company_client, csv_bytes(lines), name="releve.csv")
    assert response.status_code == 422
    assert "Ligne 2, colonne « Nom » (A) : aucun contrat trouvé pour" in response.content.decode()
    assert HoursRecord.objects.count() == before


def test_a_file_that_is_not_a_statement_is_explained(world_a, company_client):
    from tests.imports.corpus import csv_bytes

    response = upload(company_client, csv_bytes([["Nom", "Commentaire"], ["Dupont", "rien"]]), name="x.csv")
    assert response.status_code == 422
    html = response.content.decode()
    assert "La colonne « Mois » est obligatoire" in html
    response = upload(company_client, b"\x00\x01 pas un tableur", name="x.xlsx")
    assert response.status_code == 422


# --- Editing URLs ---------------------------------------------------------------------------------------------


def test_another_companys_lot_and_market_are_404(world_a, world_b, company_client):
    w = world_a
    for name, obj in (
        ("www:lot_detail", w.objects["other_lot"]),
        ("www:market_detail", w.objects["other_market"]),
        ("www:lot_detail", world_b.objects["lot"]),
        ("www:lot_hours", w.objects["lot"]),  # the staff's grid of its own lot
        ("www:statement_template", w.orgs["company"]),  # the staff's template download
    ):
        assert company_client.get(reverse(name, kwargs={"uuid": obj.uuid})).status_code == 404, name
    assert (
        company_client.get(reverse("www:lot_detail", kwargs={"uuid": w.objects["lot"].uuid})).status_code
        == 200
    )


def test_an_employer_with_two_facilitators_gets_both_templates(world_a, world_b, company_client):
    a, b = world_a, world_b
    company = a.orgs["company"]
    company.partnerships.create(facilitator=b.facilitator)
    lot = LotFactory(market__facilitator=b.facilitator)
    ClauseFactory(lot=lot)
    b_contract = ContractFactory(lot=lot, company=company, employer=company)
    html = company_client.get(HOME).content.decode()
    assert html.count('data-testid="template-link"') == 2
    assert str(lot.uuid) in html  # its lot of B is one of its obligations
    rows = template_rows(
        company_client.get(TEMPLATE, {"mois": "2024-05", "facilitateur": str(b.facilitator.uuid)})
    )
    assert [row[0] for row in rows[HEADER_ROW + 1 :]] == [str(b_contract.uuid)]
    # The grid saves each facilitator's contracts in that facilitator's statement.
    client = company_client
    client.post(
        GRID,
        {"mois": "2024-05", f"h-{b_contract.uuid}": "10", f"h-{a.objects['direct_contract'].uuid}": "20"},
    )
    statements = MonthlyStatement.objects.filter(employer=company, month=MAY)
    assert sorted(statements.values_list("facilitator__name", flat=True)) == [
        a.facilitator.name,
        b.facilitator.name,
    ]


def test_uploading_for_another_facilitator_is_refused(world_a, world_b, company_client):
    """The facilitator field edited to another facilitator's: refused, nothing written."""
    direct = world_a.objects["direct_contract"]
    rows = template_rows(company_client.get(TEMPLATE, {"mois": "2024-05"}))
    before = HoursRecord.objects.count()
    response = upload(
        company_client, filled(rows, {str(direct.uuid): 70}), facilitator=str(world_b.facilitator.uuid)
    )
    assert response.status_code == 422
    assert HoursRecord.objects.count() == before
