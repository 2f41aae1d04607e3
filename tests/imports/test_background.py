"""Progress reporting of the pipeline, and the error file in the user's own format (CSV stays CSV)."""

import csv
import io
import itertools

import pytest
import python_calamine

from clausier.imports import pipeline
from clausier.imports.pipeline import Progress, error_file, run
from clausier.imports.readers import read_table
from tests.imports.corpus import csv_bytes, xlsx_bytes
from tests.imports.test_hours_import import people, statement_lines  # noqa: F401 - fixture


def test_progress_reports_are_bounded_whatever_the_number_of_rows():
    calls = []
    ticks = itertools.count()
    clock = lambda: next(ticks) * 0.001  # noqa: E731 - every call 1 ms later: 100 000 rows ≈ 100 s
    progress = Progress(lambda *args: calls.append(args), "validate", 100_000, clock=clock)
    for done in range(100_000):
        progress.update(done)
    progress.finish()
    assert calls[0] == ("validate", 0, 100_000) and calls[-1] == ("validate", 100_000, 100_000)
    dones = [done for _, done, _ in calls]
    assert dones == sorted(set(dones))  # strictly increasing
    assert len(calls) <= 102  # at most a hundredth at a time (and about once a second)
    # A fast machine: once a second at most.
    calls.clear()
    progress = Progress(lambda *args: calls.append(args), "validate", 100_000, clock=lambda: 0.0)
    for done in range(100_000):
        progress.update(done)
    progress.finish()
    assert [done for _, done, _ in calls] == [0, 100_000]


def test_validation_and_commit_report_progress_from_zero_to_the_total(people, monkeypatch):  # noqa: F811
    w, _, _ = people
    monkeypatch.setattr(pipeline, "PROGRESS_SECONDS", 0)
    lines = statement_lines(w.lot.number, w.market.reference)
    lines = lines[:4] + lines[4:6] * 150 + lines[6:]  # 300 data rows: the same two people, 150 times
    calls = []
    report, _ = run(
        "heures",
        csv_bytes(lines),
        filename="r.csv",
        facilitator=w.facilitator,
        progress=lambda *args: calls.append(args),
    )
    assert report.status == "refused"  # the same contract twice in a month, 298 times
    assert calls[0] == ("validate", 0, 300) and calls[-1] == ("validate", 300, 300)
    assert 3 <= len(calls) <= 102
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)
    calls.clear()
    report, _ = run(
        "heures",
        csv_bytes(statement_lines(w.lot.number, w.market.reference)),
        filename="r.csv",
        facilitator=w.facilitator,
        by=w.users["facilitator_member"],
        progress=lambda *args: calls.append(args),
    )
    assert report.status == "committed"
    assert calls == [
        ("validate", 0, 2),
        ("validate", 1, 2),
        ("validate", 2, 2),
        ("commit", 0, 2),
        ("commit", 1, 2),
        ("commit", 2, 2),
    ]


# --- The error file ----------------------------------------------------------------------------------------


def test_a_cp1252_semicolon_csv_comes_back_as_such(people):  # noqa: F811
    w, _, _ = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("douze", "35"))
    lines[5][0] = "=2+3"  # a formula where a name should be
    data = csv_bytes(lines, encoding="cp1252")
    report, validation = run("heures", data, filename="r.csv", facilitator=w.facilitator)
    assert report.status == "refused"
    errors = error_file(data, validation.records, validation.problems)
    assert (errors.extension, errors.content_type) == ("csv", "text/csv; charset=cp1252")
    text = errors.content.decode("cp1252")  # the same encoding
    assert text.endswith("\r\n") and "\r\n" in text  # the same line ends
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) == len(lines)  # every line where it was, blank and total lines included
    assert rows[0][0] == "Relevé mensuel des heures d'insertion"  # the title, accents intact
    assert rows[3][:8] == lines[3] and rows[3][8] == "erreurs"  # header row where it was
    assert rows[4][:8] == lines[4] and "« douze » n'est pas un nombre d'heures" in rows[4][8]
    assert rows[5][0] == "'" + lines[5][0]  # neutralised: a spreadsheet shows it, never evaluates it
    assert rows[5][6] == "35"  # a number is left alone
    assert rows[6] == lines[6] and rows[7] == lines[7]


def test_a_utf8_comma_csv_keeps_its_bom_and_separator(people):  # noqa: F811
    w, _, _ = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("-3", "35"))
    data = csv_bytes(
        [[cell.replace(",", ".") for cell in line] for line in lines], delimiter=",", bom=True, newline="\n"
    )
    _, validation = run("heures", data, filename="r.csv", facilitator=w.facilitator)
    errors = error_file(data, validation.records, validation.problems)
    assert errors.content.startswith(b"\xef\xbb\xbf") and errors.content_type == "text/csv; charset=utf-8"
    text = errors.content.decode("utf-8-sig")
    assert "\r\n" not in text
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=","))
    assert rows[3][-1] == "erreurs" and rows[4][6] == "-3" and rows[4][-1]


def test_a_workbook_comes_back_as_an_xlsx_with_its_sheet_name_and_rows_in_place(people):  # noqa: F811
    w, _, _ = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("douze", "35"))

    def build(workbook):
        workbook.add_worksheet("Notes").write(0, 0, "à lire")
        sheet = workbook.add_worksheet("Relevé mai")
        for index, line in enumerate(lines):
            for col, value in enumerate(line):
                if value:
                    sheet.write_string(index + 2, col, value)  # two blank rows above the title
        sheet.write_number(7, 6, 35)

    data = xlsx_bytes(build)
    _, validation = run("heures", data, filename="r.xlsx", facilitator=w.facilitator, sheet="Relevé mai")
    errors = error_file(data, validation.records, validation.problems)
    assert errors.extension == "xlsx"
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(errors.content))
    assert workbook.sheet_names[0] == "Relevé mai"
    table = read_table(errors.content, filename="e.xlsx", sheet="Relevé mai")
    rows = {row.number: row.cells for row in table.rows}  # sheet row numbers, as the user sees them
    assert list(rows) == [3, 4, 6, 7, 8, 10]  # the same rows, at the same places
    assert rows[3] == ["Relevé mensuel des heures d'insertion"]
    assert rows[6][:2] == ["Nom", "Prénom"] and rows[6][8] == "erreurs"
    assert "« douze » n'est pas un nombre d'heures" in rows[7][8]
    assert rows[8][6] == 35 and len(rows[8]) == 8  # no error on that row


@pytest.mark.parametrize("name", ["Feuille [1]", "x" * 40])
def test_a_sheet_name_excel_refuses_is_made_acceptable(people, name):  # noqa: F811
    w, _, _ = people
    lines = statement_lines(w.lot.number, w.market.reference, hours=("douze", "35"))
    _, validation = run("heures", csv_bytes(lines), filename="r.csv", facilitator=w.facilitator)
    validation.records.table.sheet = name
    content = pipeline.error_workbook(validation.records, validation.problems)
    names = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)).sheet_names
    assert len(names[0]) <= 31 and "[" not in names[0]
