"""Import of communes from a CSV file: the INSEE COG or a simple list of communes.

Two formats are recognised from their columns:

- `cog`: the Code officiel géographique as published by the `decoupage-administratif` package
  (`code_insee, nom, type, code_departement, codes_postaux, population, code_epci, nom_epci,
  commune_parente…`);
  only `commune-actuelle` and `arrondissement-municipal` rows are kept (communes déléguées and associées are
  not places where people live today); an arrondissement inherits the EPCI of its parent commune;
- `list`: a list of communes such as the members of an EPCI
  (`code_insee, nom, codes_postaux, population_municipale, code_departement, code_epci, nom_epci`).

The whole file is read and checked before anything is written; then rows are upserted in bulk by INSEE code,
only those that are new or changed. Communes missing from the file are left as they are (a file may cover a
single territory, and contracts keep pointing at their commune).
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from clausier.geo.models import Commune
from clausier.utils.compressed import DECOMPRESSION_ERRORS, open_text, plain_name

BATCH_SIZE = 1000
INSEE_CODE = re.compile(r"^(\d{2}|2A|2B)\d{3}$")
POSTAL_CODE = re.compile(r"^\d{5}$")
KEPT_COG_TYPES = {"commune-actuelle", "arrondissement-municipal"}
UPDATED_FIELDS = ["name", "postal_codes", "department_code", "epci_code", "epci_name", "population"]


@dataclass(frozen=True)
class CommuneFormat:
    name: str
    description: str
    columns: dict[str, str]  # Commune field → column
    required: tuple[str, ...]  # every column that must be in the header


COG = CommuneFormat(
    name="cog",
    description="Code officiel géographique (COG)",
    columns={
        "insee_code": "code_insee",
        "name": "nom",
        "department_code": "code_departement",
        "postal_codes": "codes_postaux",
        "population": "population",
        "epci_code": "code_epci",
        "epci_name": "nom_epci",
    },
    required=(
        "code_insee",
        "nom",
        "type",
        "code_departement",
        "codes_postaux",
        "population",
        "code_epci",
        "nom_epci",
        "commune_parente",
    ),
)
COMMUNE_LIST = CommuneFormat(
    name="list",
    description="liste de communes",
    columns={
        "insee_code": "code_insee",
        "name": "nom",
        "department_code": "code_departement",
        "postal_codes": "codes_postaux",
        "population": "population_municipale",
        "epci_code": "code_epci",
        "epci_name": "nom_epci",
    },
    required=(
        "code_insee",
        "nom",
        "codes_postaux",
        "population_municipale",
        "code_departement",
        "code_epci",
        "nom_epci",
    ),
)
FORMATS = (COG, COMMUNE_LIST)


class CommuneFileError(Exception):
    """A communes file that cannot be imported; the French message names the file and, if any, the line."""


@dataclass
class CommuneImportReport:
    file_name: str
    format: CommuneFormat
    read: int = 0  # rows kept from the file
    skipped: int = 0  # rows of other types (communes déléguées, associées) or other départements
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (
            f"{self.file_name} ({self.format.description}) : {self.read} commune(s) lue(s), "
            f"{len(self.created)} créée(s), {len(self.updated)} mise(s) à jour, {self.unchanged} inchangée(s)"
            + (f", {self.skipped} ligne(s) ignorée(s)" if self.skipped else "")
            + "."
        )


def import_communes(path: Path | str, departments: list[str] | None = None) -> CommuneImportReport:
    """Upsert the communes of a COG or commune-list CSV file; `departments` keeps only those départements."""
    path = Path(path)
    fmt, rows = _read(path)
    report = CommuneImportReport(file_name=plain_name(path), format=fmt)
    wanted = {d.upper() for d in departments} if departments else None
    communes = _communes(path, fmt, rows, wanted, report)
    report.read = len(communes)

    existing = {
        row["insee_code"]: row
        for row in Commune.objects.filter(insee_code__in=[c.insee_code for c in communes]).values(
            "insee_code", *UPDATED_FIELDS
        )
    }
    to_write = []
    for commune in communes:
        before = existing.get(commune.insee_code)
        if before is None:
            report.created.append(commune.insee_code)
        elif any(before[name] != getattr(commune, name) for name in UPDATED_FIELDS):
            report.updated.append(commune.insee_code)
        else:
            report.unchanged += 1
            continue
        to_write.append(commune)

    with transaction.atomic():
        Commune.objects.bulk_create(
            to_write,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["insee_code"],
            update_fields=UPDATED_FIELDS,
        )
    return report


def _read(path: Path) -> tuple[CommuneFormat, list[dict[str, str]]]:
    try:
        with open_text(path) as handle:
            text = handle.read()
    except FileNotFoundError as exc:
        raise CommuneFileError(f"Fichier {path} introuvable.") from exc
    except DECOMPRESSION_ERRORS as exc:
        raise CommuneFileError(f"Fichier {path.name} : fichier compressé illisible ({exc}).") from exc
    except UnicodeDecodeError as exc:
        raise CommuneFileError(f"Fichier {path.name} : encodage non reconnu, UTF-8 attendu.") from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    header = [(name or "").strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    fmt = next((f for f in FORMATS if set(f.required) <= set(header)), None)
    if fmt is None:
        expected = " ; ".join(
            f"{f.description} : il manque {', '.join(c for c in f.required if c not in header)}"
            for f in FORMATS
        )
        raise CommuneFileError(
            f"Fichier {path.name} : colonnes non reconnues ({', '.join(header) or 'aucune'}). {expected}. "
            "Aucune commune n'a été importée."
        )
    return fmt, list(reader)


def _communes(path, fmt: CommuneFormat, rows, wanted, report) -> list[Commune]:
    cols = fmt.columns
    communes: dict[str, Commune] = {}
    parents: dict[str, str] = {}  # arrondissement → parent commune
    for line, row in enumerate(rows, start=2):
        if fmt is COG and row.get("type") not in KEPT_COG_TYPES:
            report.skipped += 1
            continue
        department = _clean(row[cols["department_code"]]).upper()
        if wanted is not None and department not in wanted:
            report.skipped += 1
            continue
        where = f"Fichier {path.name}, ligne {line}"
        insee_code = _clean(row[cols["insee_code"]]).upper()
        if not INSEE_CODE.match(insee_code):
            raise CommuneFileError(f"{where} : code INSEE « {insee_code} » invalide (5 caractères attendus).")
        if insee_code in communes:
            raise CommuneFileError(f"{where} : le code INSEE {insee_code} figure deux fois.")
        name = _clean(row[cols["name"]])
        if not name:
            raise CommuneFileError(f"{where} : nom de commune manquant.")
        if not department:
            raise CommuneFileError(f"{where} : code département manquant.")
        postal_codes = _clean(row[cols["postal_codes"]]).replace(",", "|").split("|")
        postal_codes = [code.strip() for code in postal_codes if code.strip()]
        bad = [code for code in postal_codes if not POSTAL_CODE.match(code)]
        if bad:
            raise CommuneFileError(f"{where} : code postal « {bad[0]} » invalide.")
        population = _clean(row[cols["population"]]).replace(" ", "")
        if population and not population.isdigit():
            raise CommuneFileError(f"{where} : population « {population} » invalide (nombre entier attendu).")
        epci_code = _clean(row[cols["epci_code"]])
        if epci_code and not re.fullmatch(r"\d{9}", epci_code):
            raise CommuneFileError(f"{where} : SIREN d'EPCI « {epci_code} » invalide (9 chiffres attendus).")
        communes[insee_code] = Commune(
            insee_code=insee_code,
            name=name,
            postal_codes=" ".join(postal_codes),
            department_code=department,
            epci_code=epci_code,
            epci_name=_clean(row[cols["epci_name"]]),
            population=int(population) if population else None,
        )
        if fmt is COG and row.get("type") == "arrondissement-municipal" and row.get("commune_parente"):
            parents[insee_code] = _clean(row["commune_parente"])
    _check_lengths(path, communes.values())
    # An arrondissement municipal belongs to the EPCI of its commune (Paris, Lyon, Marseille).
    for code, parent_code in parents.items():
        parent, commune = communes.get(parent_code), communes[code]
        if parent is not None and not commune.epci_code:
            commune.epci_code, commune.epci_name = parent.epci_code, parent.epci_name
    return list(communes.values())


def _check_lengths(path, communes) -> None:
    limits = {
        name: Commune._meta.get_field(name).max_length for name in UPDATED_FIELDS if name != "population"
    }
    for commune in communes:
        for name, limit in limits.items():
            if len(getattr(commune, name)) > limit:
                raise CommuneFileError(
                    f"Fichier {path.name}, commune {commune.insee_code} : "
                    f"« {name} » dépasse {limit} caractères."
                )


def _clean(value: str | None) -> str:
    return (value or "").strip()
