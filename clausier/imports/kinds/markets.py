"""Kind "marches": markets, lots and clauses in one sheet, one row per lot.

A row names its market by the buyer (SIRET, or exact name, among the facilitator's buyers) and the market
reference, and its lot by number. Markets are created or updated by (buyer, reference), lots by (market, lot
number), through `procurement.actions` (audited). The market's cells may be repeated on every row of its lots
or filled on one of them only; two rows of one market that disagree are a problem. An empty cell leaves the
stored value as it is. Optional on each row: the awarded company (SIRET of a partner company: it must exist),
and the clause (legal basis and hours target, both or neither; hours are rounded down to the hour, as
`set_clause` does with the "fixed" method). A row that changes nothing writes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from clausier.employment.actions import Refused
from clausier.organizations.models import Organization
from clausier.procurement.actions import (
    SIZING_PARAMETERS,
    award_lot,
    create_lot,
    create_market,
    set_clause,
    update_lot,
    update_market,
)
from clausier.procurement.models import Clause, Lot, Market
from clausier.procurement.sizing import floor_hours
from clausier.reference.models import LegalBasis

from ..base import CREATE, UNCHANGED, UPDATE, Field, Item, Kind, Validation, parse_cells
from ..values import (
    ValueProblem,
    format_cell,
    normalize_label,
    parse_date,
    parse_hours,
    parse_text,
    quote,
)
from .common import (
    ExistingMarkets,
    Partners,
    lot_key,
    lot_number,
    parse_amount,
    parse_procedure,
)

MARKET_FIELDS = ("title", "procedure", "notified_on", "start_date", "end_date", "amount_ht")
DATE_FIELDS = ("notified_on", "start_date", "end_date")


def _show(value) -> str:
    if isinstance(value, Organization):
        return value.name
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ",")
    if isinstance(value, datetime.date):
        return f"{value:%d/%m/%Y}"
    return format_cell(value)


class LegalBases:
    """Legal bases by reference code (`ccp_l2112_2`), article (`L2112-2`) or unambiguous label."""

    def __init__(self):
        self._index: dict[str, list[LegalBasis]] | None = None

    def find(self, value) -> LegalBasis:
        if self._index is None:
            self._index = {}
            for basis in LegalBasis.objects.order_by("order", "pk"):
                keys = {
                    normalize_label(basis.code),
                    normalize_label(basis.article),
                    normalize_label(basis.article).removeprefix("art "),
                    normalize_label(f"{basis.article} {basis.code_version}"),
                    normalize_label(basis.label),
                    normalize_label(str(basis)),
                }
                for key in keys:
                    found = self._index.setdefault(key, [])
                    if basis not in found:
                        found.append(basis)
        found = self._index.get(normalize_label(parse_text(value)), [])
        if not found:
            raise ValueProblem(
                f"{quote(value)} n'est pas une base juridique connue : indiquez son code "
                "(par exemple ccp_l2112_2) ou son article (L2112-2)."
            )
        if len(found) > 1:
            raise ValueProblem(
                f"{quote(value)} désigne plusieurs bases juridiques ("
                + ", ".join(b.code for b in found)
                + ") : indiquez le code."
            )
        return found[0]


@dataclass
class LotRow:
    number: int
    buyer: Organization
    reference: str
    market: dict  # Market field → value (filled cells only)
    lot_number: str
    lot: dict  # "title", "amount_ht" (filled cells only)
    company: Organization | None = None
    clause: tuple | None = None  # (LegalBasis, hours target)

    @property
    def key(self) -> tuple[int, str]:
        return self.buyer.pk, self.reference


@dataclass
class LotPlan:
    """What one row writes: the market (created by the first row naming it), the lot, an award, the clause."""

    key: tuple[int, str]
    buyer: Organization
    market: Market | None  # None: a new market
    market_values: dict  # a new market's values, or an existing one's changes (on its first row only)
    lot: Lot | None  # None: a new lot
    lot_number: str
    lot_values: dict  # a new lot's values, or an existing one's changes
    company: Organization | None = None  # a company to award the lot to
    clause: tuple | None = None  # (LegalBasis, hours) to set
    current_clause: Clause | None = None


class MarketsKind(Kind):
    name = "marches"
    label = "Marchés, lots et clauses"
    fields = (
        Field(
            "reference",
            "Numéro du marché",
            (
                "numero du marche",
                "numero de marche",
                "n marche",
                "n du marche",
                "reference du marche",
                "ref marche",
                "reference",
                "marche",
            ),
            required=True,
        ),
        Field(
            "title",
            "Objet du marché",
            ("objet du marche", "objet", "intitule du marche"),
            help="obligatoire pour créer un marché",
        ),
        Field(
            "buyer",
            "Donneur d'ordre",
            (
                "donneur d ordre",
                "siret du donneur d ordre",
                "acheteur",
                "siret acheteur",
                "maitre d ouvrage",
                "pouvoir adjudicateur",
            ),
            required=True,
            help="SIRET ou nom exact d'un de vos donneurs d'ordre",
        ),
        Field(
            "procedure",
            "Procédure",
            ("procedure", "procedure de passation", "type de procedure", "mode de passation"),
            help="appel d'offres ouvert, restreint, procédure adaptée (MAPA), avec négociation…",
        ),
        Field(
            "notified_on",
            "Date de notification",
            ("date de notification", "notifie le", "notification", "date notification"),
        ),
        Field(
            "start_date",
            "Début d'exécution",
            ("debut d execution", "date de debut", "date debut", "debut"),
        ),
        Field("end_date", "Fin d'exécution", ("fin d execution", "date de fin", "date fin", "fin")),
        Field(
            "amount_ht",
            "Montant HT du marché",
            ("montant ht du marche", "montant du marche", "montant ht", "montant"),
        ),
        Field(
            "lot_number",
            "N° de lot",
            ("n de lot", "numero de lot", "numero du lot", "n lot", "lot"),
            required=True,
        ),
        Field(
            "lot_title",
            "Intitulé du lot",
            ("intitule du lot", "objet du lot", "libelle du lot", "designation du lot"),
            help="par défaut, l'objet du marché",
        ),
        Field("lot_amount", "Montant HT du lot", ("montant ht du lot", "montant du lot", "montant lot")),
        Field(
            "company",
            "SIRET de l'attributaire",
            (
                "siret de l attributaire",
                "siret attributaire",
                "siret du titulaire",
                "siret titulaire",
                "attributaire",
                "titulaire",
                "entreprise attributaire",
            ),
            help="une entreprise partenaire déjà enregistrée",
        ),
        Field(
            "legal_basis",
            "Base juridique de la clause",
            ("base juridique de la clause", "base juridique", "fondement juridique", "article"),
            help="code (ccp_l2112_2) ou article (L2112-2)",
        ),
        Field(
            "hours_target",
            "Heures d'insertion prévues",
            (
                "heures d insertion prevues",
                "heures d insertion",
                "objectif d heures",
                "volume d heures",
                "nombre d heures",
                "heures",
            ),
        ),
    )

    # Lot columns first: "Objet du lot" or "Montant du lot" must not be taken for the market's.
    matched_first = (
        "lot_title",
        "lot_amount",
        "lot_number",
        "company",
        "notified_on",
        "start_date",
        "end_date",
    )

    def missing(self, columns):
        problems = super().missing(columns)
        if ("legal_basis" in columns) != ("hours_target" in columns):
            problems.append(
                "Une clause se décrit par sa base juridique et ses heures d'insertion prévues : "
                "indiquez les deux colonnes, ou aucune."
            )
        return problems

    # --- Validation -----------------------------------------------------------------------------------------

    def check_rows(self, validation: Validation, *, facilitator) -> None:
        columns = validation.columns
        partners, bases = Partners(facilitator), LegalBases()
        parsers = {
            "reference": lambda v: parse_text(v, max_length=60),
            "title": lambda v: parse_text(v, max_length=500),
            "buyer": partners.buyer,
            "procedure": parse_procedure,
            "notified_on": parse_date,
            "start_date": parse_date,
            "end_date": parse_date,
            "amount_ht": parse_amount,
            "lot_number": lot_number,
            "lot_title": lambda v: parse_text(v, max_length=500),
            "lot_amount": parse_amount,
            "company": partners.company,
            "legal_basis": bases.find,
            "hours_target": lambda v: Decimal(floor_hours(parse_hours(v))),
        }
        required = {f.key for f in self.fields if f.required}
        parsed: list[LotRow] = []
        for row in validation.records.rows:
            values, ok = parse_cells(validation, row, lambda key, value: parsers[key](value), required)
            if ok and ("legal_basis" in values) != ("hours_target" in values):
                missing = "hours_target" if "legal_basis" in values else "legal_basis"
                validation.add(
                    row.number,
                    columns[missing],
                    "une clause se décrit par sa base juridique et ses heures d'insertion prévues : "
                    "remplissez les deux cellules, ou aucune.",
                )
                ok = False
            if ok:
                parsed.append(
                    LotRow(
                        number=row.number,
                        buyer=values["buyer"],
                        reference=values["reference"],
                        market={k: values[k] for k in MARKET_FIELDS if k in values},
                        lot_number=values["lot_number"],
                        lot={
                            name: values[key]
                            for key, name in (("lot_title", "title"), ("lot_amount", "amount_ht"))
                            if key in values
                        },
                        company=values.get("company"),
                        clause=(values["legal_basis"], values["hours_target"])
                        if "legal_basis" in values
                        else None,
                    )
                )
        self._plan(validation, parsed, facilitator)

    def _plan(self, validation: Validation, parsed: list[LotRow], facilitator) -> None:
        columns = validation.columns
        existing = ExistingMarkets(facilitator, {row.key for row in parsed})
        # First pass: the market's values over all its rows (they must agree), one row per lot.
        merged: dict[tuple[int, str], dict[str, tuple[object, int]]] = {}
        seen: dict[tuple, int] = {}
        rows: list[LotRow] = []
        for row in parsed:
            ok = True
            known = merged.setdefault(row.key, {})
            for name, value in row.market.items():
                if name in known and known[name][0] != value:
                    before, number = known[name]
                    validation.add(
                        row.number,
                        columns[name],
                        f"{quote(_show(value))} diffère de la ligne {number} ({quote(_show(before))}) "
                        f"pour le même marché {row.reference}.",
                    )
                    ok = False
                known.setdefault(name, (value, row.number))
            lot_id = (row.key, lot_key(row.lot_number))
            if lot_id in seen:
                validation.add(
                    row.number,
                    columns["lot_number"],
                    f"le lot {row.lot_number} du marché {row.reference} figure déjà à la ligne "
                    f"{seen[lot_id]} du fichier.",
                )
                ok = False
            seen.setdefault(lot_id, row.number)
            if ok:
                rows.append(row)
        # Second pass: what each row creates, changes or leaves as it is.
        planned: set[tuple[int, str]] = set()
        refused: dict[tuple[int, str], int] = {}  # market → the row where it could not be planned
        for row in rows:
            if row.key in refused:  # its other lots cannot be written without it
                validation.add(
                    row.number,
                    columns["reference"],
                    f"le marché {row.reference} ne peut pas être enregistré : voir la ligne "
                    f"{refused[row.key]} du fichier.",
                )
                continue
            market = existing.markets.get(row.key)
            values = {name: value for name, (value, _) in merged[row.key].items()}
            plan = LotPlan(
                key=row.key,
                buyer=row.buyer,
                market=market,
                market_values={},
                lot=None,
                lot_number=row.lot_number,
                lot_values={},
            )
            if row.key not in planned:
                planned.add(row.key)
                if not self._plan_market(validation, row, plan, values):
                    refused[row.key] = row.number
                    continue
            if market is not None:
                plan.lot = existing.lot(market, row.lot_number)
            if plan.lot is None:
                plan.lot_values = {
                    "title": row.lot.get("title")
                    or values.get("title")
                    or (market.title if market else "")[:500],
                    **({"amount_ht": row.lot["amount_ht"]} if "amount_ht" in row.lot else {}),
                }
            else:
                plan.lot_values = {k: v for k, v in row.lot.items() if getattr(plan.lot, k) != v}
            if row.company is not None and not existing.awarded(plan.lot, row.company):
                plan.company = row.company
            if row.clause is not None:
                basis, hours = row.clause
                current = existing.clause(plan.lot)
                if current is None or current.legal_basis_id != basis.pk or current.hours_target != hours:
                    plan.clause, plan.current_clause = row.clause, current
            if market is None or plan.lot is None:
                action = CREATE
            elif plan.market_values or plan.lot_values or plan.company or plan.clause:
                action = UPDATE
            else:
                action = UNCHANGED
            validation.items.append(Item(row.number, action, plan))

    def _plan_market(self, validation: Validation, row: LotRow, plan: LotPlan, values: dict) -> bool:
        """The market's creation values or changes, on the first row naming it; False if it cannot be."""
        columns, market = validation.columns, plan.market
        if market is None:
            if "title" not in values:
                validation.add(
                    row.number,
                    columns.get("title"),
                    f"l'objet du marché est obligatoire pour créer le marché {row.reference}.",
                )
                return False
            plan.market_values = dict(values)
            start, end = values.get("start_date"), values.get("end_date")
        else:
            plan.market_values = {k: v for k, v in values.items() if getattr(market, k) != v}
            start, end = values.get("start_date", market.start_date), values.get("end_date", market.end_date)
        if start and end and end < start:
            column = columns.get("end_date") or columns.get("start_date")
            validation.add(
                row.number,
                column,
                f"la fin d'exécution ({end:%d/%m/%Y}) précède le début ({start:%d/%m/%Y}).",
            )
            return False
        return True

    # --- Commit ---------------------------------------------------------------------------------------------

    def commit(self, items, *, facilitator, by) -> None:
        created: dict[tuple[int, str], Market] = {}
        for item in items:
            plan: LotPlan = item.data
            try:
                market = plan.market or created.get(plan.key)
                if market is None:
                    market = create_market(
                        facilitator=facilitator,
                        by=by,
                        buyer=plan.buyer,
                        reference=plan.key[1],
                        **plan.market_values,
                    )
                    created[plan.key] = market
                elif plan.market is not None and plan.market_values:
                    update_market(market=market, by=by, **plan.market_values)
                lot = plan.lot
                if lot is None:
                    lot = create_lot(market=market, by=by, number=plan.lot_number, **plan.lot_values)
                elif plan.lot_values:
                    update_lot(lot=lot, by=by, **plan.lot_values)
                if plan.company is not None:
                    award_lot(lot=lot, company=plan.company, by=by)
                if plan.clause is not None:
                    _set_clause(lot, plan, by)
            except ValidationError as error:
                raise Refused([f"Ligne {item.row} : {message}" for message in error.messages]) from error


def _set_clause(lot: Lot, plan: LotPlan, by) -> None:
    basis, hours = plan.clause
    current = plan.current_clause
    if current is not None and current.hours_target == hours:
        # Only the legal basis changes: keep the clause's sizing as it was computed.
        parameters = {name: getattr(current, name) for name in SIZING_PARAMETERS.get(current.method, ())}
        try:
            set_clause(
                lot=lot,
                by=by,
                legal_basis=basis,
                method=current.method,
                hours_target=current.hours_target,
                override_reason=current.override_reason,
                **parameters,
            )
            return
        except ValidationError:
            pass  # the stored sizing no longer computes: the file's number of hours is the clause
    set_clause(lot=lot, by=by, legal_basis=basis, method=Clause.Method.FIXED, hours_target=hours)
