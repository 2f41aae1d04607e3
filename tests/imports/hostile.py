"""Hostile spreadsheets, generated at run time: small files that claim an enormous sheet.

Before `clausier/imports/claims.py`, reading `sparse_corner_xlsx()` made python-calamine ask for 512 GB and
abort the whole process (SIGABRT, exit 134). Run `python -m tests.imports.hostile DOSSIER` to write them all
as files, to try them through the web page or the CLI by hand.
"""

import io
import sys
import zipfile
from pathlib import Path

from tests.imports.corpus import ODS_NS, ods_bytes, xlsx_bytes


def sparse_corner_xlsx(row: int = 1_048_575, column: int = 16_383) -> bytes:
    """A header, one data row, and one cell at the last cell of a sheet (XFD1048576 by default)."""

    def build(workbook):
        sheet = workbook.add_worksheet("Heures")
        sheet.write_row(0, 0, ["Nom", "Heures"])
        sheet.write_row(1, 0, ["Dupont", 35])
        sheet.write(row, column, "x")

    return xlsx_bytes(build)


def _replace_member(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info))
    return buffer.getvalue()


def lying_dimension_xlsx() -> bytes:
    """A small sheet whose `<dimension>` is small but whose XML holds a cell at XFD1048576, with its `r`
    attribute after another one and a namespace prefix (what some generators write)."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:dimension ref="A1:B2"/><x:sheetData>'
        b'<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Nom</x:t></x:is></x:c></x:row>'
        b'<x:row r="1048576"><x:c s="0" r="XFD1048576" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></x:row>'
        b"</x:sheetData></x:worksheet>"
    )
    return _replace_member(sparse_corner_xlsx(1, 1), "xl/worksheets/sheet1.xml", sheet)


def huge_dimension_xlsx() -> bytes:
    """Two real cells, a declared dimension of the whole sheet."""
    data = sparse_corner_xlsx(1, 1)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    xml = xml.replace(b'<dimension ref="A1:B2"/>', b'<dimension ref="A1:XFD1048576"/>')
    assert b"XFD1048576" in xml
    return _replace_member(data, "xl/worksheets/sheet1.xml", xml)


def repeated_columns_ods(repeat: int = 16_000_000) -> bytes:
    """A header, then a cell repeated `repeat` times across one row (a few bytes claiming millions of cells)."""
    data = ods_bytes({"Heures": [["Nom", "Heures"], ["Dupont", 35]]})
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}><office:body>'
        '<office:spreadsheet><table:table table:name="Heures">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Nom</text:p></table:table-cell>'
        "</table:table-row>"
        f'<table:table-row table:number-rows-repeated="1000"><table:table-cell table:number-columns-repeated="{repeat}" '
        'office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return _replace_member(data, "content.xml", content.encode())


def repeated_rows_ods(rows: int = 1_000_000, columns: int = 100) -> bytes:
    """A row of `columns` filled cells repeated `rows` times: 100 million cells by default."""
    data = ods_bytes({"Heures": [["Nom"]]})
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}><office:body>'
        '<office:spreadsheet><table:table table:name="Heures">'
        f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell table:number-columns-repeated="{columns}" '
        'office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return _replace_member(data, "content.xml", content.encode())


def trailing_empty_repeat_ods() -> bytes:
    """What LibreOffice really writes: empty cells and rows repeated to the end of the sheet (harmless)."""
    data = ods_bytes({"Heures": [["Nom", "Heures"], ["Dupont", 35]]})
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}><office:body>'
        '<office:spreadsheet><table:table table:name="Heures">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Nom</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>Heures</text:p></table:table-cell>'
        '<table:table-cell table:number-columns-repeated="16382"/></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>Dupont</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="35"><text:p>35</text:p></table:table-cell>'
        '<table:table-cell table:number-columns-repeated="16382"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="16384"/>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return _replace_member(data, "content.xml", content.encode())


def xlsb_sheet(records: bytes) -> bytes:
    """A zip holding one binary sheet part (enough for `claims.check_xlsb`, not a whole XLSB workbook)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.bin", b"")
        archive.writestr("xl/worksheets/sheet1.bin", records)
    return buffer.getvalue()


def biff12(kind: int, payload: bytes) -> bytes:
    """One BIFF12 record: type and size in 7-bit groups."""
    head = bytes([kind]) if kind < 0x80 else bytes([(kind & 0x7F) | 0x80, kind >> 7])
    size, encoded = len(payload), b""
    while True:
        byte, size = size & 0x7F, size >> 7
        encoded += bytes([byte | (0x80 if size else 0)])
        if not size:
            break
    return head + encoded + payload


HOSTILE = {
    "coin_xfd1048576.xlsx": sparse_corner_xlsx,
    "dimension_mensongere.xlsx": lying_dimension_xlsx,
    "dimension_geante.xlsx": huge_dimension_xlsx,
    "colonnes_repetees.ods": repeated_columns_ods,
    "lignes_repetees.ods": repeated_rows_ods,
}


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in HOSTILE.items():
        (folder / name).write_bytes(build())
        print(folder / name)
