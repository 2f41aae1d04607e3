"""What several kinds of import read the same way: amounts, procedures, lot numbers, the facilitator's
partners and markets. The kinds lean on this base, never on one another."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from clausier.organizations.models import Organization, OrganizationKind
from clausier.procurement.models import Award, Clause, Lot, Market

from ..values import ValueProblem, normalize_label, parse_decimal, parse_siret, parse_text, quote

MAX_AMOUNT = Decimal(10) ** 12  # MONEY: 14 digits, 2 of them decimals
CENT = Decimal("0.01")

# Procedures: the codes, the labels of `Market.Procedure`, the DECP schema's labels and the usual abbreviations.
PROCEDURES = {
    **{normalize_label(code): code for code in Market.Procedure.values},
    **{normalize_label(label): code for code, label in Market.Procedure.choices},
    **dict.fromkeys(("appel d offres ouvert", "aoo", "ao ouvert"), Market.Procedure.OPEN),
    **dict.fromkeys(("appel d offres restreint", "aor", "ao restreint"), Market.Procedure.RESTRICTED),
    **dict.fromkeys(("procedure adaptee", "mapa", "marche a procedure adaptee"), Market.Procedure.ADAPTED),
    **dict.fromkeys(
        ("procedure avec negociation", "procedure negociee", "marche negocie"), Market.Procedure.NEGOTIATED
    ),
    **dict.fromkeys(("dialogue competitif",), Market.Procedure.DIALOGUE),
    **dict.fromkeys(
        ("autre", "marche passe sans publicite ni mise en concurrence prealable", "gre a gre"),
        Market.Procedure.OTHER,
    ),
}

LOT_PREFIX_RE = re.compile(r"^lot\b\s*(?:(?:no\b\.?|n\s*[°º.]|n(?=\s*\d))\s*)?", re.IGNORECASE)


def lot_key(value) -> str:
    """`3`, `3.0`, `Lot 3`, `lot n° 3` → `3`; `02` → `2`."""
    text = normalize_label(parse_text(value))
    for prefix in ("lot n ", "lot no ", "lot "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.lstrip("0") or text


def parse_amount(value) -> Decimal:
    """An amount in euros HT, French or plain notation, rounded to the cent; never negative."""
    amount = parse_decimal(value)
    if amount < 0:
        raise ValueProblem(f"{quote(value)} : un montant ne peut pas être négatif.")
    if amount >= MAX_AMOUNT:
        raise ValueProblem(f"{quote(value)} : ce montant est invraisemblable.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_procedure(value) -> str:
    code = PROCEDURES.get(normalize_label(parse_text(value)))
    if code is None:
        raise ValueProblem(
            f"{quote(value)} n'est pas une procédure connue (appel d'offres ouvert, appel d'offres restreint, "
            "procédure adaptée, procédure avec négociation, dialogue compétitif ou autre)."
        )
    return code


def lot_number(value) -> str:
    """The lot number as stored: `Lot 3` → `3`, `lot n° 02` → `02` (compared with `lot_key`: `02` = `2`)."""
    text = parse_text(value)
    text = LOT_PREFIX_RE.sub("", text).strip() or text
    if len(text) > 20:
        raise ValueProblem(f"{quote(value)} est trop long pour un numéro de lot (20 caractères au plus).")
    return text


class Partners:
    """The facilitator's buyers and partner companies (and insertion structures), loaded once, when needed."""

    def __init__(self, facilitator):
        self.facilitator = facilitator
        self._by_kind: dict[str, list[Organization]] = {}

    def of_kind(self, kind: str) -> list[Organization]:
        if kind not in self._by_kind:
            self._by_kind[kind] = list(
                Organization.objects.filter(kind=kind, partnerships__facilitator=self.facilitator)
                .distinct()
                .order_by("pk")
            )
        return self._by_kind[kind]

    def buyer(self, value) -> Organization:
        """By SIRET, or by exact name (accents, case and punctuation aside)."""
        buyers = self.of_kind(OrganizationKind.BUYER)
        try:
            siret = parse_siret(value)
        except ValueProblem:
            siret = None
        if siret:
            found = [b for b in buyers if b.siret == siret]
            if not found:
                raise ValueProblem(f"aucun de vos donneurs d'ordre n'a le SIRET {siret}.")
            return found[0]
        name = normalize_label(parse_text(value))
        found = [b for b in buyers if normalize_label(b.name) == name]
        if not found:
            raise ValueProblem(
                f"{quote(value)} ne fait pas partie de vos donneurs d'ordre (nom exact ou SIRET)."
            )
        if len(found) > 1:
            raise ValueProblem(
                f"plusieurs de vos donneurs d'ordre s'appellent {quote(value)} : indiquez le SIRET."
            )
        return found[0]

    def by_siret(self, value, kinds: tuple[str, ...], what: str) -> Organization:
        siret = parse_siret(value)
        for kind in kinds:
            found = [o for o in self.of_kind(kind) if o.siret == siret]
            if found:
                return found[0]
        raise ValueProblem(f"aucune de vos {what} n'a le SIRET {siret} : ajoutez-la d'abord dans Clausier.")

    def company(self, value) -> Organization:
        return self.by_siret(value, (OrganizationKind.COMPANY,), "entreprises partenaires")

    def employer(self, value) -> Organization:
        return self.by_siret(
            value,
            (OrganizationKind.COMPANY, OrganizationKind.INSERTION_STRUCTURE),
            "entreprises ou structures d'insertion partenaires",
        )


class ExistingMarkets:
    """The facilitator's markets named in the file, with their lots, clauses and awards (four queries)."""

    def __init__(self, facilitator, keys: set[tuple[int, str]]):
        self.markets: dict[tuple[int, str], Market] = {}
        self.lots: dict[int, dict[str, Lot]] = {}
        self.clauses: dict[int, Clause] = {}
        self.awards: set[tuple[int, int]] = set()
        if not keys:
            return
        buyers = {buyer for buyer, _ in keys}
        references = {reference for _, reference in keys}
        for market in Market.objects.filter(
            facilitator=facilitator, buyer_id__in=buyers, reference__in=references
        ):
            if (market.buyer_id, market.reference) in keys:
                self.markets[(market.buyer_id, market.reference)] = market
        lots = list(Lot.objects.filter(market__in=list(self.markets.values())).order_by("pk"))
        for lot in lots:
            self.lots.setdefault(lot.market_id, {}).setdefault(lot_key(lot.number), lot)
        self.clauses = {c.lot_id: c for c in Clause.objects.filter(lot__in=lots)}
        self.awards = set(Award.objects.filter(lot__in=lots).values_list("lot_id", "company_id"))

    def lot(self, market: Market, number: str) -> Lot | None:
        return self.lots.get(market.pk, {}).get(lot_key(number))

    def clause(self, lot: Lot | None) -> Clause | None:
        return self.clauses.get(lot.pk) if lot is not None else None

    def awarded(self, lot: Lot | None, company: Organization) -> bool:
        return lot is not None and (lot.pk, company.pk) in self.awards
