import datetime as dt
import io
from decimal import Decimal

import pytest

from clausier.imports import ImportRefused, find_header, find_records, read_records, read_table
from clausier.imports.readers import Row, Table, column_letter, detect_delimiter, is_total_row
from clausier.imports.values import parse_date, parse_hours, parse_siret
from tests.imports.corpus import (
    EXPECTED,
    HEADER,
    XLS_FILE,
    csv_bytes,
    hours_statement_lines,
    hours_statement_ods,
    hours_statement_xlsx,
    ods_bytes,
    xlsx_bytes,
)
from tests.official_data import plain


def parsed(records):
    """(row number, name, start date, hours, SIRET) of each data row, through the value parsers."""
    m = records.header.matches
    return [
        (
            row.number,
            row[m["last_name"].index],
            parse_date(row[m["start"].index]),
            parse_hours(row[m["hours"].index]),
            parse_siret(row[m["siret"].index]),
        )
        for row in records.rows
    ]


# --- CSV ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom", "expected_encoding"),
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("cp1252", False, "cp1252")],
)
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_csv_encodings_and_delimiters(encoding, bom, expected_encoding, delimiter):
    lines = hours_statement_lines()
    if delimiter == ",":  # French numbers contain commas: a comma-separated export quotes them
        lines = [[f'"{cell}"' if "," in cell else cell for cell in line] for line in lines]
    data = csv_bytes(lines, delimiter=delimiter, encoding=encoding, bom=bom)
    table = read_table(io.BytesIO(data), filename="relevé.csv")
    assert (table.format, table.encoding, table.delimiter, table.sheet) == (
        "csv",
        expected_encoding,
        delimiter,
        None,
    )
    records = find_records(table, expected=EXPECTED)
    assert records.header.number == 4
    assert [column.label for column in records.header.columns] == HEADER
    assert parsed(records) == [
        (5, "Lefèvre", dt.date(2024, 3, 4), Decimal("1234.5"), "12345678900012"),
        (6, "Œuvray", dt.date(2024, 3, 15), Decimal("12.50"), "12345678900012"),
    ]
    assert [(skipped.number, skipped.reason) for skipped in records.skipped] == [(8, "total")]


def test_csv_utf16_as_excel_unicode_text():
    data = "\ufeff" + "\r\n".join("\t".join(line) for line in hours_statement_lines())
    table = read_table(data.encode("utf-16-le"), filename="relevé.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.rows[2].cells[0] == "Nom"


def test_csv_row_numbers_count_records_not_physical_lines():
    data = b'Nom;Commentaire\r\nA;"sur\r\ndeux lignes"\r\nB;ok\r\n'
    table = read_table(data, filename="x.csv")
    assert [(row.number, row.cells) for row in table.rows] == [
        (1, ["Nom", "Commentaire"]),
        (2, ["A", "sur\r\ndeux lignes"]),
        (3, ["B", "ok"]),
    ]


def test_delimiter_detection_prefers_semicolon_when_commas_are_decimals():
    assert detect_delimiter("Dupont;12,5;3,5\nDurand;7,5;1,5\n") == ";"
    assert detect_delimiter("a,b,c\n1,2,3\n") == ","
    assert detect_delimiter("a\tb\n1,5\t2,5\n") == "\t"
    assert detect_delimiter("une seule colonne\n") == ";"


def test_csv_single_column_and_whitespace_cells():
    table = read_table(b"Nom\n  Dupont  \n\xc2\xa0\nDurand\n", filename="x.csv")
    assert [(row.number, row.cells) for row in table.rows] == [(1, ["Nom"]), (2, ["Dupont"]), (4, ["Durand"])]
    records = find_records(table, expected={"name": ["nom"]})
    assert [row.number for row in records.rows] == [2, 4]


def test_csv_from_a_path(tmp_path):
    path = tmp_path / "relevé.csv"
    path.write_bytes(csv_bytes(hours_statement_lines()))
    assert read_table(path, filename=path.name).rows[0].number == 1
    assert read_table(str(path), filename=path.name).delimiter == ";"


# --- Workbooks ----------------------------------------------------------------------------------------------


def test_xlsx_with_merged_title_real_dates_and_serials():
    table = read_table(hours_statement_xlsx(), filename="relevé.xlsx")
    assert (table.format, table.sheet, table.sheet_names) == ("xlsx", "Heures", ["Heures", "Notes"])
    assert table.rows[0].number == 1  # merged A1:E2 title: value in A1, empties elsewhere
    records = find_records(table, expected=EXPECTED)
    assert records.header.number == 4
    assert parsed(records) == [
        (5, "Lefèvre", dt.date(2024, 3, 4), Decimal("35.5"), "12345678900012"),
        (6, "Œuvray", dt.date(2024, 3, 1), Decimal("12.5"), "12345678900012"),
    ]
    assert [(skipped.number, skipped.reason) for skipped in records.skipped] == [(8, "total")]


def test_xlsx_table_not_starting_in_column_a():
    def build(workbook):
        sheet = workbook.add_worksheet("Données")
        sheet.write(2, 2, "Relevé")
        sheet.write_row(5, 2, ["Nom", "Heures"])
        sheet.write_row(6, 2, ["Dupont", 7])

    table = read_table(xlsx_bytes(build), filename="x.xlsx")
    header = find_header(table)
    assert header.number == 6
    assert [(column.index, column.letter, column.label) for column in header.columns] == [
        (2, "C", "Nom"),
        (3, "D", "Heures"),
    ]
    assert table.rows[-1].number == 7
    assert table.rows[-1][2] == "Dupont"


def test_xlsx_sheet_choice_by_name_and_first_visible_by_default():
    def build(workbook):
        hidden = workbook.add_worksheet("Paramètres")
        hidden.write(0, 0, "caché")
        hidden.hide()
        workbook.add_worksheet("Heures de mars").write_row(0, 0, ["Nom", "Heures"])
        workbook.add_worksheet("Avril").write_row(0, 0, ["Nom", "Heures", "Avril"])
        workbook.worksheets()[1].activate()

    data = xlsx_bytes(build)
    assert read_table(data, filename="x.xlsx").sheet == "Heures de mars"
    assert read_table(data, filename="x.xlsx", sheet="Avril").rows[0].cells[2] == "Avril"
    assert read_table(data, filename="x.xlsx", sheet="heures de MARS").sheet == "Heures de mars"
    assert read_table(data, filename="x.xlsx", sheet="Paramètres").rows[0].cells == ["caché"]


def test_ods_written_by_hand():
    table = read_table(hours_statement_ods(), filename="relevé.ods")
    assert (table.format, table.sheet, table.sheet_names) == ("ods", "Heures", ["Heures", "Notes"])
    records = find_records(table, expected=EXPECTED)
    assert records.header.number == 4
    assert parsed(records) == [
        (5, "Lefèvre", dt.date(2024, 3, 4), Decimal("35.5"), "12345678900012"),
        (6, "Œuvray", dt.date(2024, 3, 1), Decimal("12.5"), "12345678900012"),
    ]
    assert [skipped.number for skipped in records.skipped] == [8]


def test_xls_committed_fixture():
    records = read_records(XLS_FILE, filename="relevé.xls", expected=EXPECTED)
    assert (records.table.format, records.table.sheet_names) == ("xls", ["Heures", "Notes"])
    assert records.header.number == 4
    assert parsed(records) == [
        (5, "Lefèvre", dt.date(2024, 3, 4), Decimal("35.5"), "12345678900012"),
        (6, "Œuvray", dt.date(2024, 3, 1), Decimal("12.5"), "12345678900012"),
    ]
    assert [(skipped.number, skipped.reason) for skipped in records.skipped] == [(8, "total")]


def test_xls_from_an_uploaded_file_object():
    with open(XLS_FILE, "rb") as handle:
        assert read_table(handle, filename="relevé.xls", sheet="Notes").rows[0].cells == ["rien"]


# --- Header detection ---------------------------------------------------------------------------------------


def table_of(*rows) -> Table:
    return Table(
        filename="t",
        format="csv",
        sheet=None,
        sheet_names=[],
        rows=[Row(number, list(cells)) for number, cells in rows],
    )


def test_header_without_synonyms_skips_title_rows_and_key_value_lines():
    table = table_of(
        (1, ["Relevé des heures"]),
        (2, ["Mois :", "mars 2024"]),
        (4, ["Nom", "Prénom", "Heures", "Date", "Poste", "Contrat"]),
        (5, ["Dupont", "Jean", "12,5", "01/03/2024", "Maçon", "CDDI"]),
    )
    assert find_header(table).number == 4
    assert find_header(table, min_labels=2).number == 2  # an explicit, lower threshold


def test_header_with_synonyms_beats_a_title_that_mentions_a_column():
    table = table_of(
        (1, ["Relevé des heures de mars", "Entreprise Dupont"]),
        (3, ["N° SIRET", "Nom du salarié", "Nombre d'heures réalisées"]),
        (4, ["12345678900012", "Dupont", "12,5"]),
    )
    header = find_header(table, expected={"siret": ["siret"], "name": ["nom"], "hours": ["nombre d heures"]})
    assert header.number == 3
    assert {key: column.letter for key, column in header.matches.items()} == {
        "siret": "A",
        "name": "B",
        "hours": "C",
    }


def test_column_matching_prefers_exact_labels_and_uses_each_column_once():
    table = table_of((1, ["Nom de l'entreprise", "Nom", "Date de naissance", "Date"]))
    header = find_header(
        table, expected={"name": ["nom"], "company": ["nom de l entreprise", "nom"], "date": ["date"]}
    )
    assert {key: column.label for key, column in header.matches.items()} == {
        "name": "Nom",
        "company": "Nom de l'entreprise",
        "date": "Date",
    }


def test_no_header_found():
    table = table_of((1, ["12", "13"]), (2, ["01/01/2024", "3,5"]))
    with pytest.raises(ImportRefused) as refused:
        find_header(table, expected={"hours": ["Heures"]})
    assert refused.value.message == (
        "Impossible de trouver la ligne des titres de colonnes (par exemple « Heures ») "
        "dans les 30 premières lignes remplies."
    )


def test_total_rows_and_repeated_headers_are_skipped():
    table = table_of(
        (1, ["Nom", "Heures"]),
        (2, ["Total Énergies", "7"]),  # a company name, not a total
        (3, ["Sous-total", "7"]),
        (4, ["Nom", "Heures"]),  # page 2 of a printed export
        (5, ["Totalement", "3"]),
        (6, [None, "TOTAL GÉNÉRAL :", "10"]),
        (7, ["Total mars 2024", "10"]),
        (8, ["Totaux", "10"]),
    )
    records = find_records(table)
    assert [row.number for row in records.rows] == [2, 5]
    assert [(s.number, s.reason) for s in records.skipped] == [
        (3, "total"),
        (4, "header"),
        (6, "total"),
        (7, "total"),
        (8, "total"),
    ]


def test_is_total_row_ignores_numbers_first():
    assert not is_total_row(Row(1, [12, "Total"]))
    assert is_total_row(Row(1, ["Total HT"]))


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_ods_header_after_blank_rows_with_sheet_name():
    data = ods_bytes({"Feuille1": [None, None, ["Nom", "Heures"], ["Dupont", 7]]})
    records = read_records(data, filename="x.ods", sheet="Feuille1")
    assert (records.header.number, [row.number for row in records.rows]) == (3, [4])


def test_ods_table_not_starting_in_column_a():
    data = ods_bytes({"A": [None, [None, None, "Nom", "Heures"], None, [None, None, "Dupont", 7]]})
    records = read_records(data, filename="x.ods")
    assert [(c.letter, c.label) for c in records.header.columns] == [("C", "Nom"), ("D", "Heures")]
    assert [(row.number, row[2]) for row in records.rows] == [(4, "Dupont")]


# --- Real reference files (the SIAE files that ship with Clausier) -------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows"),
    [("siae_haute_garonne_2020.csv", 62), ("siae_france_2020.csv", None)],
)
def test_real_siae_directory_export(name, rows):
    path = plain(name + ".xz")
    records = read_records(
        path, filename=name, expected={"siret": ["siret"], "kind": ["kind", "type"], "name": ["name", "nom"]}
    )
    assert (records.table.delimiter, records.header.number) == (",", 1)
    assert set(records.header.matches) == {"siret", "kind", "name"}
    if rows is not None:
        assert len(records.rows) == rows
    siret = records.header.matches["siret"].index
    assert all(len(parse_siret(row[siret])) == 14 for row in records.rows)
