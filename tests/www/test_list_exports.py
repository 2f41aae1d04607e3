"""Exports of the list pages: same rows as the page (scope, filters), typed XLSX, safe CSV, column choice,
audit of personal data, queries independent of the number of rows, no eligibility criteria."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from clausier.audit.models import Action, AuditEntry
from clausier.reference.models import EligibilityCriterion
from tests.www.test_lists import LISTS, grow

pytestmark = pytest.mark.django_db


def content_of(response) -> bytes:
    """The body of a (streaming) answer. The test client closes the response once its stream is read; an
    explicit `close()` would send `request_finished`, whose connection clean-up closes the PostgreSQL
    connection of a test running in a transaction."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def sheet_of(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return CalamineWorkbook.from_filelike(io.BytesIO(content_of(response))).get_sheet_by_index(0).to_python()


def csv_lines(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return [line for line in content_of(response).decode("utf-8-sig").split("\r\n") if line]


@pytest.mark.parametrize("name", [*LISTS, "statement_list", "pool_list", "outcome_followup"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_every_list_exports(name, fmt, facilitator_member_client):
    url = reverse(f"www:{name}")
    page = facilitator_member_client.get(url)
    assert page.status_code == 200
    response = facilitator_member_client.get(url, {"format": fmt})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = sheet_of(response) if fmt == "xlsx" else csv_lines(response)
    assert rows, "at least the header row"


def test_page_shows_the_export_control(facilitator_member_client):
    html = facilitator_member_client.get(reverse("www:participant_list"), {"q": "x y"}).content.decode()
    html_all = facilitator_member_client.get(reverse("www:participant_list")).content.decode()
    assert 'data-testid="export"' in html_all
    assert 'name="format" value="xlsx"' in html_all and 'name="format" value="csv"' in html_all
    assert 'name="colonnes" value="date-de-naissance"' in html_all
    assert "Exporter" in html_all
    assert 'data-testid="export"' not in html  # no rows, nothing to export


def test_participants_xlsx_typed_cells_and_no_criteria(world_a, facilitator_member_client):
    response = facilitator_member_client.get(reverse("www:participant_list"), {"format": "xlsx"})
    sheet = sheet_of(response)
    assert sheet[0] == ["Nom", "Prénom", "Date de naissance", "Commune", "Contrats", "Heures réalisées"]
    participant = world_a.participant
    row = next(r for r in sheet[1:] if r[0] == participant.last_name and r[1] == participant.first_name)
    assert row[2] == participant.birth_date  # a date cell, not text
    assert isinstance(row[4], (int, float)) and row[4] >= 1
    assert isinstance(row[5], float) and row[5] > 0
    # Eligibility criteria never leave through a list export.
    text = repr(sheet).lower()
    criteria = EligibilityCriterion.objects.filter(
        pk__in=world_a.assessment.criterion_lines.values("criterion")
    )
    assert criteria.exists()
    for criterion in criteria:
        assert criterion.label.lower() not in text
        assert criterion.code.lower() not in text
    assert "éligib" not in text and "critère" not in text


def test_column_choice_limited_to_declared_columns(facilitator_member_client):
    url = reverse("www:participant_list")
    lines = csv_lines(
        facilitator_member_client.get(url, {"format": "csv", "colonnes": ["commune", "nir", "nom", "pk"]})
    )
    assert lines[0] == "Nom;Prénom;Commune"  # page order, unknown names ignored
    lines = csv_lines(facilitator_member_client.get(url, {"format": "csv", "colonnes": "contrats,password"}))
    assert lines[0] == "Contrats"
    lines = csv_lines(facilitator_member_client.get(url, {"format": "csv", "colonnes": "birth_date"}))
    assert lines[0] == "Nom;Prénom;Date de naissance;Commune;Contrats;Heures réalisées"  # none valid: all


def test_export_follows_search_and_filters(world_a, facilitator_member_client):
    participant = world_a.participant
    url = reverse("www:participant_list")
    lines = csv_lines(facilitator_member_client.get(url, {"format": "csv", "q": participant.last_name}))
    assert len(lines) >= 2
    assert all(line.startswith(f"{participant.last_name};") for line in lines[1:])
    lines = csv_lines(facilitator_member_client.get(url, {"format": "csv", "q": "zzzz-personne"}))
    assert len(lines) == 1


def test_csv_formula_injection_neutralised(world_a, facilitator_member_client):
    participant = world_a.participant
    type(participant).objects.filter(pk=participant.pk).update(last_name="=1+1", first_name="@SOMME(A1)")
    lines = csv_lines(facilitator_member_client.get(reverse("www:participant_list"), {"format": "csv"}))
    assert "'=1+1;'@SOMME(A1);" in "\n".join(lines)


def test_company_export_holds_only_its_rows(world_a, world_b, company_client):
    response = company_client.get(reverse("www:contract_list"), {"format": "xlsx", "colonnes": "participant"})
    sheet = sheet_of(response)
    exported = {(r[0], r[1]) for r in sheet[1:]}
    company = world_a.orgs["company"]
    from clausier.employment.models import Contract

    expected = {
        (c.participant.last_name, c.participant.first_name)
        for c in Contract.objects.filter(company=company).select_related("participant")
    }
    assert exported == expected
    for other in (world_a.other_contract, world_b.contract, world_b.other_contract):
        assert (other.participant.last_name, other.participant.first_name) not in exported


def test_personal_data_export_is_audited(world_a, facilitator_member_client):
    user = world_a.users["facilitator_member"]
    before = AuditEntry.objects.filter(action=Action.EXPORT).count()
    url = reverse("www:participant_list")
    csv_lines(facilitator_member_client.get(url, {"format": "csv", "q": world_a.participant.last_name}))
    entries = AuditEntry.objects.filter(action=Action.EXPORT)
    assert entries.count() == before + 1
    entry = entries.latest("pk")
    assert entry.actor == user
    assert entry.facilitator_id == world_a.facilitator.pk
    assert "Participants" in entry.detail
    assert world_a.participant.last_name in entry.detail  # the filters
    assert "1 ligne" in entry.detail
    # Contracts are personal data too; a list without persons (buyers) is not logged as such.
    csv_lines(facilitator_member_client.get(reverse("www:contract_list"), {"format": "csv"}))
    assert entries.count() == before + 2
    csv_lines(facilitator_member_client.get(reverse("www:buyer_list"), {"format": "csv"}))
    assert entries.count() == before + 2


def test_page_view_is_not_audited_as_export(facilitator_member_client):
    before = AuditEntry.objects.filter(action=Action.EXPORT).count()
    facilitator_member_client.get(reverse("www:participant_list"))
    assert AuditEntry.objects.filter(action=Action.EXPORT).count() == before


@pytest.mark.parametrize("name", ["participant_list", "contract_list", "company_list", "market_list"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_queries_do_not_grow_with_rows(name, fmt, world_a, facilitator_member_client):
    url = reverse(f"www:{name}")
    n = 3
    grow(world_a, n)
    content_of(facilitator_member_client.get(url, {"format": fmt}))  # warm up

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = facilitator_member_client.get(url, {"format": fmt})
            data = content_of(response)  # CSV rows are read while streaming
        return len(queries), data

    few, few_data = measure()
    grow(world_a, 2 * n)
    many, many_data = measure()
    assert len(many_data) > len(few_data)
    assert many == few, f"{few} queries for N rows, {many} for 3N"


def test_outcomes_export_reads_hydrated_rows(facilitator_member_client):
    sheet = sheet_of(facilitator_member_client.get(reverse("www:outcome_followup"), {"format": "xlsx"}))
    assert sheet[0] == [
        "Échéance",
        "Sortie",
        "Nom",
        "Prénom",
        "Employeur",
        "Type de contrat",
        "Marché",
        "Donneur d'ordre",
        "Fin du contrat",
    ]  # the "Action" button column is not exported
    page = facilitator_member_client.get(reverse("www:outcome_followup"))
    assert len(sheet) - 1 == page.context["paginator"].count
