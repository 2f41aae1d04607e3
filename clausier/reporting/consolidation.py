"""National consolidation: one yearly file per territory, merged by the national network without identities.

`export(facilitator, year)` builds the territory's file (docs/consolidation.md): the year's indicators
(the SQL aggregates of `clausier.reporting.breakdowns`) and, instead of names, one keyed hash per distinct
person with the hours and contracts of that person in the year. `merge(files)` checks the files and counts
the nation: territories, buyers, hours, contracts, and people without double counting across territories
(distinct hashes).

The hash is HMAC-SHA256, under the key shared by the national network (`CONSOLIDATION_KEY`, never
`SECRET_KEY`), of the normalized identity of the person's kept record (a merged duplicate counts as the
record it was merged into):

    normalize_name(first_name, last_name) + "|" + birth_date.isoformat()
    e.g. "dupont martin|eloise|1990-05-17" for "Éloïse DUPONT-MARTIN" and "eloise dupont martin"

An anonymised person (retention rule) has no identity left: their hash is taken on the record's UUID, so that
they count once in their territory and never match anyone elsewhere.

What never leaves the territory: names, birth dates, addresses, eligibility criteria (not even as counts:
health, justice and social data), record ids.
"""

import datetime
import hashlib
import hmac
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from clausier.geo.models import Commune
from clausier.participants.models import Participant
from clausier.participants.profiles import counts_by, profile_breakdown
from clausier.reporting.breakdowns import (
    PERSON,
    by_dimension,
    figures,
    hours_by_lot_type_modality,
    outcomes,
    people,
)
from clausier.reporting.filters import IndicatorFilter
from clausier.utils.names import normalize_name

FORMAT = "clausier-consolidation"
VERSION = 1
KEY_MIN_LENGTH = 32
ZERO = Decimal(0)
HOURS_PERSON = Coalesce("contract__participant__merged_into_id", "contract__participant_id")
PERSON_FIELDS = {"id", "hours", "contracts"}
COUNT_FIELDS = ("buyers", "markets", "lots", "contracts", "participants", "companies", "structures")
HOURS_FIELDS = ("planned_hours", "hours")
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


class ConsolidationError(Exception):
    """A missing key, or a file the merge refuses (the message says which file and why, in French)."""


# --- The key and the hash ---------------------------------------------------------------------------------


def consolidation_key() -> bytes:
    """The national network's key (setting / environment variable `CONSOLIDATION_KEY`)."""
    key = getattr(settings, "CONSOLIDATION_KEY", "") or ""
    if not key:
        raise ConsolidationError(
            "La clé de consolidation nationale est absente : définissez la variable d'environnement "
            "CONSOLIDATION_KEY avec la clé communiquée par le réseau national (la même pour tous les "
            "territoires, distincte de SECRET_KEY)."
        )
    if key == settings.SECRET_KEY:
        raise ConsolidationError(
            "CONSOLIDATION_KEY ne doit pas être la SECRET_KEY de l'instance : utilisez la clé communiquée "
            "par le réseau national."
        )
    if len(key) < KEY_MIN_LENGTH:
        raise ConsolidationError(
            f"CONSOLIDATION_KEY est trop courte ({len(key)} caractères) : {KEY_MIN_LENGTH} caractères au "
            "moins sont attendus (une clé courte permettrait de retrouver les identités par essais)."
        )
    return key.encode("utf-8")


def identity(first_name: str, last_name: str, birth_date: datetime.date) -> str:
    """The normalized identity: "dupont martin|eloise|1990-05-17"."""
    return f"{normalize_name(first_name, last_name)}|{birth_date.isoformat()}"


def person_hash(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A fingerprint of the key (not the key): files made with different keys are never merged."""
    return person_hash("clausier-consolidation:key-id", key)[:16]


# --- Export ---------------------------------------------------------------------------------------------------


def _number(value) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _breakdown(rows: list[dict]) -> list[dict]:
    return [
        {
            "code": r["code"],
            "label": r["label"],
            "contracts": r["contracts"],
            "participants": r["participants"],
            "hours": _number(r["hours"]),
        }
        for r in rows
    ]


def _communes(f: IndicatorFilter, who) -> list[dict]:
    """People by commune of residence at entry (two queries), largest first."""
    by_commune = counts_by(f.facilitator, "commune", who)
    names = dict(
        Commune.objects.filter(insee_code__in=[c for c in by_commune if c]).values_list("insee_code", "name")
    )
    return sorted(
        (
            {"insee": code, "name": names.get(code, "Inconnue") if code else "Inconnue", "participants": n}
            for code, n in by_commune.items()
        ),
        key=lambda r: (-r["participants"], r["name"]),
    )


def year_indicators(f: IndicatorFilter) -> dict:
    """Every indicator of the year, JSON-ready: the aggregates of `breakdowns` and `profiles` (eleven queries).

    Eligibility criteria are left out, not even counted: they are health, justice and social data.
    """
    head = figures(f)
    hours_rows = hours_by_lot_type_modality(f)
    who = people(f)
    breakdown = profile_breakdown(f.facilitator, who)
    return {
        "buyers": head["buyers"],
        "markets": head["markets"],
        "lots": head["lots"],
        "planned_hours": _number(head["planned_hours"]),
        "hours": _number(head["hours"]),
        "fte": _number(head["fte"]),
        "fte_hours": head["fte_hours"],
        "contracts": head["contracts"],
        "participants": head["participants"],
        "companies": head["companies"],
        "structures": head["structures"],
        "contracts_by_type": _breakdown(by_dimension(f, "contract_type", hours_rows, 1)),
        "contracts_by_modality": _breakdown(by_dimension(f, "modality", hours_rows, 2)),
        "profiles": {
            "total": breakdown["total"]["total"],
            **{dimension: breakdown[dimension] for dimension in ("sex", "age_band", "qualification_band")},
            "qpv": breakdown["qpv_flag"],
            "communes": _communes(f, who),
        },
        "outcomes": outcomes(f),
    }


def persons(f: IndicatorFilter, key: bytes) -> list[dict]:
    """One entry per distinct person (hash) with their hours and contracts under `f`: three queries."""
    contracts = dict(
        f.contracts()
        .annotate(person=PERSON)
        .values("person")
        .annotate(n=Count("pk"))
        .values_list("person", "n")
        .order_by()
    )
    worked = (
        f.hours(through=("contract", "contract__participant")).annotate(person=HOURS_PERSON).values("person")
    )
    hours = dict(worked.annotate(h=Sum("counted_hours")).values_list("person", "h").order_by())
    records = Participant.objects.filter(
        Q(pk__in=people(f)) | Q(pk__in=worked), facilitator=f.facilitator
    ).values_list("pk", "first_name", "last_name", "birth_date", "anonymised_on", "uuid")
    entries: dict[str, dict] = {}
    for pk, first_name, last_name, birth_date, anonymised_on, uuid in records.order_by():
        value = f"anonymised|{uuid}" if anonymised_on else identity(first_name, last_name, birth_date)
        digest = person_hash(value, key)
        # Two records of one territory with the same identity (an undetected duplicate) are one person.
        entry = entries.setdefault(digest, {"id": digest, "hours": ZERO, "contracts": 0})
        entry["hours"] += hours.get(pk) or ZERO
        entry["contracts"] += contracts.get(pk, 0)
    return [
        {"id": e["id"], "hours": _number(e["hours"]), "contracts": e["contracts"]}
        for e in sorted(entries.values(), key=lambda e: e["id"])
    ]


def export(facilitator, year: int, *, key: bytes | None = None, now: datetime.datetime | None = None) -> dict:
    """The yearly file of one territory (a dict; `dumps` writes it)."""
    key = key if key is not None else consolidation_key()
    f = IndicatorFilter.for_year(facilitator, year)
    return {
        "format": FORMAT,
        "version": VERSION,
        "facilitator": {"slug": facilitator.slug, "name": facilitator.name},
        "year": year,
        "generated_at": (now or timezone.now()).isoformat(timespec="seconds"),
        "key_id": key_id(key),
        "indicators": year_indicators(f),
        "persons": persons(f, key),
    }


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


# --- Validation -------------------------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return _is_int(value) or isinstance(value, Decimal)


def validate(data, name: str) -> dict:
    """`data` (parsed with `parse_float=Decimal`) if it is a well-formed file of the format, else an error."""

    def refuse(reason: str):
        raise ConsolidationError(f"{name} : {reason}")

    if not isinstance(data, dict):
        refuse("ce n'est pas un fichier de consolidation Clausier (un objet JSON est attendu).")
    if data.get("format") != FORMAT:
        refuse(f"format « {data.get('format')} » inconnu : « {FORMAT} » est attendu.")
    if data.get("version") != VERSION or not _is_int(data.get("version")):
        refuse(f"version « {data.get('version')} » non prise en charge (version {VERSION} attendue).")
    facilitator = data.get("facilitator")
    if (
        not isinstance(facilitator, dict)
        or not isinstance(facilitator.get("slug"), str)
        or not facilitator["slug"]
    ):
        refuse("le territoire (« facilitator », avec son identifiant « slug ») est absent.")
    year = data.get("year")
    if not _is_int(year) or not 2000 <= year <= 2100:
        refuse(f"année « {year} » invalide (un entier entre 2000 et 2100 est attendu).")
    try:
        datetime.datetime.fromisoformat(data.get("generated_at"))
    except (TypeError, ValueError):
        refuse("date de production « generated_at » absente ou invalide (ISO 8601 attendu).")
    if not isinstance(data.get("key_id"), str) or not _KEY_ID.fullmatch(data["key_id"]):
        refuse("empreinte de clé « key_id » absente ou invalide.")

    indicators = data.get("indicators")
    if not isinstance(indicators, dict):
        refuse("les indicateurs (« indicators ») sont absents.")
    for field_name in COUNT_FIELDS:
        value = indicators.get(field_name)
        if not _is_int(value) or value < 0:
            refuse(f"indicateur « {field_name} » absent ou invalide (entier positif attendu).")
    for field_name in HOURS_FIELDS:
        value = indicators.get(field_name)
        if not _is_number(value) or value < 0:
            refuse(f"indicateur « {field_name} » absent ou invalide (nombre positif attendu).")

    entries = data.get("persons")
    if not isinstance(entries, list):
        refuse("la liste des personnes (« persons ») est absente.")
    seen = set()
    hours, contracts = ZERO, 0
    for i, entry in enumerate(entries):
        where = f"personne n° {i + 1}"
        if not isinstance(entry, dict):
            refuse(f"{where} : un objet est attendu.")
        unexpected = sorted(set(entry) - PERSON_FIELDS)
        if unexpected:
            refuse(
                f"{where} : champ(s) inattendu(s) {', '.join(unexpected)} — une personne n'est décrite que par "
                "son empreinte (« id »), ses heures et ses contrats."
            )
        if not isinstance(entry.get("id"), str) or not _HASH.fullmatch(entry["id"]):
            refuse(f"{where} : empreinte « id » invalide (64 caractères hexadécimaux attendus).")
        if entry["id"] in seen:
            refuse(f"{where} : empreinte en double dans le fichier.")
        seen.add(entry["id"])
        if not _is_number(entry.get("hours")) or entry["hours"] < 0:
            refuse(f"{where} : heures absentes ou invalides.")
        if not _is_int(entry.get("contracts")) or entry["contracts"] < 0:
            refuse(f"{where} : nombre de contrats absent ou invalide.")
        hours += entry["hours"]
        contracts += entry["contracts"]
    if hours != indicators["hours"] or contracts != indicators["contracts"]:
        refuse(
            f"fichier incohérent : les personnes totalisent {hours} h et {contracts} contrats, les indicateurs "
            f"{indicators['hours']} h et {indicators['contracts']} contrats."
        )
    return data


def load(path) -> dict:
    """Read and validate one file."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConsolidationError(f"{name} : fichier introuvable.") from exc
    except UnicodeDecodeError as exc:
        raise ConsolidationError(f"{name} : ce n'est pas un fichier texte UTF-8.") from exc
    except OSError as exc:
        raise ConsolidationError(f"{name} : lecture impossible ({exc.strerror}).") from exc
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ConsolidationError(
            f"{name} : JSON invalide (ligne {exc.lineno}, colonne {exc.colno} : {exc.msg})."
        ) from exc
    return validate(data, name)


# --- Merge ------------------------------------------------------------------------------------------------


@dataclass
class NationalCounts:
    year: int
    territories: list[str]
    buyers: int  # sum of the territories' (a buyer present in two territories counts twice)
    hours: Decimal
    contracts: int
    participants: int  # distinct hashes: without double counting across territories
    participants_sum: int  # sum of the territories' people
    in_several_territories: int  # hashes present in two territories or more
    by_territory: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "year": self.year,
            "territories": len(self.territories),
            "buyers": self.buyers,
            "hours": _number(self.hours),
            "contracts": self.contracts,
            "participants": self.participants,
            "participants_sum": self.participants_sum,
            "in_several_territories": self.in_several_territories,
            "by_territory": self.by_territory,
        }


def merge(files: list[tuple[str, dict]]) -> NationalCounts:
    """National counts of validated files [(name, data)]: one year, one key, each territory once."""
    if not files:
        raise ConsolidationError("Aucun fichier à consolider.")
    years = {data["year"] for _, data in files}
    if len(years) > 1:
        detail = ", ".join(f"{name} ({data['year']})" for name, data in files)
        raise ConsolidationError(
            f"Les fichiers portent sur des années différentes : {detail}. Consolidez une année à la fois."
        )
    keys = {data["key_id"] for _, data in files}
    if len(keys) > 1:
        detail = ", ".join(f"{name} ({data['key_id']})" for name, data in files)
        raise ConsolidationError(
            "Les fichiers n'ont pas été produits avec la même clé de consolidation (empreintes : "
            f"{detail}) : une même personne n'y aurait pas la même empreinte."
        )
    owners: dict[str, str] = {}
    for name, data in files:
        slug = data["facilitator"]["slug"]
        if slug in owners:
            raise ConsolidationError(f"Le territoire « {slug} » figure deux fois : {owners[slug]} et {name}.")
        owners[slug] = name

    presence = Counter(entry["id"] for _, data in files for entry in data["persons"])
    return NationalCounts(
        year=years.pop(),
        territories=list(owners),
        buyers=sum(data["indicators"]["buyers"] for _, data in files),
        hours=sum((Decimal(data["indicators"]["hours"]) for _, data in files), ZERO),
        contracts=sum(data["indicators"]["contracts"] for _, data in files),
        participants=len(presence),
        participants_sum=sum(len(data["persons"]) for _, data in files),
        in_several_territories=sum(1 for n in presence.values() if n > 1),
        by_territory=[
            {
                "facilitator": data["facilitator"]["slug"],
                "participants": len(data["persons"]),
                "hours": _number(data["indicators"]["hours"]),
                "contracts": data["indicators"]["contracts"],
            }
            for _, data in files
        ],
    )


def merge_paths(paths) -> NationalCounts:
    return merge([(str(path), load(path)) for path in paths])
