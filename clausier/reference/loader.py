"""The one loader of reference data: versioned JSON files → reference tables.

Each file is `{"version": "2026.1", "items": [{"code": …, "label": …, …}, …]}`, one file per model
(see `REFERENCE_FILES`). Loading is:

- idempotent: rows are matched by `code`; a second run changes nothing and reports every row unchanged;
- complete: the file is the whole truth for the fields of the model (a field left out of an item takes the
  field's default; `order` defaults to the item's position in the file; `is_active` to true);
- atomic: every file is checked, then everything is written in one transaction; a bad file writes nothing
  and raises `ReferenceFileError`, whose French message names the file and the item;
- conservative: a row whose code disappeared from its file is deactivated (`is_active=False`), never deleted
  (contracts, clauses and assessments keep pointing at it);
- two passes: rows first, then references to rows of the same model (`LegalBasis.replaced_by`, as codes).
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from clausier.reference.models import (
    ContractType,
    EligibilityCriterion,
    LegalBasis,
    LotFamily,
    Modality,
    OrganizationCategory,
    OutcomeCategory,
    QualificationLevel,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

# File name → model, in loading order.
REFERENCE_FILES: dict[str, type[models.Model]] = {
    "organization_categories.json": OrganizationCategory,
    "legal_bases.json": LegalBasis,
    "modalities.json": Modality,
    "contract_types.json": ContractType,
    "qualification_levels.json": QualificationLevel,
    "outcome_categories.json": OutcomeCategory,
    "eligibility_criteria.json": EligibilityCriterion,
    "lot_families.json": LotFamily,
}

# Set by the loader, never by the file.
_RESERVED = {"id", "version"}


class ReferenceFileError(Exception):
    """A reference file that cannot be loaded; the message is in French and names the file and the item."""


@dataclass
class LoadReport:
    """What one file did to its table."""

    model: type[models.Model]
    file_name: str
    version: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name_plural).capitalize()

    def summary(self) -> str:
        return (
            f"{self.label} ({self.file_name}, version {self.version}) : "
            f"{len(self.created)} créé(s), {len(self.updated)} mis à jour, "
            f"{len(self.unchanged)} inchangé(s), {len(self.deactivated)} désactivé(s)"
        )


@dataclass
class _ParsedFile:
    path: Path
    model: type[models.Model]
    version: str
    items: list[dict]


def load_reference(
    data_dir: Path | str | None = None, files: Iterable[str] | None = None
) -> list[LoadReport]:
    """Load the reference files of `data_dir` (default: the files shipped with Clausier).

    `files` restricts the load to some file names of `REFERENCE_FILES`. Returns one report per file.
    Raises `ReferenceFileError` (and writes nothing) if any file is missing or wrong.
    """
    data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
    names = list(REFERENCE_FILES) if files is None else list(files)
    unknown = [name for name in names if name not in REFERENCE_FILES]
    if unknown:
        known = ", ".join(REFERENCE_FILES)
        raise ReferenceFileError(
            f"Fichier de référentiel inconnu : {', '.join(unknown)} (attendus : {known})."
        )
    parsed = [_parse(data_dir / name, REFERENCE_FILES[name]) for name in names]
    with transaction.atomic():
        return [_write(p) for p in parsed]


# --- reading and checking a file (no database access) ---


def _parse(path: Path, model: type[models.Model]) -> _ParsedFile:
    where = f"Fichier {path.name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReferenceFileError(f"{where} : fichier introuvable ({path}).") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceFileError(f"{where} : JSON illisible ({exc}).") from exc
    if not isinstance(data, dict) or set(data) != {"version", "items"}:
        raise ReferenceFileError(
            f"{where} : le fichier doit être un objet avec exactement « version » et « items »."
        )
    version, items = data["version"], data["items"]
    max_version = model._meta.get_field("version").max_length
    if not isinstance(version, str) or not version.strip() or len(version) > max_version:
        raise ReferenceFileError(
            f"{where} : « version » doit être un texte non vide de {max_version} caractères au plus."
        )
    if not isinstance(items, list) or not items:
        raise ReferenceFileError(f"{where} : « items » doit être une liste non vide.")

    allowed = _loadable_fields(model)
    seen: set[str] = set()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ReferenceFileError(f"{where}, élément n° {number} : un objet JSON est attendu.")
        code = item.get("code")
        item_where = _item_where(path, number, code)
        if not isinstance(code, str) or not code.strip():
            raise ReferenceFileError(f"{item_where} : le champ « code » est obligatoire.")
        if code in seen:
            raise ReferenceFileError(f"{item_where} : ce code figure deux fois dans le fichier.")
        seen.add(code)
        extra = sorted(set(item) - set(allowed))
        if extra:
            raise ReferenceFileError(
                f"{item_where} : champ(s) inconnu(s) {', '.join(extra)} "
                f"(champs possibles : {', '.join(allowed)})."
            )
    _check_self_references(path, model, items, seen)
    return _ParsedFile(path=path, model=model, version=version, items=items)


def _check_self_references(path: Path, model, items: list[dict], codes: set[str]) -> None:
    self_fks = _self_references(model)
    for fk in self_fks:
        targets = {}
        for number, item in enumerate(items, start=1):
            target = item.get(fk.name)
            if target is None:
                continue
            if target not in codes:
                raise ReferenceFileError(
                    f"{_item_where(path, number, item['code'])} : « {fk.name} » désigne "
                    f"le code « {target} », absent du fichier."
                )
            targets[item["code"]] = target
        for start in targets:
            chain, code = [start], start
            while code in targets:
                code = targets[code]
                if code in chain:
                    number = next(n for n, it in enumerate(items, start=1) if it["code"] == start)
                    raise ReferenceFileError(
                        f"{_item_where(path, number, start)} : « {fk.name} » forme une boucle "
                        f"({' → '.join([*chain, code])})."
                    )
                chain.append(code)


# --- writing (inside the caller's transaction) ---


def _write(parsed: _ParsedFile) -> LoadReport:
    model, path = parsed.model, parsed.path
    report = LoadReport(model=model, file_name=path.name, version=parsed.version)
    existing = {row.code: row for row in model.objects.all()}
    plain = [f for f in _loadable_field_objects(model) if f not in _self_references(model)]
    status: dict[str, str] = {}
    rows: dict[str, models.Model] = {}

    # Pass 1: every row with its own fields.
    for number, item in enumerate(parsed.items, start=1):
        code = item["code"]
        values = {"version": parsed.version}
        for f in plain:
            if f.name in item:
                raw = item[f.name]
            elif f.name == "order":
                raw = number
            else:
                raw = f.get_default()
            values[f.attname] = _to_python(f, raw, path, number, code)
        row = existing.get(code)
        if row is None:
            row = model(**values)
            status[code] = "created"
        else:
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            for name in changed:
                setattr(row, name, values[name])
            status[code] = "updated" if changed else "unchanged"
        if status[code] != "unchanged":
            _validate(row, path, number, code)
            row.save()
        rows[code] = row

    # Pass 2: references to rows of the same file, given as codes.
    for fk in _self_references(model):
        for item in parsed.items:
            code = item["code"]
            row = rows[code]
            target = item.get(fk.name)
            target_id = rows[target].pk if target is not None else None
            if getattr(row, fk.attname) != target_id:
                setattr(row, fk.attname, target_id)
                row.save(update_fields=[fk.attname])
                if status[code] == "unchanged":
                    status[code] = "updated"

    for code, state in status.items():
        getattr(report, state).append(code)

    # Rows whose code left the file: deactivated, never deleted.
    gone = [row for code, row in existing.items() if code not in rows and row.is_active]
    for row in gone:
        row.is_active = False
        row.save(update_fields=["is_active"])
        report.deactivated.append(row.code)
    return report


def _to_python(f: models.Field, raw, path: Path, number: int, code: str):
    if raw is None:
        return None
    try:
        return f.to_python(raw)
    except ValidationError as exc:
        raise ReferenceFileError(
            f"{_item_where(path, number, code)} : valeur invalide pour « {f.name} » ({raw!r}) : "
            f"{_messages(exc)}"
        ) from exc


def _validate(row: models.Model, path: Path, number: int, code: str) -> None:
    # Uniqueness is guaranteed by matching on `code`; self references are checked before writing.
    exclude = {f.name for f in _self_references(type(row))}
    try:
        row.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        details = "; ".join(
            f"« {name} » : {' '.join(str(m) for m in messages)}"
            for name, messages in exc.message_dict.items()
        )
        raise ReferenceFileError(f"{_item_where(path, number, code)} : {details}") from exc


# --- helpers ---


def _item_where(path: Path, number: int, code) -> str:
    label = f" (code « {code} »)" if isinstance(code, str) and code else ""
    return f"Fichier {path.name}, élément n° {number}{label}"


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _loadable_field_objects(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in _RESERVED and not f.primary_key]


def _loadable_fields(model) -> list[str]:
    return [f.name for f in _loadable_field_objects(model)]


def _self_references(model) -> list[models.ForeignKey]:
    return [f for f in _loadable_field_objects(model) if f.is_relation and f.related_model is model]
