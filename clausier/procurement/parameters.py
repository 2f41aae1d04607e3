"""A facilitator's sizing parameters: labour shares per family of lots, dated hourly costs, thresholds.

Reading (`sizing_parameters`, `platform_parameters`) never writes: a facilitator without its own
values reads the reference ones. Writing goes through the actions below (atomic, audited, reserved
to the facilitator's administrators): `seed_sizing_parameters`, `set_labour_shares`, `add_hourly_cost`,
`set_thresholds`, `set_eligibility_and_fte`.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.organizations.access import current_organization, is_facilitator_admin
from clausier.organizations.models import FacilitatorSettings
from clausier.procurement import sizing
from clausier.procurement.models import HourlyCost, LabourShare
from clausier.procurement.sizing import CLEANING_HOURLY_COST
from clausier.reference.models import LotFamily

# Platform defaults (domain.md §4): 25–30 €/h in works, C = 25 €/h in the cleaning formula, no clause under 150 h.
PLATFORM_HOURLY_COST = Decimal(30)
PLATFORM_CLEANING_HOURLY_COST = CLEANING_HOURLY_COST
PLATFORM_MINIMUM_CLAUSE_HOURS = 150
PLATFORM_INSERTION_RATE = Decimal("0.05")


@dataclass(frozen=True)
class FamilyShare:
    family: LotFamily
    share: Decimal
    own: bool  # the facilitator's own value (else the reference table's)


@dataclass(frozen=True)
class SizingParameters:
    """What the clause form and the simulators compute with."""

    label: str
    shares: list[FamilyShare] = field(default_factory=list)
    hourly_cost: Decimal = PLATFORM_HOURLY_COST
    hourly_cost_since: datetime.date | None = None
    cleaning_hourly_cost: Decimal = PLATFORM_CLEANING_HOURLY_COST
    minimum_clause_hours: int = PLATFORM_MINIMUM_CLAUSE_HOURS
    insertion_rate: Decimal = PLATFORM_INSERTION_RATE

    def share_of(self, family) -> Decimal | None:
        for item in self.shares:
            if family is not None and item.family.pk == family.pk:
                return item.share
        return None


def settings_of(facilitator) -> FacilitatorSettings:
    """The facilitator's settings, or unsaved defaults (reading never creates the row)."""
    facilitator_id = getattr(facilitator, "pk", facilitator)
    found = FacilitatorSettings.objects.filter(facilitator_id=facilitator_id).first()
    return found or FacilitatorSettings(facilitator_id=facilitator_id)


def minimum_clause_hours(facilitator) -> int:
    """`facilitator`: the organization or its id."""
    return settings_of(facilitator).minimum_clause_hours


def families():
    return LotFamily.objects.active().order_by("order", "label")


def platform_parameters() -> SizingParameters:
    return SizingParameters(
        label="Valeurs de référence de la plateforme",
        shares=[FamilyShare(f, f.default_labour_share, own=False) for f in families()],
    )


def sizing_parameters(facilitator, day: datetime.date | None = None) -> SizingParameters:
    """The facilitator's parameters in force on `day` (its own where set, else the reference ones)."""
    day = day or datetime.date.today()
    own = dict(LabourShare.objects.filter(facilitator=facilitator).values_list("family_id", "share"))
    general = HourlyCost.objects.in_force(facilitator, day)
    return SizingParameters(
        label=f"Paramètres de {facilitator.name}",
        shares=[FamilyShare(f, own.get(f.pk, f.default_labour_share), own=f.pk in own) for f in families()],
        hourly_cost=general.amount if general else PLATFORM_HOURLY_COST,
        hourly_cost_since=general.valid_from if general else None,
        minimum_clause_hours=minimum_clause_hours(facilitator),
    )


def labour_share_rows(facilitator) -> list[FamilyShare]:
    return sizing_parameters(facilitator).shares


def hourly_cost_history(facilitator):
    """Every dated hourly cost, the general ones first, then per family, newest first; `in_force` marks
    the value applying today in each scope."""
    current = {row.pk for row in hourly_costs_in_force(facilitator).values()}
    rows = list(
        HourlyCost.objects.filter(facilitator=facilitator)
        .select_related("family")
        .order_by(F("family__order").asc(nulls_first=True), "family__label", "-valid_from")
    )
    for row in rows:
        row.in_force = row.pk in current
    return rows


def hourly_costs_in_force(facilitator, day: datetime.date | None = None) -> dict:
    """{family_id or None: HourlyCost} in force on `day`."""
    day = day or datetime.date.today()
    result = {}
    for row in HourlyCost.objects.filter(facilitator=facilitator, valid_from__lte=day).order_by(
        "-valid_from"
    ):
        result.setdefault(row.family_id, row)
    return result


# --- Actions ------------------------------------------------------------------------------------


def _check_admin(facilitator, by):
    """Only an administrator of this facilitator, acting for it, changes its parameters."""
    org = current_organization(by)
    if org is None or org.pk != facilitator.pk or not is_facilitator_admin(by):
        raise PermissionDenied("Seul un administrateur du facilitateur peut modifier ses paramètres.")


@transaction.atomic
def seed_sizing_parameters(*, facilitator, by=None) -> int:
    """Give the facilitator its own labour share for every family that has none (the reference value),
    and its settings row. Returns the number of labour shares created. Idempotent."""
    existing = set(LabourShare.objects.filter(facilitator=facilitator).values_list("family_id", flat=True))
    created = 0
    for family in families():
        if family.pk in existing:
            continue
        share = LabourShare.objects.create(
            facilitator=facilitator, family=family, share=family.default_labour_share
        )
        record(action=Action.CREATE, obj=share, by=by, detail="valeur de référence")
        created += 1
    settings, made = FacilitatorSettings.objects.get_or_create(facilitator=facilitator)
    if made:
        record(action=Action.CREATE, obj=settings, by=by)
    return created


@transaction.atomic
def set_labour_shares(*, facilitator, by, shares: dict) -> int:
    """`shares`: {LotFamily: Decimal rate}. Returns the number of values changed."""
    _check_admin(facilitator, by)
    seed_sizing_parameters(facilitator=facilitator, by=by)
    rows = {
        s.family_id: s
        for s in LabourShare.objects.select_for_update()
        .filter(facilitator=facilitator)
        .select_related("family")
    }
    changed = 0
    for family, value in shares.items():
        value = Decimal(value)
        if not Decimal(0) <= value <= Decimal(1):
            raise ValidationError("La part de main-d'œuvre doit être comprise entre 0 et 100 %.")
        row = rows[family.pk]
        if row.share == value:
            continue
        before = snapshot(row)
        row.share = value
        row.full_clean()
        row.save(update_fields=["share"])
        record(action=Action.UPDATE, obj=row, by=by, changes=diff(before, snapshot(row)))
        changed += 1
    return changed


@transaction.atomic
def add_hourly_cost(
    *, facilitator, by, amount: Decimal, valid_from: datetime.date, family: LotFamily | None = None
) -> HourlyCost:
    """A new dated hourly cost (general, or for one family). History is never edited: the date must be
    after the latest value of the same scope."""
    _check_admin(facilitator, by)
    if amount is None or Decimal(amount) <= 0:
        raise ValidationError({"amount": "Le coût horaire doit être strictement positif."})
    scope = HourlyCost.objects.select_for_update().filter(facilitator=facilitator, family=family)
    latest = scope.order_by("-valid_from").first()
    if latest is not None and valid_from <= latest.valid_from:
        raise ValidationError(
            {
                "valid_from": f"La date doit être postérieure au dernier coût enregistré "
                f"({latest.amount} € depuis le {latest.valid_from:%d/%m/%Y}) : "
                "l'historique ne se modifie pas."
            }
        )
    cost = HourlyCost(facilitator=facilitator, family=family, valid_from=valid_from, amount=amount)
    cost.full_clean()
    cost.save()
    record(action=Action.CREATE, obj=cost, by=by)
    return cost


THRESHOLD_FIELDS = {"minimum_clause_hours", "max_monthly_hours"}


@transaction.atomic
def set_thresholds(*, facilitator, by, **changes) -> FacilitatorSettings:
    """Minimum clause hours (under it the form warns) and the plausible maximum of hours per contract-month."""
    _check_admin(facilitator, by)
    unknown = set(changes) - THRESHOLD_FIELDS
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")
    settings, created = FacilitatorSettings.objects.select_for_update().get_or_create(facilitator=facilitator)
    before = snapshot(settings)
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    record(
        action=Action.CREATE if created else Action.UPDATE,
        obj=settings,
        by=by,
        changes=diff({} if created else before, snapshot(settings)),
    )
    return settings


# Eligibility validity (domain.md §5: 24 months by default) and the hours of one ETP (§7: 1,600 by default).
ELIGIBILITY_VALIDITY_MONTHS = (1, 120)
FTE_HOURS = (1000, 2200)
VALIDITY_RANGE_ERROR = (
    f"La durée de validité de l'éligibilité doit être comprise entre {ELIGIBILITY_VALIDITY_MONTHS[0]} "
    f"et {ELIGIBILITY_VALIDITY_MONTHS[1]} mois."
)
FTE_RANGE_ERROR = (
    f"Le nombre d'heures d'un équivalent temps plein doit être compris entre {FTE_HOURS[0]:,} "
    f"et {FTE_HOURS[1]:,} heures."
).replace(",", " ")


@transaction.atomic
def set_eligibility_and_fte(
    *, facilitator, by, eligibility_validity_months: int, fte_hours: int
) -> FacilitatorSettings:
    """The validity of a new eligibility assessment (months) and the divisor of hours into ETP.

    Assessments already recorded keep their end of validity (it is stored with each one); the ETP of every
    indicator and bilan follow the new divisor. The audit entry holds the values before and after; a save
    that changes nothing writes nothing.
    """
    _check_admin(facilitator, by)
    errors = {}
    low, high = ELIGIBILITY_VALIDITY_MONTHS
    if not isinstance(eligibility_validity_months, int) or not low <= eligibility_validity_months <= high:
        errors["eligibility_validity_months"] = VALIDITY_RANGE_ERROR
    low, high = FTE_HOURS
    if not isinstance(fte_hours, int) or not low <= fte_hours <= high:
        errors["fte_hours"] = FTE_RANGE_ERROR
    if errors:
        raise ValidationError(errors)
    settings, created = FacilitatorSettings.objects.select_for_update().get_or_create(facilitator=facilitator)
    before = snapshot(settings)
    settings.eligibility_validity_months = eligibility_validity_months
    settings.fte_hours = fte_hours
    changes = diff({} if created else before, snapshot(settings))
    if not created and not changes:
        return settings
    settings.full_clean()
    settings.save()
    record(action=Action.CREATE if created else Action.UPDATE, obj=settings, by=by, changes=changes)
    return settings


# --- Simulation (the public simulator) -----------------------------------------------------------

SIMULATION_METHODS = ("formula", "cleaning", "percent")
REQUIRED = "Nécessaire pour ce calcul."


def simulate(
    params: SizingParameters, *, method: str, family: LotFamily | None = None, **values
) -> sizing.Sizing:
    """The sizing with `params` filling what was left empty (labour share of the family, hourly cost,
    C = 25 €/h in cleaning); the same `sizing` functions as the clause form. Never writes.
    Raises ValidationError keyed by field (French messages)."""
    get = values.get
    minimum = params.minimum_clause_hours
    if method == "formula":
        share = get("labour_share")
        if share is None and family is not None:
            share = params.share_of(family)
        given = {
            "amount_ht": get("amount_ht"),
            "labour_share": share,
            "insertion_rate": get("insertion_rate"),
            "hourly_cost": get("hourly_cost") if get("hourly_cost") is not None else params.hourly_cost,
        }
        missing = {name: REQUIRED for name, value in given.items() if value is None}
        if "labour_share" in missing:
            missing["labour_share"] = "Indiquez la part de main-d'œuvre, ou choisissez une famille de lots."
        if missing:
            raise ValidationError(missing)
        return _run(sizing.formula, **given, minimum=minimum)
    elif method == "cleaning":
        given = {
            "turnover": get("amount_ht"),
            "months": get("months"),
            "transferred_monthly_hours": get("transferred_monthly_hours"),
            "insertion_rate": get("insertion_rate"),
        }
        fields = {"turnover": "amount_ht"}
        missing = {fields.get(name, name): REQUIRED for name, value in given.items() if value is None}
        if missing:
            raise ValidationError(missing)
        cost = get("hourly_cost") if get("hourly_cost") is not None else params.cleaning_hourly_cost
        return _run(sizing.cleaning, **given, hourly_cost=cost, minimum=minimum)
    elif method == "percent":
        given = {"total_hours": get("estimated_total_hours"), "insertion_rate": get("insertion_rate")}
        missing = {
            ("estimated_total_hours" if name == "total_hours" else name): REQUIRED
            for name, value in given.items()
            if value is None
        }
        if missing:
            raise ValidationError(missing)
        return _run(sizing.percent_of_hours, **given, minimum=minimum)
    raise ValidationError({"method": "Mode de calcul inconnu."})


def _run(function, **kwargs) -> sizing.Sizing:
    try:
        return function(**kwargs)
    except sizing.SizingError as error:
        raise ValidationError(str(error)) from error
