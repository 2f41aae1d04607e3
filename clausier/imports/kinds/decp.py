"""Kind "decp": the public procurement open data (données essentielles de la commande publique, schema v2, JSON).

The file is `{"marches": {"marche": [...], "contrat-concession": [...]}}` (schema 2.0.3) or, as consolidated
files have it, `{"marches": [...]}`. It is read as a table of one row per market (the columns are the schema's
names), so that problems, the preview and the error file work as for a spreadsheet; there is no mapping step.

Kept: the markets whose `considerationsSociales` holds "Clause sociale", "Critère social" or "Marché réservé"
(the schema's object `{"considerationSociale": [...]}`, or a plain list, or a text). Concessions and the other
markets are left aside (counted in the notes). Each market's `modifications` are applied in the order of their
id (new amount, duration, holders). Mapping:

- `acheteur.id` (SIRET) → one of the facilitator's buyers; a market of another buyer is left aside (noted);
- `id` → reference: the market is matched by (buyer, reference), then created (with its single lot "1" and
  the awards to the holders), updated, or unchanged;
- `objet` → object (and the lot's title), `montant` → amount HT (and the lot's), `procedure`, `dateNotification`
  → notified on; the end of execution is estimated as the last day of `dureeMois` months from the notification
  (`_end_date`); `codeCPV` → nature (division 45: works; up to 44 and 48: supplies; else services);
  `techniques` "Accord-cadre" → framework; the first of clause sociale / marché réservé / critère social →
  `Market.social_consideration`;
- `titulaires` (SIRET) → awards of the lot to the facilitator's partner companies (others are noted, never
  created: DECP gives no name); a followed market gets its missing awards only when it has a single lot.

No clause is created: DECP gives no hours, the facilitator sizes the clause. Option `only_new` (preview button,
CLI `--only-new`): the markets already followed are left as they are, only the new ones are created.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError

from clausier.employment.actions import Refused
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.actions import add_months
from clausier.procurement.actions import award_lot, create_lot, create_market, update_market
from clausier.procurement.models import Lot, Market

from ..base import CREATE, UNCHANGED, UPDATE, Field, Item, Kind, Validation
from ..limits import ImportRefused, Limits
from ..readers import Column, Header, Records, Row, Table, match_columns, read_json
from ..values import (
    ValueProblem,
    format_cell,
    is_blank,
    normalize_label,
    parse_date,
    parse_siret,
    parse_text,
    quote,
)
from .common import ExistingMarkets, Partners, parse_amount, parse_procedure

ONLY_NEW = "only_new"
SOCIAL = ("Clause sociale", "Critère social", "Marché réservé")
NO_SOCIAL = "Pas de considération sociale"
PRIORITY = ("Clause sociale", "Marché réservé", "Critère social")  # the one kept on the market
_SOCIAL_WORDS = {normalize_label(value): value for value in (*SOCIAL, NO_SOCIAL)}
_ISO_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ].*|[+-]\d{2}:?\d{2}|Z)?")
_CPV_RE = re.compile(r"(\d{2})\d{6}(?:-\d)?")
MAX_MONTHS = 600
SHOWN_IDENTIFIERS = 10
WRONG_SCHEMA = (
    "Ce fichier JSON n'est pas au format des données essentielles de la commande publique "
    "(DECP, schéma v2) : "
)

# (field key, column label = the schema's name)
COLUMNS = (
    ("rank", "rang"),
    ("reference", "id"),
    ("buyer", "acheteur.id"),
    ("title", "objet"),
    ("procedure", "procedure"),
    ("notified_on", "dateNotification"),
    ("duration", "dureeMois"),
    ("amount_ht", "montant"),
    ("holders", "titulaires"),
    ("social", "considerationsSociales"),
    ("cpv", "codeCPV"),
    ("techniques", "techniques"),
)


@dataclass
class DecpRecords(Records):
    total: int = 0  # markets in the file
    ignored: int = 0  # markets without a social consideration
    concessions: int = 0
    structure: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # row → (key, problem)


@dataclass
class DecpPlan:
    number: int
    buyer: Organization
    reference: str
    values: dict  # Market fields given by the file
    market: Market | None = None  # None: not followed yet
    lot: Lot | None = None  # where the awards go (an existing market's single lot)
    changes: dict = field(default_factory=dict)
    awards: list[Organization] = field(default_factory=list)


class DecpKind(Kind):
    name = "decp"
    label = "Marchés publiés (DECP, JSON)"
    spreadsheet = False
    fields = tuple(
        Field(key, label, (label,), required=key in ("reference", "buyer", "title"))
        for key, label in COLUMNS
        if key != "rank"
    )

    def is_template(self, records) -> bool:
        return True  # the schema's names: no mapping step

    # --- Reading --------------------------------------------------------------------------------------------

    def read(self, source, *, filename, sheet=None, mapping=None, limits=None) -> DecpRecords:
        limits = limits or Limits.from_settings()
        markets, concessions = _markets(read_json(source, filename=filename, limits=limits))
        if len(markets) + concessions > limits.max_rows:
            raise limits.too_many_rows()
        if not markets:
            raise ImportRefused(
                "Le fichier ne contient aucun marché"
                + (f" (seulement {concessions} contrat(s) de concession)" if concessions else "")
                + " : rien à importer."
            )
        header = Row(1, [label for _, label in COLUMNS])
        rows: list[Row] = []
        structure: dict[int, list[tuple[str, str]]] = {}
        ignored = 0
        for rank, market in enumerate(markets, start=1):
            if not isinstance(market, dict):
                raise ImportRefused(WRONG_SCHEMA + f"le marché n° {rank} de la liste n'est pas un objet.")
            social, problem = _social(market.get("considerationsSociales"))
            if problem is None and not set(social) & set(SOCIAL):
                ignored += 1
                continue
            number = len(rows) + 2
            cells, problems = _flatten(rank, market, social)
            if problem:
                problems.append(("social", problem))
            rows.append(Row(number, cells))
            if problems:
                structure[number] = problems
        if not rows:
            raise ImportRefused(
                f"Aucun des {len(markets)} marché(s) du fichier n'a de considération sociale (clause sociale, "
                "critère social ou marché réservé) : rien à importer."
            )
        columns = [Column(index, label) for index, label in enumerate(header.cells)]
        return DecpRecords(
            table=Table(filename=filename, format="json", sheet=None, sheet_names=[], rows=[header, *rows]),
            header=Header(number=1, columns=columns, matches=match_columns(columns, self.expected())),
            rows=rows,
            skipped=[],
            total=len(markets),
            ignored=ignored,
            concessions=concessions,
            structure=structure,
        )

    # --- Validation -----------------------------------------------------------------------------------------

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        records, columns = validation.records, validation.columns
        partners = Partners(facilitator)
        buyers = {b.siret: b for b in partners.of_kind(OrganizationKind.BUYER) if b.siret}
        companies = {c.siret: c for c in partners.of_kind(OrganizationKind.COMPANY) if c.siret}
        plans: list[DecpPlan] = []
        others: Counter[str] = Counter()
        seen: dict[tuple[int, str], int] = {}
        for row in records.rows:
            structure = getattr(records, "structure", {}).get(row.number, [])
            for key, message in structure:
                validation.add(row.number, columns.get(key), message)
            plan = self._parse(validation, row, buyers) if not structure else None
            if plan is None:
                continue
            if plan.buyer is None:
                others[plan.values.pop("siret")] += 1
                continue
            key = (plan.buyer.pk, plan.reference)
            if key in seen:
                validation.add(
                    row.number,
                    columns["reference"],
                    f"le marché {quote(plan.reference)} figure déjà à la ligne {seen[key]}.",
                )
                continue
            seen[key] = row.number
            plans.append(plan)
        if not validation.ok:
            return
        existing = ExistingMarkets(facilitator, {(p.buyer.pk, p.reference) for p in plans})
        only_new = bool(validation.options.get(ONLY_NEW))
        strangers: set[str] = set()
        several_lots = 0
        for plan in plans:
            holders = plan.values.pop("holders", [])
            known = []
            for siret in holders:
                if siret in companies:
                    known.append(companies[siret])
                else:
                    strangers.add(siret)
            plan.market = existing.markets.get((plan.buyer.pk, plan.reference))
            if plan.market is None:
                plan.awards = known
                validation.items.append(Item(plan.number, CREATE, plan))
                continue
            market = plan.market
            if only_new:  # followed markets are left as they are
                validation.items.append(Item(plan.number, UNCHANGED, plan))
                continue
            start = market.start_date
            end = plan.values.get("end_date", market.end_date)
            if start and end and end < start:
                validation.add(
                    plan.number,
                    columns["duration"],
                    f"marché {quote(plan.reference)} : la fin d'exécution estimée ({end:%d/%m/%Y}) précède "
                    f"le début enregistré ({start:%d/%m/%Y}).",
                )
                continue
            plan.changes = {k: v for k, v in plan.values.items() if getattr(market, k) != v}
            lots = list(existing.lots.get(market.pk, {}).values())
            if len(lots) == 1:
                plan.lot = lots[0]
                plan.awards = [c for c in known if not existing.awarded(plan.lot, c)]
            elif known:
                several_lots += 1
            action = UPDATE if plan.changes or plan.awards else UNCHANGED
            validation.items.append(Item(plan.number, action, plan))
        validation.notes += _notes(records, others, strangers, several_lots, only_new)

    def _parse(self, validation: Validation, row: Row, buyers: dict[str, Organization]) -> DecpPlan | None:
        columns = validation.columns

        def cell(key):
            return row[columns[key].index]

        values, ok = {}, True
        reference = cell("reference")
        label = quote(format_cell(reference)) if not is_blank(reference) else "sans « id »"
        parsers = (
            ("reference", lambda v: parse_text(v, max_length=60)),
            ("buyer", parse_siret),
            ("title", _title),
            ("procedure", parse_procedure),
            ("notified_on", _iso_date),
            ("duration", _months),
            ("amount_ht", parse_amount),
            ("holders", _holders),
            ("cpv", _family),
        )
        required = {"reference", "buyer", "title"}
        for key, parser in parsers:
            value = cell(key)
            if is_blank(value) and key not in required:
                continue
            try:
                values[key] = parser(value)
            except ValueProblem as problem:
                validation.add(row.number, columns[key], f"marché {label} : {problem.message}")
                ok = False
        if not ok:
            return None
        social = [v for v in PRIORITY if v in (cell("social") or "")]
        market = {
            "title": values["title"],
            "social_consideration": social[0],
            **{k: values[k] for k in ("procedure", "notified_on", "amount_ht") if k in values},
        }
        if "cpv" in values:
            market["family"] = values["cpv"]
        if not is_blank(cell("techniques")):
            market["is_framework"] = "Accord-cadre" in str(cell("techniques"))
        if "notified_on" in values and "duration" in values:
            market["end_date"] = _end_date(values["notified_on"], values["duration"])
        market["holders"] = values.get("holders", [])
        siret = values["buyer"]
        buyer = buyers.get(siret)
        if buyer is None:
            market["siret"] = siret
        return DecpPlan(number=row.number, buyer=buyer, reference=values["reference"], values=market)

    def preview_context(self, validation: Validation) -> dict:
        labels = {
            f.name: str(f.verbose_name) for f in Market._meta.get_fields() if hasattr(f, "verbose_name")
        }
        new, followed = [], []
        for item in validation.items:
            plan: DecpPlan = item.data
            entry = {
                "row": item.row,
                "reference": plan.reference,
                "title": plan.values["title"],
                "buyer": plan.buyer.name,
                "amount_ht": plan.values.get("amount_ht"),
                "notified_on": plan.values.get("notified_on"),
                "social": plan.values["social_consideration"],
                "action": item.action,
                "changes": [labels.get(k, k) for k in plan.changes]
                + [f"attribution à {c.name}" for c in (plan.awards if plan.market else [])],
                "holders": [c.name for c in plan.awards],
            }
            (new if plan.market is None else followed).append(entry)
        return {"decp": {"new": new, "followed": followed}}

    # --- Commit ---------------------------------------------------------------------------------------------

    def commit(self, items, *, facilitator, by) -> None:
        for item in items:
            plan: DecpPlan = item.data
            try:
                if plan.market is None:
                    market = create_market(
                        facilitator=facilitator,
                        by=by,
                        buyer=plan.buyer,
                        reference=plan.reference,
                        **plan.values,
                    )
                    lot = create_lot(
                        market=market,
                        by=by,
                        number="1",
                        title=plan.values["title"],
                        amount_ht=plan.values.get("amount_ht"),
                    )
                else:
                    if plan.changes:
                        update_market(market=plan.market, by=by, **plan.changes)
                    lot = plan.lot
                for company in plan.awards:
                    award_lot(lot=lot, company=company, by=by, awarded_on=plan.values.get("notified_on"))
            except ValidationError as error:
                raise Refused([f"Marché {plan.reference} : {m}" for m in error.messages]) from error


# --- Reading helpers ----------------------------------------------------------------------------------------


def _markets(data) -> tuple[list, int]:
    """The list of markets and the number of concessions; `ImportRefused` if the file is not DECP."""
    if not isinstance(data, dict) or "marches" not in data:
        raise ImportRefused(WRONG_SCHEMA + "l'objet « marches » est absent.")
    marches = data["marches"]
    if isinstance(marches, dict):
        if "marche" not in marches and "contrat-concession" not in marches:
            raise ImportRefused(
                WRONG_SCHEMA + "« marches » ne contient ni « marche » ni « contrat-concession »."
            )
        markets, concessions = marches.get("marche", []), marches.get("contrat-concession", [])
        if not isinstance(markets, list) or not isinstance(concessions, list):
            raise ImportRefused(
                WRONG_SCHEMA + "« marche » et « contrat-concession » doivent être des listes."
            )
        return markets, len(concessions)
    if isinstance(marches, list):  # consolidated files: markets and concessions in one list
        concessions = [m for m in marches if isinstance(m, dict) and _is_concession(m)]
        return [m for m in marches if not (isinstance(m, dict) and _is_concession(m))], len(concessions)
    raise ImportRefused(WRONG_SCHEMA + "« marches » doit être un objet ou une liste.")


def _is_concession(entry: dict) -> bool:
    return "autoriteConcedante" in entry or "concession" in normalize_label(str(entry.get("_type", "")))


def _social(raw) -> tuple[list[str], str | None]:
    """The social considerations of the schema's values, and a problem if the field has another shape."""
    if raw is None:
        return [], None
    if isinstance(raw, dict):
        if "considerationSociale" not in raw:
            return [], "« considerationsSociales » devrait contenir « considerationSociale »."
        raw = raw["considerationSociale"]
    if isinstance(raw, str):
        raw = re.split(r"[,;|]", raw)
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return [], "« considerationsSociales » devrait être une liste de textes."
    return [_SOCIAL_WORDS[k] for k in (normalize_label(v) for v in raw) if k in _SOCIAL_WORDS], None


def _flatten(rank: int, market: dict, social: list[str]) -> tuple[list, list[tuple[str, str]]]:
    """The market as one row of cells (after its modifications), and the problems of its structure."""
    problems: list[tuple[str, str]] = []

    def scalar(key, value):
        if isinstance(value, dict | list | bool):
            problems.append(
                (key, f"la valeur de {quote(dict(COLUMNS)[key])} devrait être un texte ou un nombre.")
            )
            return None
        return value

    buyer = market.get("acheteur")
    if buyer is not None and not isinstance(buyer, dict):
        problems.append(("buyer", '« acheteur » devrait être un objet { "id": SIRET }.'))
        buyer = None
    amount, months, holders = market.get("montant"), market.get("dureeMois"), market.get("titulaires")
    modifications = market.get("modifications") or []
    if not isinstance(modifications, list):
        problems.append(("amount_ht", "« modifications » devrait être une liste."))
        modifications = []
    changes = []
    for entry in modifications:
        change = entry.get("modification", entry) if isinstance(entry, dict) else None
        if not isinstance(change, dict):
            problems.append(("amount_ht", "une entrée de « modifications » n'est pas un objet."))
            continue
        changes.append(change)
    for change in sorted(changes, key=lambda c: c.get("id") if isinstance(c.get("id"), int) else 0):
        amount = change.get("montant", amount)
        months = change.get("dureeMois", months)
        holders = change.get("titulaires", holders)
    techniques = market.get("techniques")
    if isinstance(techniques, dict):
        techniques = techniques.get("technique")
    if isinstance(techniques, list):
        techniques = ", ".join(str(t) for t in techniques)
    cells = [
        rank,
        scalar("reference", market.get("id")),
        scalar("buyer", (buyer or {}).get("id")),
        scalar("title", market.get("objet")),
        scalar("procedure", market.get("procedure")),
        scalar("notified_on", market.get("dateNotification")),
        scalar("duration", months),
        scalar("amount_ht", amount),
        _holders_cell(holders, problems),
        ", ".join(social),
        scalar("cpv", market.get("codeCPV")),
        scalar("techniques", techniques),
    ]
    cells = [c.strip() or None if isinstance(c, str) else c for c in cells]
    return cells, problems


def _holders_cell(holders, problems) -> str | None:
    """`titulaires` as text: "SIRET 55204599900869 ; TVA FR12345678901" (parsed back by `_holders`)."""
    if holders is None:
        return None
    if not isinstance(holders, list):
        problems.append(("holders", "« titulaires » devrait être une liste."))
        return None
    parts = []
    for entry in holders:
        holder = entry.get("titulaire", entry) if isinstance(entry, dict) else None
        if not isinstance(holder, dict) or not isinstance(holder.get("id"), str | int):
            problems.append(("holders", 'un titulaire devrait être un objet { "typeIdentifiant", "id" }.'))
            continue
        kind = str(holder.get("typeIdentifiant") or "SIRET").strip().upper()
        parts.append(f"{kind} {str(holder['id']).strip()}")
    return " ; ".join(parts) or None


# --- Cell parsers -------------------------------------------------------------------------------------------


def _title(value) -> str:
    text = parse_text(value)
    return text if len(text) <= 500 else text[:499] + "…"


def _iso_date(value) -> datetime.date:
    match = _ISO_DATE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueProblem(f"{quote(format_cell(value))} n'est pas une date au format AAAA-MM-JJ.")
    return parse_date(match.group(1))


def _months(value) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_MONTHS:
        raise ValueProblem(f"{quote(format_cell(value))} n'est pas une durée en mois (de 1 à {MAX_MONTHS}).")
    return value


def _end_date(start: datetime.date, months: int) -> datetime.date:
    """The last day of `months` months from `start`: 15/05/2024 + 60 → 14/05/2029; 29/02/2024 + 12 → 28/02/2025
    (no 29/02 in 2025: the period ends on the last day of February)."""
    anniversary = add_months(start, months)
    return anniversary if anniversary.day != start.day else anniversary - datetime.timedelta(days=1)


def _holders(value) -> list[str]:
    """SIRET of the holders (the other identifiers are kept as "TVA FR…" to be noted, never matched)."""
    holders = []
    for part in str(value).split(" ; "):
        kind, _, identifier = part.partition(" ")
        if kind == "SIRET":
            try:
                holders.append(parse_siret(identifier))
                continue
            except ValueProblem:
                pass
        holders.append(part)
    return holders


def _family(value) -> str:
    match = _CPV_RE.fullmatch(str(value).strip())
    if match is None:
        raise ValueProblem(
            f"{quote(format_cell(value))} n'est pas un code CPV (8 chiffres, ex. : 45000000-7)."
        )
    division = int(match.group(1))
    if division == 45:
        return Market.Family.WORKS
    if division <= 44 or division == 48:
        return Market.Family.SUPPLIES
    return Market.Family.SERVICES


def _notes(records, others: Counter, strangers: set[str], several_lots: int, only_new: bool) -> list[str]:
    def shown(identifiers) -> str:
        identifiers = sorted(identifiers)
        more = len(identifiers) - SHOWN_IDENTIFIERS
        return ", ".join(identifiers[:SHOWN_IDENTIFIERS]) + (f"… (et {more} autre(s))" if more > 0 else "")

    notes = []
    ignored, concessions = getattr(records, "ignored", 0), getattr(records, "concessions", 0)
    if ignored:
        notes.append(
            f"{ignored} marché(s) sans considération sociale (clause sociale, critère social ou marché réservé) "
            "laissé(s) de côté."
        )
    if concessions:
        notes.append(
            f"{concessions} contrat(s) de concession laissé(s) de côté : seuls les marchés sont importés."
        )
    if others:
        notes.append(
            f"{sum(others.values())} marché(s) d'acheteurs qui ne sont pas vos donneurs d'ordre laissé(s) de côté "
            f"(SIRET : {shown(others)}) : ajoutez ces donneurs d'ordre pour suivre leurs marchés."
        )
    if strangers:
        notes.append(
            f"Titulaire(s) qui ne sont pas vos entreprises partenaires, non rattaché(s) : {shown(strangers)} ; "
            "ajoutez ces entreprises puis importez à nouveau le fichier."
        )
    if several_lots:
        notes.append(
            f"{several_lots} marché(s) déjà suivi(s) en plusieurs lots : leurs titulaires ne sont pas rattachés "
            "automatiquement (attribuez les lots dans Clausier)."
        )
    if only_new:
        notes.append(
            "Seuls les marchés non encore suivis sont importés : les marchés déjà suivis restent tels quels."
        )
    return notes
