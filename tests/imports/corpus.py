"""Builders of small ugly files, generated at run time (only `corpus/heures.xls` is committed: see make_xls.py).

Every builder returns bytes, ready for `read_table(data, filename=...)`.
"""

import datetime
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter

CORPUS = Path(__file__).with_name("corpus")
XLS_FILE = CORPUS / "heures.xls"

HEADER = ["Nom", "Prénom", "Date d'entrée", "Heures", "SIRET"]
EXPECTED = {
    "last_name": ["Nom", "Nom de famille"],
    "first_name": ["Prénom"],
    "start": ["Date d'entrée", "Date d'embauche", "Date de début"],
    "hours": ["Heures", "Nb heures", "Nombre d'heures"],
    "siret": ["SIRET", "N° SIRET"],
}


def csv_bytes(lines: list[list[str]], *, delimiter=";", encoding="utf-8", bom=False, newline="\r\n") -> bytes:
    """Lines joined naively (the cells are chosen not to need quoting unless the test quotes them itself)."""
    text = newline.join(delimiter.join(cells) for cells in lines) + newline
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def hours_statement_lines() -> list[list[str]]:
    """Title, blank row, header on row 4, two people, a blank row and a total: a typical company file."""
    return [
        ["Relevé mensuel des heures d'insertion — mars 2024", "", "", "", ""],
        ["", "", "", "", ""],
        ["Entreprise : Bâtiments Réunis", "", "", "", ""],
        HEADER,
        ["Lefèvre", "Hélène", "04/03/2024", "1 234,5", "123 456 789 00012"],
        ["Œuvray", "Zoé", "2024-03-15", "12,50 h", "12345678900012"],
        ["", "", "", "", ""],
        ["TOTAL général", "", "", "1 247,0", ""],
    ]


def xlsx_bytes(build) -> bytes:
    """`build(workbook)` fills an in-memory xlsxwriter workbook."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    build(workbook)
    workbook.close()
    return buffer.getvalue()


def hours_statement_xlsx(sheet_name="Heures") -> bytes:
    def build(workbook):
        sheet = workbook.add_worksheet(sheet_name)
        date = workbook.add_format({"num_format": "dd/mm/yyyy"})
        sheet.merge_range("A1:E2", "Relevé mensuel des heures d'insertion — mars 2024")
        sheet.write_row(3, 0, HEADER)
        sheet.write_row(4, 0, ["Lefèvre", "Hélène"])
        sheet.write_datetime(4, 2, datetime.datetime(2024, 3, 4), date)  # a real date cell
        sheet.write_number(4, 3, 35.5)
        sheet.write_string(4, 4, "123 456 789 00012")
        sheet.write_row(5, 0, ["Œuvray", "Zoé"])
        sheet.write_number(5, 2, 45352)  # a serial number in the date column: 2024-03-01
        sheet.write_string(5, 3, "12,5")  # hours typed as text
        sheet.write_number(5, 4, 12345678900012)  # SIRET as a number
        sheet.write_row(7, 0, ["Sous-total"])
        sheet.write_formula(7, 3, "=SUM(D5:D6)", None, 48)
        workbook.add_worksheet("Notes").write(0, 0, "rien")

    return xlsx_bytes(build)


# --- ODS: written by hand, a zip of XML --------------------------------------------------------------------

ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'office:version="1.2"'
)


def _ods_cell(value) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, tuple) and value[0] == "merged":  # ("merged", text, span)
        _, text, span = value
        covered = "<table:covered-table-cell/>" * (span - 1)
        return (
            f'<table:table-cell table:number-columns-spanned="{span}" office:value-type="string">'
            f"<text:p>{escape(text)}</text:p></table:table-cell>{covered}"
        )
    if isinstance(value, datetime.date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value:%d/%m/%Y}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float):
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'


def ods_bytes(sheets: dict[str, list[list]], *, manifest_extra: str = "") -> bytes:
    """Minimal OpenDocument spreadsheet. A row `None` is a blank row (written as repeated empty rows)."""
    tables = []
    for name, rows in sheets.items():
        body = []
        for row in rows:
            if row is None:
                body.append(
                    '<table:table-row table:number-rows-repeated="1"><table:table-cell/></table:table-row>'
                )
            else:
                body.append("<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>")
        tables.append(f'<table:table table:name="{escape(name)}">' + "".join(body) + "</table:table>")
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}><office:body>'
        f"<office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        f'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">{manifest_extra}'
        "</manifest:file-entry></manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def hours_statement_ods() -> bytes:
    return ods_bytes(
        {
            "Heures": [
                [("merged", "Relevé mensuel des heures d'insertion — mars 2024", 5)],
                None,
                None,
                HEADER,
                ["Lefèvre", "Hélène", datetime.date(2024, 3, 4), 35.5, "123 456 789 00012"],
                ["Œuvray", "Zoé", 45352, "12,5", "12345678900012"],
                None,
                ["Total", None, None, 48, None],
            ],
            "Notes": [["rien"]],
        }
    )


# --- Archives that must be refused -------------------------------------------------------------------------


def zip_bomb(megabytes: int = 200, *, as_ods: bool = False) -> bytes:
    """An XLSX-looking zip whose sheet member inflates to `megabytes` of zeros (written in 1 Mo chunks)."""
    buffer = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if as_ods:
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        else:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open(
            "content.xml" if as_ods else "xl/worksheets/sheet1.xml", "w", force_zip64=True
        ) as out:
            for _ in range(megabytes):
                out.write(chunk)
    return buffer.getvalue()


def lying_zip() -> bytes:
    """A valid XLSX whose sheet member declares a 1000-byte uncompressed size but inflates much further."""
    data = bytearray(
        xlsx_bytes(lambda workbook: workbook.add_worksheet("Heures").write_column(0, 0, ["x" * 50] * 50_000))
    )
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size > 1_000_000
    small = (1000).to_bytes(4, "little")
    data[info.header_offset + 22 : info.header_offset + 26] = small  # local file header
    for position in _central_entries(bytes(data)):  # central directory entry
        name_length = int.from_bytes(data[position + 28 : position + 30], "little")
        if data[position + 46 : position + 46 + name_length] == b"xl/worksheets/sheet1.xml":
            data[position + 24 : position + 28] = small
    return bytes(data)


def _central_entries(data: bytes):
    position = data.find(b"PK\x01\x02")
    while position != -1:
        yield position
        position = data.find(b"PK\x01\x02", position + 4)


def encrypted_ooxml() -> bytes:
    """What Excel writes for a password-protected XLSX: an OLE2 container holding an "EncryptedPackage" stream
    (only the markers matter here: the reader must refuse it before python-calamine tries it as an XLS)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    directory = "EncryptionInfo".encode("utf-16-le") + b"\0" * 50 + "EncryptedPackage".encode("utf-16-le")
    return header + directory + b"\0" * 1024


def zip_with_encrypted_member() -> bytes:
    data = bytearray(hours_statement_xlsx())
    # Set the "encrypted" bit (bit 0 of the general purpose flags) of every central directory entry.
    for position in _central_entries(bytes(data)):
        data[position + 8] |= 0x1
    return bytes(data)
