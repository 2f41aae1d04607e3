"""What a workbook claims about its size, checked BEFORE python-calamine loads a sheet.

python-calamine builds a dense range from the first to the last cell of a sheet: one cell written at
`XFD1048576` in a 5 KB XLSX asks it for 1,048,576 × 16,384 cells (512 GB), and the failed allocation aborts the
whole process (a Rust abort, which no `try/except` catches). So the sheet's own XML is read first, in streaming,
and its bounding box compared with the limits:

- XLSX: the `<dimension ref="…">` it declares and the `r="…"` reference of every row and cell present;
- ODS: the rows and cells, with their `number-rows-repeated` / `number-columns-repeated` counts (an ODS can
  claim a cell repeated a million times); trailing empty cells and rows are not counted, as calamine drops them.

- XLSB: the binary records of every sheet (dimension, row headers, the column of each cell).

XLS is bounded by its format (65,536 × 256 cells, about 0.5 GB at worst) and is not measured.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from xml.etree import ElementTree

from .limits import DAMAGED, MB, ImportRefused, Limits, format_count

# <c r="AB12" …> or <x:c s="1" r="AB12">; rows likewise. Attribute order and namespace prefixes vary.
_CELL_RE = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Za-z]{1,3})(\d{1,9})\"")
_ROW_RE = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=\"(\d{1,9})\"")
_DIMENSION_RE = re.compile(
    rb"<(?:\w+:)?dimension\b[^>]*?\sref=\"([A-Za-z]{1,3})?(\d{1,9})?(?::([A-Za-z]{1,3})(\d{1,9}))?\""
)
_OVERLAP = 256  # bytes kept between chunks so that a tag cut in two is still seen whole

OFFICE_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_T = f"{{{OFFICE_TABLE}}}"


def check_claims(data: bytes, kind: str, limits: Limits, sheet: str | None = None) -> None:
    """Refuse the workbook (`data`, of format `kind`) if a sheet calamine is about to load claims too large an
    area: for an ODS, before it is opened (every sheet is loaded then); for XLSX and XLSB, once the sheet to
    read (`sheet`) is known, before it is loaded."""
    if kind not in ("xlsx", "ods", "xlsb") or (kind != "ods" and sheet is None):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if kind == "xlsx":
                check_xlsx(archive, sheet, limits)
            elif kind == "ods":
                check_ods(archive, limits)
            else:
                check_xlsb(archive, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise ImportRefused(DAMAGED) from exc


def column_number(letters: bytes | str) -> int:
    """`A` → 1, `XFD` → 16384."""
    number = 0
    for char in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(char) - 64
    return number


def refuse_box(limits: Limits, sheet: str, rows: int, columns: int) -> None:
    """Refuse a sheet whose used area exceeds the limits, in French, naming what it claims."""
    if rows <= limits.max_sheet_rows and columns <= limits.max_columns and rows * columns <= limits.max_cells:
        return
    raise ImportRefused(
        f"La feuille {sheet} annonce une zone de {format_count(rows)} lignes sur {format_count(columns)} "
        f"colonnes, au-delà de ce que Clausier accepte ({format_count(limits.max_sheet_rows)} lignes, "
        f"{format_count(limits.max_columns)} colonnes, {format_count(limits.max_cells)} cellules) : "
        "une cellule isolée très loin du tableau, sans doute. Copiez le tableau seul dans un nouveau "
        "classeur, enregistrez-le, puis importez-le à nouveau."
    )


# --- XLSX ---------------------------------------------------------------------------------------------------


def _xlsx_sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its XML part (`xl/worksheets/sheet1.xml`), from the workbook and its relationships."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise ImportRefused(DAMAGED) from exc
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels if rel.tag.endswith("Relationship")}
    parts = {}
    for sheet in workbook.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        rel_id = next((value for key, value in sheet.attrib.items() if key.endswith("}id")), None)
        target = targets.get(rel_id, "")
        if target:
            # Targets are relative to xl/ unless absolute ("/xl/worksheets/sheet1.xml").
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            parts[sheet.get("name", "")] = part
    return parts


def check_xlsx(archive: zipfile.ZipFile, sheet: str, limits: Limits) -> None:
    part = _xlsx_sheet_parts(archive).get(sheet)
    if part is None or part not in archive.NameToInfo:
        return  # a chart sheet or a sheet calamine will refuse itself
    max_row = max_column = 0
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(MB):
            data = tail + chunk
            for match in _DIMENSION_RE.finditer(data):
                # A1:XFD1048576 — the declared area counts as much as the cells actually present.
                for letters, digits in ((match[1], match[2]), (match[3], match[4])):
                    if letters:
                        max_column = max(max_column, column_number(letters))
                    if digits:
                        max_row = max(max_row, int(digits))
            for letters, digits in _CELL_RE.findall(data):
                max_column = max(max_column, column_number(letters))
                max_row = max(max_row, int(digits))
            for digits in _ROW_RE.findall(data):
                max_row = max(max_row, int(digits))
            tail = data[-_OVERLAP:]
    refuse_box(limits, f"« {sheet} »", max_row, max_column)


# --- ODS ----------------------------------------------------------------------------------------------------


def _repeat(element, name: str) -> int:
    value = element.get(f"{_T}{name}", "1")
    return int(value) if value.isdigit() else 1


def _is_empty_cell(cell) -> bool:
    return len(cell) == 0 and not any(key.startswith(f"{{{OFFICE}}}") for key in cell.attrib)


def check_ods(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Walk the rows of every sheet in `content.xml` (streaming) and measure each one's used area: calamine
    loads all the sheets of an ODS as soon as it opens it."""
    try:
        stream = archive.open("content.xml")
    except KeyError as exc:
        raise ImportRefused(DAMAGED) from exc
    sheet = ""
    row_index = used_rows = used_columns = 0
    try:
        with stream:
            for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                tag = element.tag
                if tag == f"{_T}table":
                    if event == "start":
                        sheet = element.get(f"{_T}name", "")
                        row_index = used_rows = used_columns = 0
                    continue
                if event != "end" or tag != f"{_T}table-row":
                    continue
                rows = _repeat(element, "number-rows-repeated")
                width = column = 0
                for cell in element:
                    column += _repeat(cell, "number-columns-repeated")
                    if not _is_empty_cell(cell):
                        width = column
                if width:
                    used_rows = row_index + rows
                    used_columns = max(used_columns, width)
                    refuse_box(limits, f"« {sheet} »", used_rows, used_columns)
                row_index += rows
                element.clear()
    except ElementTree.ParseError as exc:
        raise ImportRefused(DAMAGED) from exc


# --- XLSB ---------------------------------------------------------------------------------------------------

BRT_ROW_HDR, BRT_WS_DIM = 0, 148
BRT_CELLS = range(1, 14)  # BrtCellBlank … BrtFmlaError: each starts with its column (4 bytes)


def _records(data: bytes):
    """(type, payload) of each BIFF12 record: a 1–2 byte type and a 1–4 byte size, 7 bits per byte."""
    position, end = 0, len(data)
    while position < end:
        kind = data[position]
        position += 1
        if kind & 0x80:
            if position >= end:
                raise ImportRefused(DAMAGED)
            kind = (kind & 0x7F) | ((data[position] & 0x7F) << 7)
            position += 1
        size = shift = 0
        for _ in range(4):
            if position >= end:
                raise ImportRefused(DAMAGED)
            byte = data[position]
            position += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield kind, data[position : position + size]
        position += size


def check_xlsb(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Every binary sheet: its declared dimension, the row of each row header and the column of each cell."""
    for info in archive.infolist():
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".bin")):
            continue
        max_row = max_column = 0
        for kind, payload in _records(archive.read(info)):
            if kind == BRT_ROW_HDR and len(payload) >= 4:
                max_row = max(max_row, int.from_bytes(payload[:4], "little") + 1)
            elif kind in BRT_CELLS and len(payload) >= 4:
                max_column = max(max_column, int.from_bytes(payload[:4], "little") + 1)
            elif kind == BRT_WS_DIM and len(payload) >= 16:
                last_row, last_column = (int.from_bytes(payload[i : i + 4], "little") for i in (4, 12))
                max_row, max_column = max(max_row, last_row + 1), max(max_column, last_column + 1)
        refuse_box(limits, f"« {info.filename.rsplit('/', 1)[-1]} »", max_row, max_column)
