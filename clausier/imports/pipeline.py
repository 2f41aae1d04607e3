"""The import pipeline, the same for every kind of file: read → map columns → validate → preview → commit.

    records = read(upload, filename=upload.name, kind=kind)            # ImportRefused for a bad file
    mapping = suggest_mapping(records, kind)                           # {field key: column label}
    validation = validate(records, kind, mapping, facilitator=f)       # every problem, with row and column
    validation.counts                                                  # {"create": …, "update": …, "unchanged": …}
    commit(validation, kind, facilitator=f, by=user)                   # all or nothing; raises Refused

All or nothing is the default. On an explicit choice (CLI `--skip-invalid`, the preview's checkbox "Ignorer
les lignes en erreur"), `keep_valid_rows(validation, kind, facilitator=f)` gives the validation of the rows
without problems, validated again on their own (what the file without its rows in error would import), to
commit as one transaction; the rows left out come back in `error_file(…, only=…)`. A problem of the file as a
whole (a required column missing, …) still refuses everything.

`validate` and `commit` take an optional `progress(step, done, total)` callback ("validate": data rows checked,
"commit": rows written), called at 0, at a bounded rate (`Progress`), and at the total: big files run in a task
(`tasks.py`) that shows it to the user.

or in one call: `run(kind, source, filename=…, facilitator=…, by=…, dry_run=…, skip_invalid=…)` → `Report`.

A *kind* (`kinds/hours.py`, …) declares its fields (key, French label, header synonyms, required or not), turns
the mapped rows into items (each to create, update or leave unchanged) and commits them through the domain's
actions. Re-importing the same file finds every row unchanged and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from django.db import transaction

from clausier.employment.actions import Refused
from clausier.utils.exports import XLSX_CONTENT_TYPE, neutralise

from .base import (  # noqa: F401 — the kinds' base, also named from here by the pipeline's callers
    ACTIONS,
    CREATE,
    MAX_PASSES,
    MAX_PROBLEMS,
    UNCHANGED,
    UPDATE,
    Field,
    Item,
    Kind,
    Problem,
    Validation,
    parse_cells,
)
from .kinds import KINDS
from .limits import ImportRefused, Limits
from .readers import Column, Records, Row
from .values import quote


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError as exc:
        raise ImportRefused(
            f"Type d'import inconnu {quote(name)} ; types possibles : {', '.join(KINDS)}."
        ) from exc


# --- Progress ---------------------------------------------------------------------------------------------

ProgressCallback = Callable[[str, int, int], None]  # (step, done, total)
PROGRESS_SECONDS = 1.0  # at most one report a second (each may be a database write)
PROGRESS_STEPS = 100  # and at most one per hundredth of the total


class Progress:
    """Report `(step, done, total)` to `callback` at 0, then at most every `seconds` and every total/`steps`
    items, and at the total: however many rows, a bounded number of reports."""

    def __init__(
        self,
        callback: ProgressCallback,
        step: str,
        total: int,
        *,
        seconds: float | None = None,
        steps: int = PROGRESS_STEPS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.callback, self.step, self.total = callback, step, total
        self.seconds, self.clock = PROGRESS_SECONDS if seconds is None else seconds, clock
        self.stride = max(1, total // max(1, steps))
        self.reported = -1
        self.next_check = 0
        self.last_time = clock()
        self.report(0)

    def report(self, done: int) -> None:
        self.reported = done
        self.next_check = done + self.stride
        self.last_time = self.clock()
        self.callback(self.step, done, self.total)

    def update(self, done: int) -> None:
        if done >= self.next_check and done < self.total:
            if self.clock() - self.last_time >= self.seconds:
                self.report(done)
            else:
                self.next_check = done + self.stride

    def finish(self) -> None:
        if self.reported != self.total:
            self.report(self.total)


class _Tracked(list):
    """A list whose iteration reports its progress: every kind walks `records.rows` once in `check_rows` and
    the items once in `commit`, so progress needs nothing from the kinds (a second walk reports nothing new)."""

    progress: Progress

    def __iter__(self):
        update = self.progress.update
        for done, item in enumerate(list.__iter__(self)):
            update(done)
            yield item


def _tracked(items: list, progress: Progress) -> _Tracked:
    tracked = _Tracked(items)
    tracked.progress = progress
    return tracked


# --- Steps --------------------------------------------------------------------------------------------------


def read(
    source,
    *,
    filename: str,
    kind: Kind,
    sheet: str | None = None,
    mapping: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> Records:
    return kind.read(source, filename=filename, sheet=sheet, mapping=mapping, limits=limits)


def suggest_mapping(records: Records, kind: Kind, saved: dict[str, str] | None = None) -> dict[str, str]:
    """{field key: column label}: a saved mapping's columns when the file has them, else the header synonyms."""
    suggestion = {key: column.choice for key, column in records.header.matches.items()}
    for key, label in (saved or {}).items():
        if label and records.header.column(label) is not None:
            suggestion[key] = records.header.column(label).choice
    return {f.key: suggestion[f.key] for f in kind.fields if f.key in suggestion}


def resolve_mapping(
    records: Records, kind: Kind, mapping: dict[str, str]
) -> tuple[dict[str, Column], list[str]]:
    """Columns of the file for each mapped field, and French problems (unknown column, used twice, missing)."""
    columns, problems, used = {}, [], {}
    known = {f.key for f in kind.fields}
    for key, label in mapping.items():
        if key not in known or not label:
            continue
        column = records.header.column(label)
        if column is None:
            namesakes = records.header.namesakes(label)
            problems.append(
                same_title(namesakes, kind.field(key).label)
                if namesakes
                else f"La colonne {quote(label)} ({kind.field(key).label}) n'existe pas dans ce fichier."
            )
            continue
        if column.index in used:
            problems.append(
                f"La colonne {quote(column.label)} est choisie deux fois "
                f"({used[column.index]} et {kind.field(key).label})."
            )
            continue
        used[column.index] = kind.field(key).label
        columns[key] = column
    unchosen = unchosen_namesakes(records, kind, mapping)
    problems += [same_title(cols, kind.field(key).label) for key, cols in unchosen.items()]
    problems += kind.missing({**columns, **unchosen})  # an ambiguous field is told once, as ambiguous
    return columns, problems


def unchosen_namesakes(records: Records, kind: Kind, mapping: dict[str, str]) -> dict[str, list[Column]]:
    """Fields that columns of one shared title could hold, and that the mapping does not assign."""
    known = {f.key for f in kind.fields}
    return {
        key: columns
        for key, columns in records.header.ambiguous.items()
        if key in known and not mapping.get(key)
    }


def same_title(columns: list[Column], field_label: str) -> str:
    """Columns sharing one title are never chosen for the user: the French refusal names them all."""
    letters = [c.letter for c in columns]
    listing = ", ".join(letters[:-1]) + f" et {letters[-1]}"
    count = "Deux colonnes" if len(columns) == 2 else f"{len(columns)} colonnes"
    return (
        f"{count} s'intitulent {quote(columns[0].label)} ({listing}) : indiquez laquelle contient "
        f"« {field_label} » à l'étape de correspondance des colonnes (ou renommez l'autre dans le fichier)."
    )


def validate(
    records: Records,
    kind: Kind,
    mapping: dict[str, str],
    *,
    facilitator,
    options: dict | None = None,
    progress: ProgressCallback | None = None,
) -> Validation:
    """Every problem of the file at once; the items to create, update or leave unchanged."""
    columns, problems = resolve_mapping(records, kind, mapping)
    validation = Validation(records=records, columns=columns, options=dict(options or {}))
    for message in problems:
        validation.add(None, None, message)
    tracker = Progress(progress, "validate", len(records.rows)) if progress else None
    if not problems:
        rows = records.rows
        if tracker:
            records.rows = _tracked(rows, tracker)
        try:
            kind.check_rows(validation, facilitator=facilitator)
        finally:
            records.rows = rows
    if tracker:
        tracker.finish()
    return validation


def keep_valid_rows(validation: Validation, kind: Kind, *, facilitator) -> Validation:
    """The rows in error left out (an explicit choice of the user): the validation of the other rows, checked
    again on their own, as if the file had only them; ok, ready to `commit` in one transaction.

    A row may lean on a row left out (a market's title given on its first row only, a second line for the same
    key, a check a kind makes only once every row passes): checked again without it, it fails in turn and is
    left out too, with its own reason, until no row fails (at most `MAX_PASSES` times). `left_out` lists the
    rows left out, `left_out_problems` all their problems (for the error file).

    `Refused` (French messages) when nothing can be kept: a problem of the file as a whole (a required column
    missing: no row can be read right), more than `MAX_PROBLEMS` problems (they could not all be returned),
    no row left."""
    if validation.ok:
        return validation
    if validation.general_count:
        count = validation.general_count
        raise Refused(
            "Une erreur concerne le fichier entier, pas une ligne : aucune ligne ne peut être importée avant "
            "qu'elle soit corrigée."
            if count == 1
            else f"{count} erreurs concernent le fichier entier, pas une ligne : aucune ligne ne peut être "
            "importée avant qu'elles soient corrigées."
        )
    records = validation.records
    left_out: set[int] = set()
    problems: list[Problem] = []
    current = validation
    for _ in range(MAX_PASSES):
        if current.problem_count > MAX_PROBLEMS:
            raise Refused(
                [
                    f"{current.problem_count} problèmes : au-delà de {MAX_PROBLEMS}, les lignes en erreur ne "
                    "peuvent pas être écartées (elles ne pourraient pas toutes vous être rendues avec leurs "
                    "erreurs). Corrigez le fichier puis déposez-le à nouveau."
                ]
            )
        left_out |= current.error_rows
        problems += current.problems
        rows = [row for row in records.rows if row.number not in left_out]
        if not rows:
            raise Refused(["Aucune ligne sans erreur : rien ne peut être importé."])
        current = Validation(
            records=replace(records, rows=rows), columns=validation.columns, options=dict(validation.options)
        )
        kind.check_rows(current, facilitator=facilitator)
        if current.general_count:  # pragma: no cover - a kind's refusals of the whole file come on every pass
            raise Refused([str(p) for p in current.problems if p.row is None])
        if current.ok:
            current.left_out = sorted(left_out)
            current.left_out_problems = sorted(problems, key=lambda p: p.row)
            return current
    raise Refused(
        [
            "Les lignes en erreur entraînent d'autres lignes avec elles (elles en dépendent) : écarter les "
            "lignes en erreur ne suffit pas. Corrigez le fichier puis déposez-le à nouveau."
        ]
    )


def skip_preview(validation: Validation, kind: Kind, *, facilitator) -> dict:
    """For the preview of a file with problems, JSON-ready: what ignoring the rows in error would import
    (`possible`, `counts`, `kept` rows, `left_out` rows), or why it cannot (`reason`, French)."""
    try:
        kept = keep_valid_rows(validation, kind, facilitator=facilitator)
    except Refused as refusal:
        return {"possible": False, "reason": " ".join(refusal.messages)}
    return {
        "possible": True,
        "counts": kept.counts,
        "kept": len(kept.records.rows),
        "left_out": len(kept.left_out),
    }


def commit(
    validation: Validation, kind: Kind, *, facilitator, by, progress: ProgressCallback | None = None
) -> dict[str, int]:
    """Write the validated items, all or nothing; `Refused` (French messages) if the domain refuses, or if the
    validation has problems (to leave the rows in error out, commit `keep_valid_rows(validation, …)`).

    `progress` is first called (with 0) before the transaction opens; its later calls happen inside it."""
    if not validation.ok:
        raise Refused([str(p) for p in validation.problems] or ["Le fichier contient des erreurs."])
    changes = [item for item in validation.items if item.action != UNCHANGED]
    tracker = Progress(progress, "commit", len(changes)) if progress else None
    if changes:
        with transaction.atomic():
            kind.commit(_tracked(changes, tracker) if tracker else changes, facilitator=facilitator, by=by)
            if tracker:
                tracker.finish()
    elif tracker:
        tracker.finish()
    return validation.counts


# --- All in one (CLI, tasks) --------------------------------------------------------------------------------


@dataclass
class Report:
    kind: str
    filename: str
    status: str  # "committed", "valid" (dry run) or "refused"
    dry_run: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    rows: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    messages: list[str] = field(default_factory=list)  # refusals of the file as a whole
    notes: list[str] = field(default_factory=list)  # remarks of the kind (what was left aside), not problems
    skip_invalid: bool = False  # the rows in error were to be left out (`keep_valid_rows`)
    left_out: list[int] = field(default_factory=list)  # the rows left out: `problems` are theirs

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    def lines(self) -> Iterable[str]:
        yield f"Fichier {quote(self.filename)} ({self.kind}) : {self.rows} ligne(s) de données lue(s)" + (
            f", {self.skipped} ligne(s) de total ignorée(s)" if self.skipped else ""
        )
        yield from self.notes
        if self.status == "refused":
            yield f"Import refusé : rien n'a été enregistré ({self.problem_count or len(self.messages)} problème(s))."
            yield from self.messages
            yield from (str(p) for p in self.problems)
            if self.problem_count > len(self.problems):
                yield f"… et {self.problem_count - len(self.problems)} autre(s) problème(s)."
            return
        verb = "seraient" if self.dry_run else "ont été"
        yield (
            f"{self.counts[CREATE]} ligne(s) {verb} créée(s), {self.counts[UPDATE]} mise(s) à jour, "
            f"{self.counts[UNCHANGED]} inchangée(s)."
        )
        if self.left_out:
            kept = self.rows - len(self.left_out)
            if self.dry_run:
                yield (
                    f"{kept} ligne(s) sans erreur seraient importées, {len(self.left_out)} ligne(s) en erreur "
                    "seraient écartées (non enregistrées) :"
                )
            else:
                yield (
                    f"{kept} ligne(s) sans erreur importée(s), {len(self.left_out)} ligne(s) en erreur "
                    "écartée(s) (non enregistrées) :"
                )
            yield from (str(p) for p in self.problems)
        if self.dry_run:
            yield "Essai à blanc : rien n'a été enregistré."

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "filename": self.filename,
            "status": self.status,
            "dry_run": self.dry_run,
            "mapping": self.mapping,
            "counts": self.counts,
            "rows": self.rows,
            "skipped_rows": self.skipped,
            "messages": self.messages,
            "notes": self.notes,
            "problem_count": self.problem_count,
            "problems": [p.as_json() for p in self.problems],
            "skip_invalid": self.skip_invalid,
            "left_out": len(self.left_out),
            "left_out_rows": self.left_out,
        }


def run(
    kind_name: str,
    source,
    *,
    filename: str,
    facilitator,
    by=None,
    mapping: dict[str, str] | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    options: dict | None = None,
    progress: ProgressCallback | None = None,
    skip_invalid: bool = False,
) -> tuple[Report, Validation | None]:
    """Read, validate and commit a file; with `skip_invalid`, the rows in error are left out (the validation
    returned is then that of the rows kept, `keep_valid_rows`)."""
    report = Report(
        kind=kind_name, filename=filename, status="refused", dry_run=dry_run, skip_invalid=skip_invalid
    )
    try:
        kind = get_kind(kind_name)
        records = read(source, filename=filename, kind=kind, sheet=sheet, mapping=mapping)
    except ImportRefused as refusal:
        report.messages = [refusal.message]
        return report, None
    report.rows, report.skipped = len(records.rows), len(records.skipped)
    report.mapping = suggest_mapping(records, kind, mapping)
    validation = validate(
        records, kind, report.mapping, facilitator=facilitator, options=options, progress=progress
    )
    report.counts = validation.counts
    report.problems, report.problem_count = validation.problems, validation.problem_count
    report.notes = validation.notes
    if not validation.ok and not skip_invalid:
        return report, validation
    if not validation.ok:
        try:
            validation = keep_valid_rows(validation, kind, facilitator=facilitator)
        except Refused as refusal:
            report.messages = refusal.messages
            return report, validation
        report.counts, report.left_out = validation.counts, validation.left_out
        report.problems = validation.left_out_problems
        report.problem_count = len(report.problems)
    if dry_run:
        report.status = "valid"
        return report, validation
    try:
        report.counts = commit(validation, kind, facilitator=facilitator, by=by, progress=progress)
    except Refused as refusal:
        report.messages = refusal.messages
        report.problems, report.problem_count, report.left_out = [], len(refusal.messages), []
        return report, validation
    report.status = "committed"
    return report, validation


# --- The user's own file, with an "erreurs" column ----------------------------------------------------------

ERRORS_LABEL = "erreurs"
_NUMBER_RE = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
# Spaces a Windows-1252 file cannot hold, in the messages added to such a file.
_CP1252_SPACES = str.maketrans({"\u202f": "\u00a0", "\u2009": " ", "\u2007": " ", "\u200b": ""})


@dataclass(frozen=True)
class ErrorFile:
    content: bytes
    extension: str  # "csv" or "xlsx"
    content_type: str


def error_file(
    source: bytes, records: Records, problems: Iterable[Problem], *, only: Iterable[int] | None = None
) -> ErrorFile:
    """The user's own file with an added "erreurs" column: a CSV comes back as a CSV (same encoding,
    separator and line ends, every line where it was), a workbook (XLSX, XLS, ODS) and any other source as an
    XLSX (`error_workbook`: same sheet name, every row where it was).

    With `only` (row numbers: the rows left out of an import), the file of those rows alone: the lines above
    the header and the header where they were, then those rows one after the other, each with its errors."""
    table = records.table
    only = None if only is None else set(only)
    if table.format == "csv" and table.encoding and table.delimiter:
        encoding = table.encoding
        content_type = (
            f"text/csv; charset={'utf-16' if encoding == 'utf-16' else encoding.removesuffix('-sig')}"
        )
        return ErrorFile(error_csv(source, records, problems, only=only), "csv", content_type)
    return ErrorFile(error_workbook(records, problems, only=only), "xlsx", XLSX_CONTENT_TYPE)


def extension_of(content_type: str) -> str:
    """The extension `error_file` gives with this content type."""
    return "csv" if content_type.startswith("text/csv") else "xlsx"


def _messages_by_row(problems: Iterable[Problem]) -> dict[int | None, list[str]]:
    by_row: dict[int | None, list[str]] = {}
    for problem in problems:
        text = problem.message
        if problem.column is not None:
            text = f"{problem.column.label} : {text}"
        by_row.setdefault(problem.row, []).append(text)
    return by_row


def _csv_cell(text: str) -> str:
    """An original cell as it was, unless a spreadsheet would evaluate it (`=…`, `+…`, `@…`): then with an
    apostrophe in front, as `clausier.utils.exports` does (a plain number such as `-3,5` is left alone)."""
    return text if _NUMBER_RE.fullmatch(text) else neutralise(text)


def error_csv(
    source: bytes, records: Records, problems: Iterable[Problem], *, only: set[int] | None = None
) -> bytes:
    """The CSV as it was read, line for line (blank lines and title lines included), with an "erreurs" field
    on the header line and on every line with a problem; problems of the file as a whole on lines added at the
    end. Written in the encoding and with the separator detected on reading. With `only`, the lines below the
    header are those rows only."""
    import csv

    from .readers import decode_text

    table = records.table
    text, _ = decode_text(bytes(source))
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter))
    by_row = _messages_by_row(problems)
    error_col = max(
        max((len(fields) for fields in lines), default=0),
        max((c.index for c in records.header.columns), default=0) + 1,
    )
    terminator = "\r\n" if "\r\n" in text[:65536] or "\n" not in text[:65536] else "\n"
    output = io.StringIO(newline="")
    writer = csv.writer(output, delimiter=table.delimiter, lineterminator=terminator)
    for number, fields in enumerate(lines, start=1):
        cells = [_csv_cell(field) for field in fields]
        if number == records.header.number:
            added = ERRORS_LABEL
        elif only is not None and number > records.header.number and number not in only:
            continue
        elif number in by_row:
            added = " ; ".join(by_row[number])
        else:
            writer.writerow(cells)
            continue
        writer.writerow([*cells, *[""] * (error_col - len(cells)), _csv_cell(added)])
    for message in by_row.get(None, []):
        writer.writerow([*[""] * error_col, _csv_cell(f"Erreur générale : {message}")])
    result = output.getvalue()
    if table.encoding == "cp1252":
        return result.translate(_CP1252_SPACES).encode("cp1252", errors="replace")
    return result.encode(table.encoding)


def error_workbook(records: Records, problems: Iterable[Problem], *, only: set[int] | None = None) -> bytes:
    """The sheet that was read, cell for cell (typed), with an added "erreurs" column next to the header.
    With `only`, the rows below the header are those rows only, one after the other."""
    import xlsxwriter
    from xlsxwriter.exceptions import InvalidWorksheetName

    by_row = _messages_by_row(problems)
    table = records.table
    error_col = max(table.width, max((c.index for c in records.header.columns), default=0) + 1)
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False})
    name = table.sheet or "Données"
    try:
        sheet = workbook.add_worksheet(name)  # the user's sheet name, as it was
    except InvalidWorksheetName:  # a name an ODS allows and Excel does not
        name = "".join(" " if c in "[]:*?/\\" else c for c in name)[:31].strip(" '")
        sheet = workbook.add_worksheet(name or "Données")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    datetime_format = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    error_format = workbook.add_format({"font_color": "#C9191E", "text_wrap": True})
    header_format = workbook.add_format({"bold": True, "font_color": "#C9191E"})
    header = records.header.number
    next_line = header  # with `only`: the line (0-based) of the next row kept, right below the header
    for row in table.rows:
        line = row.number - 1
        if only is not None and row.number > header:
            if row.number not in only:
                continue
            line, next_line = next_line, next_line + 1
        _write_row(sheet, row, line, date_format, datetime_format)
        if row.number == header:
            sheet.write_string(line, error_col, ERRORS_LABEL, header_format)
        elif row.number in by_row:
            sheet.write_string(line, error_col, " ; ".join(by_row[row.number]), error_format)
    sheet.set_column(error_col, error_col, 80)
    general = by_row.get(None)
    if general:
        other = workbook.add_worksheet("erreurs générales")
        for index, message in enumerate(general):
            other.write_string(index, 0, message)
    workbook.close()
    return output.getvalue()


def _write_row(sheet, row: Row, line: int, date_format, datetime_format) -> None:
    for index, cell in enumerate(row.cells):
        if cell is None:
            continue
        if isinstance(cell, bool):
            sheet.write_boolean(line, index, cell)
        elif isinstance(cell, int | float):
            sheet.write_number(line, index, cell)
        elif isinstance(cell, dt.datetime):
            sheet.write_datetime(line, index, cell, datetime_format)
        elif isinstance(cell, dt.date):
            sheet.write_datetime(line, index, dt.datetime.combine(cell, dt.time()), date_format)
        else:
            sheet.write_string(line, index, str(cell))
