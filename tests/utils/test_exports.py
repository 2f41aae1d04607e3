"""The streaming export helper: typed XLSX cells, French CSV, formula injection neutralised."""

import datetime
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.http import FileResponse, StreamingHttpResponse
from python_calamine import CalamineWorkbook

from clausier.utils import exports

HEADERS = ["Nom", "Date", "Heures", "Contrats", "Formule"]
ROWS = [
    ["Dupont", datetime.date(2024, 5, 31), Decimal("151.67"), 3, "=1+1"],
    ["Éléonore", None, 0, 0, "-2"],
]


def read_xlsx(content: bytes):
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Dupont", "Dupont"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text, expected):
    assert exports.neutralise(text) == expected


def test_resolve_paths_methods_and_callables():
    row = SimpleNamespace(
        participant=SimpleNamespace(last_name="Martin", commune=None),
        get_kind_display=lambda: "Construction",
        hours=Decimal("12.50"),
        uuid=SimpleNamespace(__str__=lambda self: "x"),
    )
    assert exports.resolve(row, "participant.last_name") == "Martin"
    assert exports.resolve(row, "participant.commune.name") is None
    assert exports.resolve(row, "get_kind_display") == "Construction"
    assert exports.resolve(row, "hours") == Decimal("12.50")
    assert exports.resolve(row, lambda r: r.hours * 2) == Decimal("25.00")
    assert exports.resolve({"due_on": datetime.date(2024, 1, 1)}, "due_on") == datetime.date(2024, 1, 1)


def test_xlsx_has_typed_cells():
    response = exports.xlsx_response("Participants", HEADERS, iter(ROWS))
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert "participants-" in response["Content-Disposition"]
    sheet = read_xlsx(b"".join(response.streaming_content))
    response.file_to_stream.close()  # (response.close() would fire request_finished, which touches the db)
    assert sheet[0] == HEADERS
    name, day, hours, count, formula = sheet[1]
    assert name == "Dupont"
    assert day == datetime.date(2024, 5, 31)
    assert hours == pytest.approx(151.67) and isinstance(hours, float)
    assert count == 3 and not isinstance(count, str)
    assert formula == "=1+1"  # a text cell in XLSX: never a formula
    assert sheet[2][0] == "Éléonore" and sheet[2][1] == ""


def test_xlsx_writes_no_formula():
    buffer = io.BytesIO()
    exports.write_xlsx(buffer, ["A"], [["=1+1"]])
    import zipfile

    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml


def test_xlsx_is_written_row_by_row_from_an_iterator():
    produced = []

    def rows():
        for i in range(5000):
            produced.append(i)
            yield [f"ligne {i}", i]

    buffer = io.BytesIO()
    assert exports.write_xlsx(buffer, ["Nom", "N"], rows()) == 5000
    sheet = read_xlsx(buffer.getvalue())
    assert len(sheet) == 5001 and sheet[-1] == ["ligne 4999", 4999]


def test_csv_french_excel_and_formula_injection():
    response = exports.csv_response("Contrats", HEADERS, iter(ROWS))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="contrats-' in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    lines = content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Nom;Date;Heures;Contrats;Formule"
    assert lines[1] == "Dupont;31/05/2024;151,67;3;'=1+1"
    assert lines[2] == "Éléonore;;0;0;'-2"


def test_csv_quotes_separators_and_newlines():
    content = b"".join(
        exports.csv_response("x", ["A"], [["a;b"], ['dit "oui"'], ["\r\n=cmd"]]).streaming_content
    )
    lines = content.decode("utf-8-sig")
    assert '"a;b"' in lines
    assert '"dit ""oui"""' in lines
    assert '"\'\r\n=cmd"' in lines


def test_csv_is_lazy():
    def rows():
        yield ["a"]
        raise AssertionError("the generator is only read when the response is streamed")

    response = exports.csv_response("x", ["A"], rows())
    iterator = iter(response.streaming_content)
    assert next(iterator).startswith(b"\xef\xbb\xbf")
    assert next(iterator) == b"a\r\n"


def test_unknown_format():
    with pytest.raises(ValueError):
        exports.export_response("pdf", "x", [], [])
