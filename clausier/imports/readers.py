"""Read any spreadsheet a facilitator receives (XLSX, XLS, ODS, CSV) into rows of cells, then find its header.

    table = read_table(upload, filename=upload.name, sheet=None)    # → Table, or ImportRefused
    records = find_records(table, expected={"hours": ["heures", "nb heures"], ...})
    for row in records.rows:                                          # data rows only
        row.number, row[records.header.matches["hours"].index]

Cells are `None` (empty), `str` (stripped, never empty), `int`/`float`, `bool`, `date`/`datetime`, `time` or
`timedelta` as python-calamine gives them; CSV cells are `str` or `None`. Turning them into business values is
`values.py`'s job. Row numbers are 1-based as the user sees them in the spreadsheet (for a CSV: the record
number, i.e. the row Excel shows when it opens the file); column indexes are 0-based from column A.

Every refusal of the file as a whole is an `ImportRefused` with a French message: the format is detected from
the content (never trusted from the extension), archives are checked for zip bombs and encryption BEFORE
python-calamine opens them, and nothing else escapes from here (python-calamine errors, Rust panics and csv
errors are turned into refusals).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import python_calamine

from .claims import check_claims
from .limits import DAMAGED, NOT_A_SPREADSHEET, PASSWORD_PROTECTED, ImportRefused, Limits
from .values import MONTHS, ValueProblem, normalize_label, parse_date, parse_decimal, quote

__all__ = [
    "Column",
    "Header",
    "Records",
    "Row",
    "SkippedRow",
    "Table",
    "column_letter",
    "find_header",
    "find_records",
    "is_total_row",
    "read_json",
    "read_records",
    "read_table",
]

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_OOXML_MARK = "EncryptedPackage".encode("utf-16-le")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
SAMPLE_CHARS = 64 * 1024
HEADER_SCAN_ROWS = 30

SPREADSHEET_FORMATS = ("xlsx", "xlsb", "xls", "ods")


# --- Data shapes --------------------------------------------------------------------------------------------


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass(slots=True)
class Row:
    number: int  # 1-based, as shown by the spreadsheet
    cells: list  # index 0 is column A; trailing empty cells are trimmed

    def __getitem__(self, index: int):
        return self.cells[index] if 0 <= index < len(self.cells) else None

    def filled(self) -> list:
        return [cell for cell in self.cells if cell is not None]


@dataclass
class Table:
    filename: str
    format: str  # "xlsx", "xlsb", "xls", "ods" or "csv"
    sheet: str | None  # None for a CSV
    sheet_names: list[str]
    rows: list[Row]  # non-blank rows only, in order
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only

    @property
    def width(self) -> int:
        return max((len(row.cells) for row in self.rows), default=0)


@dataclass(frozen=True)
class Column:
    index: int  # 0-based from column A
    label: str  # as written in the header row (stripped)
    duplicated: bool = False  # another column of the header has the same title

    @property
    def letter(self) -> str:
        return column_letter(self.index)

    @property
    def choice(self) -> str:
        """How a mapping names this column: its title, and its letter when another column has the same title."""
        return f"{self.label} ({self.letter})" if self.duplicated else self.label

    @property
    def key(self) -> str:
        return normalize_label(self.label)

    def __str__(self) -> str:
        return f"{self.label} ({self.letter})"


@dataclass
class Header:
    number: int  # row number of the header
    columns: list[Column]
    matches: dict[str, Column] = field(
        default_factory=dict
    )  # expected key → column, when synonyms were given
    # Expected key → the columns of one same title that could each hold it: never chosen automatically.
    ambiguous: dict[str, list[Column]] = field(default_factory=dict)

    def column(self, label: str) -> Column | None:
        """The column a mapping names: by title, or by `title (letter)` when two columns share the title."""
        key = normalize_label(label)
        exact = next((c for c in self.columns if c.duplicated and normalize_label(c.choice) == key), None)
        return exact or next((c for c in self.columns if c.key == key and not c.duplicated), None)

    def namesakes(self, label: str) -> list[Column]:
        """The columns titled `label` when there are several of them."""
        key = normalize_label(label)
        return [c for c in self.columns if c.duplicated and c.key == key]


@dataclass(frozen=True)
class SkippedRow:
    number: int
    reason: str  # "total" or "header" (a header repeated further down, as page-by-page exports do)


@dataclass
class Records:
    table: Table
    header: Header
    rows: list[Row]  # data rows, each with its spreadsheet row number
    skipped: list[SkippedRow]


# --- Reading ------------------------------------------------------------------------------------------------


def read_table(
    path_or_file, *, filename: str, sheet: str | None = None, limits: Limits | None = None
) -> Table:
    """Read the sheet `sheet` (default: the first visible worksheet) of an XLSX/XLSB/XLS/ODS file, or a CSV.

    `path_or_file` is a path, bytes, or a binary file object (a Django `UploadedFile`); `filename` is the name
    the user gave the file, used in messages only. Raises `ImportRefused` and nothing else.
    """
    limits = limits or Limits.from_settings()
    data = _load_bytes(path_or_file, limits)
    kind = _sniff(data, limits)
    if kind == "csv":
        return _read_csv(data, filename=filename, limits=limits)
    return _read_workbook(data, kind, filename=filename, sheet=sheet, limits=limits)


def read_records(
    path_or_file,
    *,
    filename: str,
    sheet: str | None = None,
    expected: Mapping[str, Iterable[str]] | None = None,
    min_labels: int | None = None,
    limits: Limits | None = None,
) -> Records:
    """`read_table` then `find_records`."""
    table = read_table(path_or_file, filename=filename, sheet=sheet, limits=limits)
    return find_records(table, expected=expected, min_labels=min_labels)


def _load_bytes(source, limits: Limits) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        try:
            limits.check_size(os.stat(source).st_size)
            with open(source, "rb") as handle:
                data = handle.read(limits.max_bytes + 1)
        except OSError as exc:
            raise ImportRefused("Le fichier est introuvable ou illisible.") from exc
    elif hasattr(source, "read"):
        size = getattr(source, "size", None)  # Django UploadedFile: refuse before reading anything
        if isinstance(size, int):
            limits.check_size(size)
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)
        data = source.read(limits.max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise TypeError(f"read_table() cannot read a {type(source).__name__}")
    limits.check_size(len(data))
    return data


def _sniff(data: bytes, limits: Limits) -> str:
    """Format from the content: "xlsx", "xlsb", "ods", "xls" or "csv"; refuse what is none of them."""
    if data.startswith(ZIP_MAGIC):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        # NotImplementedError: a central directory claiming a zip version that does not exist (found by fuzzing).
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            ValueError,
            OSError,
            EOFError,
            NotImplementedError,
        ) as exc:
            raise ImportRefused(DAMAGED) from exc
        with archive:
            limits.check_archive(archive)
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                if archive.read("mimetype").strip() != ODS_MIMETYPE:
                    raise ImportRefused(NOT_A_SPREADSHEET)
                if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read(
                    "META-INF/manifest.xml"
                ):
                    raise ImportRefused(PASSWORD_PROTECTED)
                return "ods"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "content.xml" in names:  # ODS without its mimetype member: calamine needs it
                raise ImportRefused(DAMAGED)
        raise ImportRefused(NOT_A_SPREADSHEET)
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_OOXML_MARK in data:  # an encrypted XLSX is an OLE container holding "EncryptedPackage"
            raise ImportRefused(PASSWORD_PROTECTED)
        return "xls"
    if data.startswith(EMPTY_ZIP_MAGIC) or data.startswith(b"%PDF"):
        raise ImportRefused(NOT_A_SPREADSHEET)
    return "csv"


# --- Workbooks (python-calamine) ----------------------------------------------------------------------------


class _CalamineFailure(Exception):
    pass


def _guard(exc: BaseException) -> ImportRefused:
    """Turn anything python-calamine raised (including pyo3's PanicException, a BaseException) into a refusal."""
    if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError | GeneratorExit):
        raise exc
    if isinstance(exc, python_calamine.PasswordError):
        return ImportRefused(PASSWORD_PROTECTED)
    return ImportRefused(DAMAGED)


def _read_workbook(data: bytes, kind: str, *, filename: str, sheet: str | None, limits: Limits) -> Table:
    check_claims(data, kind, limits)  # an ODS: before calamine opens it (and loads every sheet)
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except BaseException as exc:  # noqa: B036 - see _guard
        raise _guard(exc) from exc
    try:
        names = list(workbook.sheet_names)
        if not names:
            raise ImportRefused(DAMAGED)
        name = _choose_sheet(names, list(workbook.sheets_metadata), sheet)
        check_claims(data, kind, limits, sheet=name)  # before calamine builds the sheet's range
        rows = _sheet_rows(workbook.get_sheet_by_name(name), limits)
    except ImportRefused:
        raise
    except BaseException as exc:  # noqa: B036 - see _guard
        raise _guard(exc) from exc
    finally:
        workbook.close()
    if not rows:
        raise ImportRefused(f"La feuille {quote(name)} est vide.")
    return Table(filename=filename, format=kind, sheet=name, sheet_names=names, rows=rows)


def _sheet_rows(calamine_sheet, limits: Limits) -> list[Row]:
    """Non-blank rows with their sheet row numbers; the hot loop of every import (keep it lean)."""
    start = calamine_sheet.start
    offset = start[1] if start else 0
    pad = [None] * offset
    rows: list[Row] = []
    append = rows.append
    max_rows = limits.max_rows
    # iter_rows() yields rows from row 1 of the sheet, but columns only from the first non-empty one.
    for number, raw in enumerate(calamine_sheet.iter_rows(), start=1):
        cells = [(cell.strip() or None) if cell.__class__ is str else cell for cell in raw]
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            continue
        if len(rows) >= max_rows:
            raise limits.too_many_rows()
        append(Row(number, pad + cells if offset else cells))
    return rows


def _choose_sheet(names: list[str], metadata: list, wanted: str | None) -> str:
    if wanted is None:
        for meta in metadata:
            if (
                meta.visible == python_calamine.SheetVisibleEnum.Visible
                and meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            ):
                return meta.name
        return names[0]
    if wanted in names:
        return wanted
    key = normalize_label(wanted)
    close = [name for name in names if normalize_label(name) == key]
    if len(close) == 1:
        return close[0]
    available = ", ".join(quote(name) for name in names)
    raise ImportRefused(f"La feuille {quote(wanted)} n'existe pas ; feuilles disponibles : {available}.")


# --- CSV ----------------------------------------------------------------------------------------------------

_JSON_START_RE = re.compile(r"\{\s*\"|\[\s*[\{\[]")
CSV_DELIMITERS = (";", "\t", ",")  # order = preference on a tie: French files use "," as decimal separator
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_text(data: bytes) -> tuple[str, str]:
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), "utf-16"
            except UnicodeDecodeError as exc:
                raise ImportRefused(NOT_A_SPREADSHEET) from exc
    if b"\x00" in data[: SAMPLE_CHARS * 4]:
        raise ImportRefused(NOT_A_SPREADSHEET)
    if data.startswith(codecs.BOM_UTF8):
        data, bom = data[len(codecs.BOM_UTF8) :], True
    else:
        bom = False
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in Windows-1252
        raise ImportRefused(NOT_A_SPREADSHEET) from exc


def _check_text(sample: str) -> None:
    if not sample.strip():
        raise ImportRefused("Le fichier est vide.")
    if len(_CONTROL_RE.findall(sample)) > max(2, len(sample) // 100):
        raise ImportRefused(NOT_A_SPREADSHEET)
    head = sample.lstrip()[:2000].lower()
    if _JSON_START_RE.match(head):
        raise ImportRefused(
            "Ce fichier est au format JSON et non un tableur : pour les données essentielles des marchés "
            "publics, choisissez le type d'import « Marchés publiés (DECP, JSON) »."
        )
    if head.startswith("<"):
        if "<html" in head or "<table" in head or "<!doctype html" in head:
            raise ImportRefused(
                "Ce fichier est une page web (HTML) et non un vrai tableur, même si son nom se termine par .xls : "
                "ouvrez-le dans votre tableur et enregistrez-le au format XLSX, ODS ou CSV."
            )
        if "urn:schemas-microsoft-com:office:spreadsheet" in head:
            raise ImportRefused(
                "Ce fichier est au format « Feuille de calcul XML 2003 » : ouvrez-le dans votre tableur "
                "et enregistrez-le au format XLSX, ODS ou CSV."
            )
        raise ImportRefused(NOT_A_SPREADSHEET)


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    try:
        return [
            len(fields) for fields in csv.reader(lines, delimiter=delimiter) if any(f.strip() for f in fields)
        ]
    except csv.Error:
        return []


def detect_delimiter(sample: str) -> str:
    """`;`, tab or `,`: csv.Sniffer's guess when the counting agrees, else the delimiter that splits the sample
    lines most consistently into more than one field. On a tie between `;` and `,` the semicolon wins."""
    lines = [line for line in sample.splitlines() if line.strip()][:100]
    scores = {}
    for delimiter in CSV_DELIMITERS:
        counts = [count for count in _field_counts(lines, delimiter) if count > 1]
        if not counts:
            continue
        modal, modal_count = Counter(counts).most_common(1)[0]
        scores[delimiter] = (round(modal_count / len(lines), 2), len(counts))
    if not scores:
        return CSV_DELIMITERS[0]
    best = max(scores.values())
    tied = [delimiter for delimiter in CSV_DELIMITERS if scores.get(delimiter) == best]
    if ";" in tied:
        return ";"
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(CSV_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    return sniffed if sniffed in tied else tied[0]


def _read_csv(data: bytes, *, filename: str, limits: Limits) -> Table:
    text, encoding = decode_text(data)
    sample = text[:SAMPLE_CHARS]
    _check_text(sample)
    if len(text) > SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    delimiter = detect_delimiter(sample)
    rows: list[Row] = []
    max_rows = limits.max_rows
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, fields in enumerate(reader, start=1):
            cells = [field.strip() or None for field in fields]
            while cells and cells[-1] is None:
                cells.pop()
            if not cells:
                continue
            if len(rows) >= max_rows:
                raise limits.too_many_rows()
            if len(cells) > limits.max_columns:
                raise limits.too_many_columns(number, len(cells))
            rows.append(Row(number, cells))
    except csv.Error as exc:
        raise ImportRefused(
            f"Le fichier CSV est mal formé vers la ligne {reader.line_num} : "
            "enregistrez-le à nouveau depuis votre tableur."
        ) from exc
    if not rows:
        raise ImportRefused("Le fichier est vide.")
    return Table(
        filename=filename,
        format="csv",
        sheet=None,
        sheet_names=[],
        rows=rows,
        encoding=encoding,
        delimiter=delimiter,
    )


# --- Header and data rows -----------------------------------------------------------------------------------

_TOTAL_RE = re.compile(
    r"(?:sous )?(?:total|totaux|totale?s?)"
    r"(?: (?:general|generale|generaux|global|globale|annuel|annuelle|mensuel|mensuelle|des heures|heures"
    r"|ht|ttc|h|" + "|".join(MONTHS) + r"))*"
    r"(?: \d{1,4})*"
)


def is_total_row(row: Row) -> bool:
    """ "Total", "TOTAL général :", "Sous-total", "Total 2024", "Total mars 2024" as the row's first filled cell
    (not "Total Énergies", a company name)."""
    for cell in row.cells:
        if cell is not None:
            return (
                isinstance(cell, str)
                and "tot" in cell[:12].lower()  # cheap test first: this runs on every data row
                and _TOTAL_RE.fullmatch(normalize_label(cell)) is not None
            )
    return False


def looks_like_label(cell) -> bool:
    """A header cell: text with a letter, not a number (`12,5 h`) nor a date, not a paragraph."""
    if not isinstance(cell, str) or len(cell) > 100 or not any(char.isalpha() for char in cell):
        return False
    for parser in (parse_decimal, parse_date):
        try:
            parser(cell)
        except ValueProblem:
            continue
        return False
    return True


def _prepare_synonyms(expected: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    prepared = {}
    for key, synonyms in expected.items():
        words = [normalize_label(synonym) for synonym in synonyms]
        prepared[key] = [word for word in words if word]
    return prepared


def _match_strength(label_key: str, synonym: str) -> int:
    """2: same label; 1: the synonym appears as whole words in the label ("nb heures" ⊂ "nb heures realisees")."""
    if label_key == synonym:
        return 2
    if f" {synonym} " in f" {label_key} ":
        return 1
    return 0


def match_columns(columns: list[Column], expected: Mapping[str, Iterable[str]]) -> dict[str, Column]:
    """Suggest a column for each expected key: exact matches first, then containment, each column used once.
    A column whose title another column shares is never suggested (see `ambiguous_columns`)."""
    synonyms = _prepare_synonyms(expected)
    matches: dict[str, Column] = {}
    used: set[int] = set()
    for strength in (2, 1):
        for key, words in synonyms.items():
            if key in matches:
                continue
            for column in columns:
                if (
                    column.index not in used
                    and not column.duplicated
                    and any(_match_strength(column.key, word) == strength for word in words)
                ):
                    matches[key] = column
                    used.add(column.index)
                    break
    return {key: matches[key] for key in synonyms if key in matches}


def ambiguous_columns(
    columns: list[Column], expected: Mapping[str, Iterable[str]], matches: dict[str, Column]
) -> dict[str, list[Column]]:
    """Expected keys left unmatched that columns of one shared title would fit: the user must choose."""
    ambiguous = {}
    for key, words in _prepare_synonyms(expected).items():
        if key in matches:
            continue
        fitting = [c for c in columns if c.duplicated and any(_match_strength(c.key, w) for w in words)]
        if fitting:
            title = fitting[0].key
            ambiguous[key] = [c for c in fitting if c.key == title]
    return ambiguous


def find_header(
    table: Table,
    *,
    expected: Mapping[str, Iterable[str]] | None = None,
    min_labels: int | None = None,
    scan: int = HEADER_SCAN_ROWS,
) -> Header:
    """The header row among the first `scan` filled rows (title rows and merged titles above it are skipped).

    With `expected` (key → header synonyms), the row matching the most keys wins (then the one with the most
    label cells, then the first). Otherwise, or when nothing matches, the first row with at least
    `min_labels` label-like cells (default: half the width of the widest scanned row, at least 2).
    """
    candidates = table.rows[:scan]
    if not candidates:
        raise ImportRefused("Le fichier est vide.")
    label_counts = [sum(1 for cell in row.cells if looks_like_label(cell)) for row in candidates]
    chosen = None
    if expected:
        synonyms = _prepare_synonyms(expected)
        best = (0, 0)
        for row, labels in zip(candidates, label_counts, strict=True):
            keys = [normalize_label(cell) for cell in row.cells if looks_like_label(cell)]
            score = sum(
                1 for words in synonyms.values() if any(_match_strength(k, w) for k in keys for w in words)
            )
            if (score, labels) > best and score:
                best, chosen = (score, labels), row
    if chosen is None:
        if min_labels is None:
            widest = max(len(row.filled()) for row in candidates)
            min_labels = min(widest, max(2, math.ceil(widest / 2)))
        chosen = next(
            (row for row, labels in zip(candidates, label_counts, strict=True) if labels >= min_labels), None
        )
    if chosen is None:
        hint = ""
        if expected:
            examples = [quote(next(iter(synonyms))) for synonyms in expected.values() if synonyms][:3]
            hint = f" (par exemple {', '.join(examples)})" if examples else ""
        raise ImportRefused(
            "Impossible de trouver la ligne des titres de colonnes"
            f"{hint} dans les {scan} premières lignes remplies"
            + (f" de la feuille {quote(table.sheet)}" if table.sheet else "")
            + "."
        )
    columns = [
        Column(index, cell if isinstance(cell, str) else str(cell))
        for index, cell in enumerate(chosen.cells)
        if cell is not None
    ]
    titles = Counter(column.key for column in columns)
    columns = [Column(c.index, c.label, duplicated=True) if titles[c.key] > 1 else c for c in columns]
    matches = match_columns(columns, expected) if expected else {}
    return Header(
        number=chosen.number,
        columns=columns,
        matches=matches,
        ambiguous=ambiguous_columns(columns, expected, matches) if expected else {},
    )


def find_records(
    table: Table,
    *,
    expected: Mapping[str, Iterable[str]] | None = None,
    min_labels: int | None = None,
) -> Records:
    """Header plus data rows: rows above the header are dropped, total rows and repeated headers below it are
    skipped (and listed in `skipped`), blank rows were never kept."""
    header = find_header(table, expected=expected, min_labels=min_labels)
    header_cells = table_row(table, header.number)
    rows: list[Row] = []
    skipped: list[SkippedRow] = []
    started = False
    for row in table.rows:
        if not started:
            started = row.number == header.number
            continue
        if is_total_row(row):
            skipped.append(SkippedRow(row.number, "total"))
        elif row.cells == header_cells:
            skipped.append(SkippedRow(row.number, "header"))
        else:
            rows.append(row)
    return Records(table=table, header=header, rows=rows, skipped=skipped)


def table_row(table: Table, number: int) -> list:
    return next(row.cells for row in table.rows if row.number == number)


# --- JSON ---------------------------------------------------------------------------------------------------

NOT_JSON = "Ce fichier n'est pas un fichier JSON lisible (texte UTF-8 attendu)."


def _refuse_constant(name: str):
    raise ImportRefused(
        f"Ce fichier JSON contient la valeur {quote(name)}, qui n'est pas un nombre : il est refusé."
    )


def read_json(path_or_file, *, filename: str, limits: Limits | None = None):
    """The parsed content of a JSON file (numbers with a fraction as `Decimal`, never floats), within the size
    limit; `ImportRefused` with a French message for an empty, undecodable, malformed or absurdly nested file.

    What the data must look like is the caller's business (`kinds/decp.py`), and so is the row limit.
    """
    limits = limits or Limits.from_settings()
    data = _load_bytes(path_or_file, limits)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRefused(NOT_JSON) from exc
    if not text.strip():
        raise ImportRefused("Le fichier est vide.")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            f"Ce fichier JSON est mal formé (ligne {exc.lineno}, colonne {exc.colno}) : vérifiez qu'il est "
            "complet (téléchargement interrompu ?) et qu'il n'a pas été modifié à la main."
        ) from exc
    # Nesting beyond the parser's stack, integers of 4,300+ digits.
    except (RecursionError, ValueError) as exc:
        raise ImportRefused(
            "Ce fichier JSON est imbriqué trop profondément ou contient un nombre démesuré : il est refusé."
        ) from exc
