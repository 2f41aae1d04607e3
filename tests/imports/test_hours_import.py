"""Kind "heures": ugly but real-looking monthly statements land, bad ones are refused and write nothing."""

import datetime
import io
import json
from decimal import Decimal

import pytest
import python_calamine
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clausier.audit.models import AuditEntry
from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.imports.models import MappingTemplate
from clausier.imports.pipeline import error_workbook, run
from clausier.imports.template import statement_template
from tests.factories import ContractFactory, ParticipantFactory
from tests.imports.corpus import csv_bytes, xlsx_bytes

MAY, JUNE = datetime.date(2024, 5, 1), datetime.date(2024, 6, 1)


@pytest.fixture
def people(world_a):
    """Two direct-hire contracts of world A's company on its lot, with people named in French."""
    w = world_a
    lefevre = ContractFactory(
        lot=w.lot,
        company=w.company,
        participant=ParticipantFactory(
            facilitator=w.facilitator,
            last_name="Lefèvre",
            first_name="Hélène",
            birth_date=datetime.date(1985, 4, 2),
        ),
    )
    oeuvray = ContractFactory(
        lot=w.lot,
        company=w.company,
        participant=ParticipantFactory(
            facilitator=w.facilitator,
            last_name="Œuvray",
            first_name="Zoé",
            birth_date=datetime.date(1999, 12, 31),
        ),
    )
    return w, lefevre, oeuvray


def statement_lines(lot_number, market_ref, *, hours=("151,67", "35 h")):
    return [
        ["Relevé mensuel des heures d'insertion", "", "", "", "", "", "", ""],
        ["Entreprise : Bâtiments Réunis — mai 2024", "", "", "", "", "", "", ""],
        ["", "", "", "", "", "", "", ""],
        ["Nom", "Prénom", "Né(e) le", "N° marché", "Lot", "Mois", "Nb heures", "dont formation"],
        ["LEFEVRE", "Hélène", "02/04/1985", market_ref, f"Lot {lot_number}", "05/2024", hours[0], ""],
        ["Œuvray", "Zoé", "31/12/1999", market_ref, lot_number, "mai 2024", hours[1], "7h30"],
        ["", "", "", "", "", "", "", ""],
        ["TOTAL", "", "", "", "", "", "186,67", ""],
    ]


def import_csv(w, lines, **kwargs):
    data = csv_bytes(lines, encoding=kwargs.pop("encoding", "cp1252"))
    return run("heures", data, filename="releve.csv", facilitator=w.facilitator, **kwargs)[0]


def test_an_ugly_csv_statement_lands(people):
    w, lefevre, oeuvray = people
    report = import_csv(
        w, statement_lines(w.lot.number, w.market.reference), by=w.users["facilitator_member"]
    )
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 2, "update": 0, "unchanged": 0}
    assert report.skipped == 1  # the total row
    first = HoursRecord.objects.get(contract=lefevre, month=MAY)
    second = HoursRecord.objects.get(contract=oeuvray, month=MAY)
    assert (first.hours, second.hours, second.training_hours) == (Decimal("151.67"), 35, Decimal("7.5"))
    assert MonthlyStatement.objects.get(employer=w.company, month=MAY).status == StatementStatus.DRAFT


def test_reimporting_the_same_file_changes_nothing(people):
    w, lefevre, _ = people
    lines = statement_lines(w.lot.number, w.market.reference)
    import_csv(w, lines)
    audit = AuditEntry.objects.count()
    again = import_csv(w, lines)
    assert again.status == "committed"
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2}
    assert HoursRecord.objects.filter(contract=lefevre).count() == 1
    assert AuditEntry.objects.count() == audit


def test_a_changed_value_is_updated_and_audited(people):
    w, lefevre, _ = people
    import_csv(w, statement_lines(w.lot.number, w.market.reference))
    report = import_csv(w, statement_lines(w.lot.number, w.market.reference, hours=("140", "35 h")))
    assert report.counts == {"create": 0, "update": 1, "unchanged": 1}
    assert HoursRecord.objects.get(contract=lefevre, month=MAY).hours == 140
    entry = AuditEntry.objects.filter(object_type="employment.monthlystatement").latest("pk")
    assert entry.changes == {str(lefevre.uuid): ["151.67", "140"]}


def test_every_problem_is_reported_with_row_and_column_and_nothing_is_written(people):
    w, _, _ = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("douze", "-3"))
    lines[5][2] = "31/02/1999"
    lines.insert(
        6, ["Inconnu", "Jean", "01/01/1980", w.market.reference, w.lot.number, "13/2024", "10", "20"]
    )
    report = import_csv(w, lines)
    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert "Ligne 5, colonne « Nb heures » (G) : « douze » n'est pas un nombre d'heures." in messages
    assert any(m.startswith("Ligne 6, colonne « Nb heures » (G)") and "négatif" in m for m in messages)
    assert any(m.startswith("Ligne 6, colonne « Né(e) le » (C)") for m in messages)
    assert any(m.startswith("Ligne 7, colonne « Mois » (F)") for m in messages)
    assert not HoursRecord.objects.filter(month=MAY).exists()
    assert not MonthlyStatement.objects.filter(month=MAY).exists()


def test_a_duplicate_row_and_out_of_contract_month_are_refused(people):
    w, lefevre, _ = people
    lines = statement_lines(w.lot.number, w.market.reference)
    lines.insert(6, list(lines[4]))
    lines.insert(
        7, ["Lefèvre", "Hélène", "02/04/1985", w.market.reference, w.lot.number, "09/2024", "10", ""]
    )
    report = import_csv(w, lines)
    messages = [str(p) for p in report.problems]
    assert any(m.startswith("Ligne 7") and "déjà des heures" in m and "ligne 5" in m for m in messages)
    assert any(m.startswith("Ligne 8, colonne « Mois »") and "en dehors des dates" in m for m in messages)
    assert not HoursRecord.objects.filter(contract=lefevre).exists()


def test_a_validated_month_is_not_changed(world_a):
    # world A's contract has validated statements for February–April 2024 (120 h in February).
    w = world_a
    contract = w.contract
    person = contract.participant
    line = [person.last_name, person.first_name, f"{person.birth_date:%d/%m/%Y}", w.market.reference]
    same = import_csv(
        w,
        [
            ["Nom", "Prénom", "Date de naissance", "Marché", "Lot", "Mois", "Heures"],
            [*line, w.lot.number, "02/2024", "120"],
        ],
    )
    assert same.status == "committed" and same.counts["unchanged"] == 1
    changed = import_csv(
        w,
        [
            ["Nom", "Prénom", "Date de naissance", "Marché", "Lot", "Mois", "Heures"],
            [*line, w.lot.number, "02/2024", "99"],
        ],
    )
    assert changed.status == "refused"
    assert "est validé" in str(changed.problems[0])
    assert HoursRecord.objects.get(contract=contract, month=datetime.date(2024, 2, 1)).hours == 120


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"\x00\x01\x02garbage" * 50, "n'est pas un tableur lisible"),
        (csv_bytes([["Nom", "Ville"], ["Dupont", "Toulouse"]]), "obligatoire"),
        (csv_bytes([["Mois", "Heures"], ["05/2024", "12"]]), "Identifiant contrat"),
        (csv_bytes([["Nom", "Date de naissance", "Lot", "Mois", "Heures"]]), "aucune ligne de données"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(world_a, data, message):
    report, _ = run("heures", data, filename="x.csv", facilitator=world_a.facilitator)
    assert report.status == "refused"
    assert message in " ".join([*report.messages, *(str(p) for p in report.problems)])
    assert not HoursRecord.objects.filter(month=MAY).exists()


def test_wrong_sheet_is_refused(world_a):
    data = xlsx_bytes(lambda wb: wb.add_worksheet("Feuil1").write_row(0, 0, ["Nom", "Heures"]))
    report, _ = run("heures", data, filename="x.xlsx", facilitator=world_a.facilitator, sheet="Mai")
    assert report.status == "refused"
    assert "La feuille « Mai » n'existe pas" in report.messages[0]


def test_a_refusal_by_the_action_rolls_back_every_month(people):
    """All or nothing across months: a validated statement in June blocks the May rows too."""
    w, lefevre, _ = people
    MonthlyStatement.objects.create(
        facilitator=w.facilitator, employer=w.company, month=JUNE, status="validated"
    )
    lines = statement_lines(w.lot.number, w.market.reference)
    lines.insert(
        6, ["Lefèvre", "Hélène", "02/04/1985", w.market.reference, w.lot.number, "06/2024", "10", ""]
    )
    report = import_csv(w, lines)
    assert report.status == "refused"
    assert not HoursRecord.objects.filter(contract=lefevre).exists()


def test_the_statement_template_imports_back_with_no_mapping(people):
    w, lefevre, oeuvray = people
    data = statement_template(facilitator=w.facilitator, employer=w.company, month=MAY)
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = workbook.get_sheet_by_index(0).to_python()
    header = rows[3]
    assert header[0].startswith("Identifiant contrat") and header[7] == "Heures travaillées"
    uuids = {row[0] for row in rows[4:]}
    assert {str(lefevre.uuid), str(oeuvray.uuid)} <= uuids
    # The employer fills the hours of one person and leaves the other rows empty.
    filled = xlsx_bytes(lambda wb: _copy_with_hours(wb, rows, {str(lefevre.uuid): 120}))
    report, validation = run("heures", filled, filename="modele.xlsx", facilitator=w.facilitator)
    assert validation.records and report.status == "committed", list(report.lines())
    assert report.counts["create"] == 1
    assert HoursRecord.objects.get(contract=lefevre, month=MAY).hours == 120
    from clausier.imports.kinds import KINDS

    assert KINDS["heures"].is_template(validation.records)


def _copy_with_hours(workbook, rows, hours):
    sheet = workbook.add_worksheet("Heures")
    for index, row in enumerate(rows):
        for col, value in enumerate(row):
            if value not in ("", None):
                sheet.write(index, col, value)
        if index > 3 and row[0] in hours:
            sheet.write_number(index, 7, hours[row[0]])


def test_error_file_is_the_users_file_with_an_erreurs_column(people):
    w, _, _ = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("douze", "35"))
    report, validation = run("heures", csv_bytes(lines), filename="r.csv", facilitator=w.facilitator)
    data = error_workbook(validation.records, validation.problems)
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "Relevé mensuel des heures d'insertion"
    assert sheet[3][:2] == ["Nom", "Prénom"] and sheet[3][8] == "erreurs"
    assert "« douze » n'est pas un nombre d'heures" in sheet[4][8]
    assert sheet[5][8] == ""


# --- CLI ----------------------------------------------------------------------------------------------------


def test_cli_exit_codes_and_json(people, tmp_path, capsys):
    w, lefevre, _ = people
    good = tmp_path / "releve.csv"
    good.write_bytes(csv_bytes(statement_lines(w.lot.number, w.market.reference)))
    call_command("import", "heures", str(good), "--facilitator", w.facilitator.slug, "--dry-run", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "valid" and out["counts"]["create"] == 2
    assert not HoursRecord.objects.filter(contract=lefevre).exists()
    call_command("import", "heures", str(good), "--facilitator", w.facilitator.slug)
    assert "2 ligne(s) ont été créée(s)" in capsys.readouterr().out
    assert HoursRecord.objects.filter(contract=lefevre).exists()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01garbage" * 40)
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "heures", str(bad), "--facilitator", w.facilitator.slug, "--json")
    assert exit_info.value.code == 1
    assert json.loads(capsys.readouterr().out)["status"] == "refused"


def test_cli_uses_a_saved_mapping(people, tmp_path, capsys):
    w, lefevre, _ = people
    MappingTemplate.objects.create(
        facilitator=w.facilitator,
        kind="heures",
        name="Bâtiments Réunis",
        mapping={"last_name": "Salarié", "birth_date": "DN", "lot": "L.", "month": "Période", "hours": "Qté"},
    )
    path = tmp_path / "releve.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["Salarié", "DN", "L.", "Période", "Qté"],
                ["Lefèvre", "02/04/1985", w.lot.number, "05/2024", "10"],
            ]
        )
    )
    with pytest.raises(SystemExit):
        call_command("import", "heures", str(path), "--facilitator", w.facilitator.slug)
    capsys.readouterr()
    call_command(
        "import", "heures", str(path), "--facilitator", w.facilitator.slug, "--mapping", "Bâtiments Réunis"
    )
    assert HoursRecord.objects.get(contract=lefevre, month=MAY).hours == 10


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=4, max_value=5),  # a data row…
            st.integers(min_value=0, max_value=7),  # …and a column of it
            st.one_of(
                st.just(""), st.text(max_size=20), st.sampled_from(["-3", "250", "1e9", "31/02/2024", "=1+1"])
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_damaged_statement_is_committed_whole_or_refused_with_nothing_written(people, damage):
    """Property: cells of a good statement replaced by anything — the import never raises, and either lands
    whole or is refused with problems and no row, statement or audit entry written."""
    w, lefevre, _ = people
    lines = [list(line) for line in statement_lines(w.lot.number, w.lot.market.reference)]
    for row, column, value in damage:
        lines[row][column] = value.replace(";", ",").replace("\n", " ").replace("\r", " ")
    before = (HoursRecord.objects.count(), MonthlyStatement.objects.count(), AuditEntry.objects.count())
    report = import_csv(w, lines, encoding="utf-8")
    if report.status == "refused":
        assert report.problems or report.messages  # row problems, or the file as a whole (e.g. unreadable)
        assert (
            HoursRecord.objects.count(),
            MonthlyStatement.objects.count(),
            AuditEntry.objects.count(),
        ) == before
    else:
        assert report.status == "committed"
