"""Writes on operations, markets, lots and clauses.

Keyword-only, atomic functions; the UI and the API parse input and call them. Each checks that
what it links belongs to the same facilitator (a second gate behind the scoped form choices) and
writes its audit entry.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement import sizing
from clausier.procurement.models import Clause, HourlyCost, LabourShare, Lot, Market, Operation

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


def _save(instance, by, before: dict | None = None):
    """Validate, save and audit: a creation when `before` is None, else an update with the changed fields."""
    instance.full_clean()
    instance.save()
    if before is None:
        record(action=Action.CREATE, obj=instance, by=by)
    else:
        record(action=Action.UPDATE, obj=instance, by=by, changes=diff(before, snapshot(instance)))
    return instance


def _update(instance, by, changes: dict):
    before = snapshot(instance)
    for name, value in changes.items():
        setattr(instance, name, value)
    return _save(instance, by, before)


# --- Operations ---------------------------------------------------------------------------------


@transaction.atomic
def create_operation(*, facilitator: Organization, by, buyer: Organization, name: str, **fields) -> Operation:
    _check_fields(fields, OPERATION_FIELDS)
    _check_buyer(facilitator, buyer)
    operation = Operation(facilitator=facilitator, buyer=buyer, name=name, **fields)
    return _save(operation, by)


@transaction.atomic
def update_operation(*, operation: Operation, by, **changes) -> Operation:
    _check_fields(changes, OPERATION_FIELDS)
    if "buyer" in changes:
        _check_buyer(operation.facilitator, changes["buyer"])
    return _update(operation, by, changes)


# --- Markets ------------------------------------------------------------------------------------


@transaction.atomic
def create_market(
    *, facilitator: Organization, by, buyer: Organization, reference: str, title: str, **fields
) -> Market:
    _check_fields(fields, MARKET_FIELDS)
    _check_buyer(facilitator, buyer)
    _check_operation(facilitator, fields.get("operation"), buyer)
    market = Market(facilitator=facilitator, buyer=buyer, reference=reference, title=title, **fields)
    return _save(market, by)


@transaction.atomic
def update_market(*, market: Market, by, **changes) -> Market:
    _check_fields(changes, MARKET_FIELDS)
    buyer = changes.get("buyer", market.buyer)
    if "buyer" in changes:
        _check_buyer(market.facilitator, buyer)
    _check_operation(market.facilitator, changes.get("operation", market.operation), buyer)
    return _update(market, by, changes)


# --- Lots ---------------------------------------------------------------------------------------


@transaction.atomic
def create_lot(*, market: Market, by, number: str, title: str, **fields) -> Lot:
    _check_fields(fields, LOT_FIELDS)
    lot = Lot(facilitator_id=market.facilitator_id, market=market, number=number, title=title, **fields)
    return _save(lot, by)


@transaction.atomic
def update_lot(*, lot: Lot, by, **changes) -> Lot:
    _check_fields(changes, LOT_FIELDS)
    return _update(lot, by, changes)


# --- Clauses ------------------------------------------------------------------------------------


def default_labour_share(lot: Lot) -> Decimal | None:
    """The facilitator's labour share for the lot's family, else the reference table's."""
    if not lot.family_id:
        return None
    own = (
        LabourShare.objects.filter(facilitator_id=lot.facilitator_id, family_id=lot.family_id)
        .values_list("share", flat=True)
        .first()
    )
    return own if own is not None else lot.family.default_labour_share


def default_hourly_cost(lot: Lot, day: datetime.date) -> Decimal | None:
    cost = HourlyCost.objects.in_force(lot.facilitator_id, day, lot.family_id)
    return cost.amount if cost else None


def size_clause(
    *,
    lot: Lot,
    method: str,
    hours_target: Decimal | None = None,
    amount_ht: Decimal | None = None,
    labour_share: Decimal | None = None,
    insertion_rate: Decimal | None = None,
    hourly_cost: Decimal | None = None,
    day: datetime.date | None = None,
) -> dict:
    """The sizing values to store on the clause, defaults resolved.

    With the formula, missing parameters take their defaults: the lot's amount, the labour share of the
    lot's family (the facilitator's own table first), the facilitator's hourly cost in force. The target
    is computed (`sizing.formula`, rounded down) when left empty; a typed target overrides it, and the
    computed value is kept beside it. Raises ValidationError keyed by field when something is missing.
    """
    day = day or datetime.date.today()
    values = {
        "hours_target": hours_target,
        "amount_ht": amount_ht,
        "labour_share": labour_share,
        "insertion_rate": insertion_rate,
        "hourly_cost": hourly_cost,
        "computed_hours": None,
        "sized_on": day,
    }
    if method != Clause.Method.FORMULA:
        if hours_target is None:
            raise ValidationError({"hours_target": "Indiquez le nombre d'heures d'insertion prévues."})
        return values
    if amount_ht is None:
        values["amount_ht"] = lot.amount_ht
    if labour_share is None:
        values["labour_share"] = default_labour_share(lot)
    if hourly_cost is None:
        values["hourly_cost"] = default_hourly_cost(lot, day)
    parameters = ("amount_ht", "labour_share", "insertion_rate", "hourly_cost")
    missing = [name for name in parameters if values[name] is None]
    if missing:
        if hours_target is not None:
            return values  # typed directly: nothing to compute
        raise ValidationError(dict.fromkeys(missing, MISSING_FOR_FORMULA))
    try:
        computed = sizing.formula(*(values[name] for name in parameters))
    except sizing.SizingError as error:
        raise ValidationError(str(error)) from error
    values["computed_hours"] = Decimal(computed.hours)
    if hours_target is None:
        values["hours_target"] = Decimal(computed.hours)
    return values


@transaction.atomic
def set_clause(*, lot: Lot, by, legal_basis, method: str, **fields) -> tuple[Clause, bool]:
    """Create the lot's clause, or update it; returns (clause, created)."""
    fields.pop("computed_hours", None)
    fields.pop("sized_on", None)
    _check_fields(fields, CLAUSE_FIELDS)
    sizing_keys = ("hours_target", "amount_ht", "labour_share", "insertion_rate", "hourly_cost")
    values = size_clause(lot=lot, method=method, **{key: fields.pop(key, None) for key in sizing_keys})
    clause = Clause.objects.select_for_update().filter(lot=lot).first()
    created = clause is None
    before = {} if created else snapshot(clause)
    if created:
        clause = Clause(facilitator_id=lot.facilitator_id, lot=lot)
    clause.legal_basis = legal_basis
    clause.method = method
    for name, value in {**values, **fields}.items():
        setattr(clause, name, value)
    return _save(clause, by, before=None if created else before), created
