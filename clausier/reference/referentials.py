"""The large public referentials, read from their official CSV files (plain or compressed; the versions that
ship with Clausier are in `clausier/reference/official/`, loaded by `clausier load_reference`):

- ROME 4.0 of France Travail (grands domaines, domaines professionnels, métiers, appellations): the folder of
  the open-data distribution (`rome_vNNN_grand_domaine.csv`, `…_domaine_professionnel.csv`,
  `…_referentiel_code_rome.csv`, `…_referentiel_appellation.csv`);
- NAF rév. 2 of the INSEE: `naf_rev2_sections.csv` and `naf_rev2_codes.csv`.

Each import is all or nothing and idempotent: rows are matched by code, changed labels updated, nothing
deleted (a code that left the file keeps its rows, which may still be pointed at).
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from clausier.reference.models import NafCode, RomeAppellation, RomeDomain, RomeJob
from clausier.utils.compressed import DECOMPRESSION_ERRORS, SUFFIXES, open_text, plain_name
from clausier.utils.names import searchable


class ReferentialError(Exception):
    """A missing or malformed file: the message says which, in French."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self):
        return f"{self.created} créé(s), {self.updated} mis à jour, {self.unchanged} inchangé(s)"


def _rows(path: Path, required: set[str]) -> list[dict]:
    if not path.is_file():
        raise ReferentialError(f"Fichier introuvable : {path}")
    try:
        with open_text(path) as handle:
            reader = csv.DictReader(handle)
            missing = required - set(reader.fieldnames or [])
            if missing:
                raise ReferentialError(
                    f"{path.name} : colonne(s) manquante(s) : {', '.join(sorted(missing))}."
                )
            return list(reader)
    except UnicodeDecodeError as exc:
        raise ReferentialError(f"{path.name} n'est pas en UTF-8.") from exc
    except DECOMPRESSION_ERRORS as exc:
        raise ReferentialError(f"{path.name} : fichier compressé illisible ({exc}).") from exc


def _one(folder: Path, pattern: str) -> Path:
    """The last file matching `pattern`, plain or compressed (`….csv`, `….csv.xz`, `….csv.gz`)."""
    matches = sorted(
        {path for suffix in ("", *SUFFIXES) for path in folder.glob(pattern + suffix)}, key=plain_name
    )
    if not matches:
        raise ReferentialError(f"Aucun fichier « {pattern} » dans {folder}.")
    return matches[-1]


def _upsert(model, rows: dict[str, dict], version: str) -> Counts:
    """Create or update `model` rows by code ({code: field values}); one query to read, bulk writes."""
    counts = Counts()
    existing = {obj.code: obj for obj in model.objects.filter(code__in=rows)}
    to_create, to_update, fields = [], [], set()
    for code, values in rows.items():
        values = {**values, "version": version}
        obj = existing.get(code)
        if obj is None:
            to_create.append(model(code=code, **values))
            continue
        changed = {name for name, value in values.items() if getattr(obj, name) != value}
        if changed - {"version"}:
            for name in changed:
                setattr(obj, name, values[name])
            fields |= changed
            to_update.append(obj)
        else:
            counts.unchanged += 1
    model.objects.bulk_create(to_create, batch_size=2000)
    if to_update:
        model.objects.bulk_update(to_update, sorted(fields), batch_size=2000)
    counts.created, counts.updated = len(to_create), len(to_update)
    return counts


def rome_version(folder: Path) -> str:
    match = re.search(r"rome_v(\d+)_", _one(folder, "rome_v*_referentiel_code_rome.csv").name)
    return f"ROME v{match.group(1)}" if match else "ROME"


@transaction.atomic
def import_rome(folder) -> dict[str, Counts]:
    folder = Path(folder)
    version = rome_version(folder)
    grands = _rows(_one(folder, "rome_v*_grand_domaine.csv"), {"code_grand_domaine", "libelle_grand_domaine"})
    domains = _rows(
        _one(folder, "rome_v*_domaine_professionnel.csv"),
        {"code_domaine_professionnel", "libelle_domaine_professionnel"},
    )
    jobs = _rows(_one(folder, "rome_v*_referentiel_code_rome.csv"), {"code_rome", "libelle_rome"})
    titles = _rows(
        _one(folder, "rome_v*_referentiel_appellation.csv"),
        {"code_ogr", "libelle_appellation_long", "code_rome"},
    )
    result = {}
    result["grands domaines"] = _upsert(
        RomeDomain,
        {r["code_grand_domaine"]: {"label": r["libelle_grand_domaine"], "parent": None} for r in grands},
        version,
    )
    parents = {
        d.code: d for d in RomeDomain.objects.filter(code__in=[r["code_grand_domaine"] for r in grands])
    }
    rows = {}
    for r in domains:
        code = r["code_domaine_professionnel"]
        if code[:1] not in parents:
            raise ReferentialError(f"Domaine professionnel {code} : grand domaine {code[:1]} inconnu.")
        rows[code] = {"label": r["libelle_domaine_professionnel"], "parent": parents[code[:1]]}
    result["domaines professionnels"] = _upsert(RomeDomain, rows, version)
    domain_of = {d.code: d for d in RomeDomain.objects.filter(code__in=rows)}
    rows = {}
    for r in jobs:
        code = r["code_rome"]
        if code[:3] not in domain_of:
            raise ReferentialError(f"Métier {code} : domaine professionnel {code[:3]} inconnu.")
        rows[code] = {"label": r["libelle_rome"], "domain": domain_of[code[:3]]}
    result["métiers"] = _upsert(RomeJob, rows, version)
    job_of = {j.code: j for j in RomeJob.objects.all()}
    rows = {}
    for r in titles:
        if r["code_rome"] not in job_of:
            raise ReferentialError(f"Appellation {r['code_ogr']} : métier {r['code_rome']} inconnu.")
        label = r["libelle_appellation_long"][:255]
        rows[r["code_ogr"]] = {"label": label, "search": searchable(label), "job": job_of[r["code_rome"]]}
    result["appellations"] = _upsert(RomeAppellation, rows, version)
    return result


@transaction.atomic
def import_naf(folder) -> Counts:
    folder = Path(folder)
    sections = _rows(_one(folder, "naf_rev2_sections.csv"), {"code_section", "libelle_section"})
    codes = _rows(_one(folder, "naf_rev2_codes.csv"), {"code", "niveau", "code_section", "libelle"})
    rows = {
        r["code_section"]: {"level": "section", "label": r["libelle_section"], "section": r["code_section"]}
        for r in sections
    }
    for r in codes:
        if r["code_section"] not in rows:
            raise ReferentialError(f"Code NAF {r['code']} : section {r['code_section']} inconnue.")
        rows[r["code"]] = {"level": r["niveau"], "label": r["libelle"][:255], "section": r["code_section"]}
    return _upsert(NafCode, rows, "NAF rév. 2")


def naf_label(code: str) -> str:
    """The label of a NAF code ("43.99C"), or "" when the referential is not loaded or the code unknown."""
    return NafCode.objects.filter(code=code).values_list("label", flat=True).first() or ""
