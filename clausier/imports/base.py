"""What a kind of import is made of — its fields, the problems and items of a validation, the `Kind` base —
shared by the kinds (`kinds/`) and the pipeline that runs them (`pipeline.py`), which imports the kinds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .limits import ImportRefused, Limits
from .readers import Column, Records, Row, find_records, read_table
from .values import ValueProblem, is_blank, normalize_label, quote

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTIONS = (CREATE, UPDATE, UNCHANGED)
MAX_PROBLEMS = 1000  # beyond this, a file is not "a few rows to fix": stop listing (the count stays exact)
MAX_PASSES = 10  # validations of the rows kept, when leaving rows out makes others fail (`keep_valid_rows`)


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # French, as shown in the mapping step and in messages
    synonyms: tuple[str, ...]
    required: bool = False
    help: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # spreadsheet row number, None for the file as a whole
    column: Column | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"Ligne {self.row}")
        if self.column is not None:
            where.append(f"colonne {quote(self.column.label)} ({self.column.letter})")
        return f"{', '.join(where)} : {self.message}" if where else self.message

    def as_json(self) -> dict:
        return {
            "row": self.row,
            "column": self.column.label if self.column else None,
            "letter": self.column.letter if self.column else None,
            "message": self.message,
        }


@dataclass(slots=True)
class Item:
    row: int
    action: str  # CREATE, UPDATE or UNCHANGED
    data: object  # the kind's own value (what to write)


@dataclass
class Validation:
    records: Records
    columns: dict[str, Column]  # field key → column of the file
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    options: dict = field(default_factory=dict)  # the kind's options, e.g. {"create_duplicates": True}
    duplicate_count: int = 0  # rows that are likely duplicates of an existing record (participants)
    notes: list[str] = field(default_factory=list)  # French remarks, not problems (what was left aside)
    # Every row with a problem (exact, even beyond the problems listed), and the problems of the file as a whole
    # (row None): no row can be left out for those.
    error_rows: set[int] = field(default_factory=set)
    general_count: int = 0
    # The validation of the rows kept (`keep_valid_rows`): the rows left out and all their problems.
    left_out: list[int] = field(default_factory=list)
    left_out_problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(item.action for item in self.items)
        return {action: counts.get(action, 0) for action in ACTIONS}

    def add(self, row: int | None, column: Column | None, message: str) -> None:
        self.problem_count += 1
        if row is None:
            self.general_count += 1
        else:
            self.error_rows.add(row)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(row, column, message))


def parse_cells(
    validation: Validation, row: Row, parse: Callable[[str, object], object], required
) -> tuple[dict, bool]:
    """A row's cells by field key, each parsed by `parse(key, value)`: an empty cell of a field not in
    `required` is left out, a value refused (`ValueProblem`) is a problem of its cell and makes `ok` False."""
    cells, width = row.cells, len(row.cells)
    values, ok = {}, True
    for key, column in validation.columns.items():
        value = cells[column.index] if column.index < width else None
        if is_blank(value) and key not in required:
            continue
        try:
            values[key] = parse(key, value)
        except ValueProblem as problem:
            validation.add(row.number, column, problem.message)
            ok = False
    return values, ok


class Kind:
    """What a kind of import declares; see `kinds/hours.py`."""

    name = ""
    label = ""
    fields: tuple[Field, ...] = ()
    # Filled by hand in a spreadsheet: the import page offers a blank file with the fields' titles
    # (`template.blank_template`). Not the DECP: JSON files of the publishers.
    spreadsheet = True
    # Fields whose headers are matched before the others, the specific titles before the general ones
    # ("Date de naissance" before "Date", "Nom de la commune" before "Nom"); keys a kind lacks are passed over.
    matched_first: tuple[str, ...] = ()

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    def expected(self, mapping: dict[str, str] | None = None) -> dict[str, list[str]]:
        """Header synonyms per field key (plus the labels of a saved mapping), `matched_first` first."""
        expected = {f.key: [f.label, *f.synonyms] for f in self.fields}
        for key, label in (mapping or {}).items():
            if key in expected and label:
                expected[key].insert(0, label)
        first = self.matched_first
        return {
            key: expected[key]
            for key in (*first, *(k for k in expected if k not in first))
            if key in expected
        }

    def missing(self, columns: dict[str, Column]) -> list[str]:
        """French messages for the fields that must be mapped and are not."""
        return [
            f"La colonne {quote(f.label)} est obligatoire : indiquez quelle colonne du fichier la contient."
            for f in self.fields
            if f.required and f.key not in columns
        ]

    def is_template(self, records: Records) -> bool:
        """A file made by Clausier itself — its blank template (`imports.template`), or any file whose every
        title is one of this kind's own — imported with no mapping step (the preview still shows the mapping,
        with a link to change it)."""
        own = {normalize_label(f.label) for f in self.fields}
        titled = [column for column in records.header.columns if column.label]
        return bool(titled) and all(column.key in own and not column.duplicated for column in titled)

    def read(
        self,
        source,
        *,
        filename: str,
        sheet: str | None = None,
        mapping: dict[str, str] | None = None,
        limits: Limits | None = None,
    ) -> Records:
        """The file's header and data rows: a spreadsheet by default; a kind fed another format overrides it
        (`kinds/decp.py` reads JSON) and returns records of the same shape."""
        table = read_table(source, filename=filename, sheet=sheet or None, limits=limits)
        records = find_records(table, expected=self.expected(mapping))
        if not records.rows:
            raise ImportRefused("Le fichier ne contient aucune ligne de données sous la ligne des titres.")
        return records

    def preview_context(self, validation: Validation) -> dict:
        """Extra context for the preview page (`kinds/decp.py`: markets not yet followed / already followed)."""
        return {}

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        raise NotImplementedError

    def commit(self, items: list[Item], *, facilitator, by) -> None:
        raise NotImplementedError
