"""Writes on operations, markets, lots and clauses.

Keyword-only, atomic functions; the UI and the API parse input and call them. Each checks that
what it links belongs to the same facilitator (a second gate behind the scoped form choices) and
leaves an audit line.
"""

import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement.models import Clause, Lot, Market, Operation

audit = logging.getLogger("clausier.audit")

OPERATION_FIELDS = {"name", "buyer", "kind", "commune", "description", "start_date", "end_date"}
MARKET_FIELDS = {
    "reference",
    "title",
    "buyer",
    "operation",
    "family",
    "procedure",
    "is_framework",
    "notified_on",
    "start_date",
    "end_date",
    "amount_ht",
    "social_consideration",
}
LOT_FIELDS = {"number", "title", "family", "amount_ht", "start_date", "end_date"}
CLAUSE_FIELDS = {
    "legal_basis",
    "method",
    "hours_target",
    "amount_ht",
    "labour_share",
    "insertion_rate",
    "hourly_cost",
    "eligible_publics",
    "notes",
}
MISSING_FOR_FORMULA = "Nécessaire pour calculer les heures (ou saisissez directement le nombre d'heures)."


def _check_fields(changes: dict, allowed: set[str]):
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")


def _check_buyer(facilitator: Organization, buyer: Organization):
    if buyer.kind != OrganizationKind.BUYER:
        raise ValidationError("Cette organisation n'est pas un donneur d'ordre.")
    if not Partnership.objects.filter(facilitator=facilitator, partner=buyer).exists():
        raise ValidationError("Ce donneur d'ordre ne fait pas partie de vos partenaires.")


def _check_operation(facilitator: Organization, operation: Operation | None, buyer: Organization):
    if operation is None:
        return
    if operation.facilitator_id != facilitator.pk:
        raise ValidationError("Opération inconnue.")
    if operation.buyer_id != buyer.pk:
        raise ValidationError("Cette opération relève d'un autre donneur d'ordre.")


def _save(instance, by, verb: str):
    instance.full_clean()
    instance.save()
    audit.info(
        "%s %s %s par %s",
        verb,
        instance._meta.label_lower,
        instance.uuid,
        getattr(by, "pk", None) or "système",
    )
    return instance


# --- Operations ---------------------------------------------------------------------------------


@transaction.atomic
def create_operation(*, facilitator: Organization, by, buyer: Organization, name: str, **fields) -> Operation:
    _check_fields(fields, OPERATION_FIELDS)
    _check_buyer(facilitator, buyer)
    operation = Operation(facilitator=facilitator, buyer=buyer, name=name, **fields)
    return _save(operation, by, "création")


@transaction.atomic
def update_operation(*, operation: Operation, by, **changes) -> Operation:
    _check_fields(changes, OPERATION_FIELDS)
    if "buyer" in changes:
        _check_buyer(operation.facilitator, changes["buyer"])
    for name, value in changes.items():
        setattr(operation, name, value)
    return _save(operation, by, "modification")


# --- Markets ------------------------------------------------------------------------------------


@transaction.atomic
def create_market(
    *, facilitator: Organization, by, buyer: Organization, reference: str, title: str, **fields
) -> Market:
    _check_fields(fields, MARKET_FIELDS)
    _check_buyer(facilitator, buyer)
    _check_operation(facilitator, fields.get("operation"), buyer)
    market = Market(facilitator=facilitator, buyer=buyer, reference=reference, title=title, **fields)
    return _save(market, by, "création")


@transaction.atomic
def update_market(*, market: Market, by, **changes) -> Market:
    _check_fields(changes, MARKET_FIELDS)
    buyer = changes.get("buyer", market.buyer)
    if "buyer" in changes:
        _check_buyer(market.facilitator, buyer)
    _check_operation(market.facilitator, changes.get("operation", market.operation), buyer)
    for name, value in changes.items():
        setattr(market, name, value)
    return _save(market, by, "modification")


# --- Lots ---------------------------------------------------------------------------------------


@transaction.atomic
def create_lot(*, market: Market, by, number: str, title: str, **fields) -> Lot:
    _check_fields(fields, LOT_FIELDS)
    lot = Lot(facilitator_id=market.facilitator_id, market=market, number=number, title=title, **fields)
    return _save(lot, by, "création")


@transaction.atomic
def update_lot(*, lot: Lot, by, **changes) -> Lot:
    _check_fields(changes, LOT_FIELDS)
    for name, value in changes.items():
        setattr(lot, name, value)
    return _save(lot, by, "modification")


# --- Clauses ------------------------------------------------------------------------------------


def size_clause(
    *,
    lot: Lot,
    method: str,
    hours_target: Decimal | None = None,
    amount_ht: Decimal | None = None,
    labour_share: Decimal | None = None,
    insertion_rate: Decimal | None = None,
    hourly_cost: Decimal | None = None,
) -> dict:
    """The sizing parameters to store on the clause, defaults resolved.

    With the formula and no hours typed in, the target is computed from the amount (default: the
    lot's), the labour share (default: the lot family's), the insertion rate and the hourly cost.
    Raises ValidationError keyed by parameter when something needed is missing.
    """
    if method == Clause.Method.FORMULA:
        if amount_ht is None:
            amount_ht = lot.amount_ht
        if labour_share is None and lot.family_id:
            labour_share = lot.family.default_labour_share
    sizing = {
        "hours_target": hours_target,
        "amount_ht": amount_ht,
        "labour_share": labour_share,
        "insertion_rate": insertion_rate,
        "hourly_cost": hourly_cost,
    }
    if hours_target is not None:
        return sizing
    if method != Clause.Method.FORMULA:
        raise ValidationError({"hours_target": "Indiquez le nombre d'heures d'insertion prévues."})
    missing = {
        name: MISSING_FOR_FORMULA
        for name in ("amount_ht", "labour_share", "insertion_rate", "hourly_cost")
        if sizing[name] is None
    }
    if hourly_cost is not None and hourly_cost <= 0:
        missing["hourly_cost"] = "Le coût horaire doit être supérieur à zéro."
    if missing:
        raise ValidationError(missing)
    sizing["hours_target"] = Decimal(
        Clause.formula_hours(amount_ht, labour_share, insertion_rate, hourly_cost)
    )
    return sizing


@transaction.atomic
def set_clause(*, lot: Lot, by, legal_basis, method: str, **fields) -> tuple[Clause, bool]:
    """Create the lot's clause, or update it; returns (clause, created)."""
    _check_fields(fields, CLAUSE_FIELDS)
    sizing_keys = ("hours_target", "amount_ht", "labour_share", "insertion_rate", "hourly_cost")
    sizing = size_clause(lot=lot, method=method, **{key: fields.pop(key, None) for key in sizing_keys})
    clause = Clause.objects.select_for_update().filter(lot=lot).first()
    created = clause is None
    if created:
        clause = Clause(facilitator_id=lot.facilitator_id, lot=lot)
    clause.legal_basis = legal_basis
    clause.method = method
    for name, value in {**sizing, **fields}.items():
        setattr(clause, name, value)
    return _save(clause, by, "création" if created else "modification"), created
