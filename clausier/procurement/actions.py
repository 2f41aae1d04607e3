"""Writes on operations, markets, lots and clauses.

Keyword-only, atomic functions; the UI and the API parse input and call them. Each checks that
what it links belongs to the same facilitator (a second gate behind the scoped form choices) and
writes its audit entry.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.organizations.actions import create_partner
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement import sizing
from clausier.procurement.models import Clause, HourlyCost, LabourShare, Lot, Market, Operation
from clausier.procurement.parameters import minimum_clause_hours
from clausier.reference.models import LegalBasis
from clausier.utils.locking import check_version, claim

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
    "months",
    "transferred_monthly_hours",
    "estimated_total_hours",
    "override_reason",
    "eligible_publics",
    "notes",
}
MISSING_FOR_FORMULA = "Nécessaire pour calculer les heures (ou choisissez le mode « Nombre d'heures fixé »)."


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


def _update(instance, by, changes: dict, expected_version: int | None = None):
    """Apply `changes`; `expected_version` (the edit form's) refuses a stale submit (EditConflict)."""
    # The stored row, not `instance`: a model form has already copied its input onto the instance.
    before = snapshot(type(instance)._base_manager.get(pk=instance.pk))
    claim(instance, expected_version)
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
def update_operation(
    *, operation: Operation, by, expected_version: int | None = None, **changes
) -> Operation:
    _check_fields(changes, OPERATION_FIELDS)
    if "buyer" in changes:
        _check_buyer(operation.facilitator, changes["buyer"])
    return _update(operation, by, changes, expected_version)


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
def update_market(*, market: Market, by, expected_version: int | None = None, **changes) -> Market:
    _check_fields(changes, MARKET_FIELDS)
    buyer = changes.get("buyer", market.buyer)
    if "buyer" in changes:
        _check_buyer(market.facilitator, buyer)
    _check_operation(market.facilitator, changes.get("operation", market.operation), buyer)
    return _update(market, by, changes, expected_version)


# --- Lots ---------------------------------------------------------------------------------------


@transaction.atomic
def create_lot(*, market: Market, by, number: str, title: str, **fields) -> Lot:
    _check_fields(fields, LOT_FIELDS)
    lot = Lot(facilitator_id=market.facilitator_id, market=market, number=number, title=title, **fields)
    return _save(lot, by)


@transaction.atomic
def update_lot(*, lot: Lot, by, expected_version: int | None = None, **changes) -> Lot:
    _check_fields(changes, LOT_FIELDS)
    return _update(lot, by, changes, expected_version)


# --- Clauses ------------------------------------------------------------------------------------

SIZING_PARAMETERS = {
    Clause.Method.FORMULA: ("amount_ht", "labour_share", "insertion_rate", "hourly_cost"),
    Clause.Method.CLEANING: (
        "amount_ht",
        "months",
        "transferred_monthly_hours",
        "insertion_rate",
        "hourly_cost",
    ),
    Clause.Method.PERCENT_OF_HOURS: ("estimated_total_hours", "insertion_rate"),
    Clause.Method.FIXED: (),
}
SIZING_FIELDS = (
    "hours_target",
    "amount_ht",
    "labour_share",
    "insertion_rate",
    "hourly_cost",
    "months",
    "transferred_monthly_hours",
    "estimated_total_hours",
    "override_reason",
)
OVERRIDE_REASON_REQUIRED = (
    "Le nombre d'heures saisi ({typed} h) diffère du calcul ({computed} h) : "
    "indiquez le motif de la modification manuelle, ou videz le champ pour retenir le calcul."
)


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


def lot_months(lot: Lot) -> int | None:
    """The lot's duration in months (started months count), from its dates or its market's."""
    start = lot.start_date or lot.market.start_date
    end = lot.end_date or lot.market.end_date
    if not start or not end or end < start:
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def compute_sizing(
    *, lot: Lot, method: str, day: datetime.date | None = None, **given
) -> tuple[dict, sizing.Sizing]:
    """The parameters of `method` (defaults resolved for the lot) and the computed sizing; never writes.

    Defaults: the lot's amount; the labour share of the lot's family (the facilitator's own table first);
    the facilitator's hourly cost in force (formula) or C = 25 €/h (cleaning); the lot's duration in months.
    Raises ValidationError keyed by field when a parameter is missing or impossible.
    """
    day = day or datetime.date.today()
    minimum = minimum_clause_hours(lot.facilitator_id)
    if method == Clause.Method.FIXED:
        if given.get("hours_target") is None:
            raise ValidationError({"hours_target": "Indiquez le nombre d'heures d'insertion prévues."})
        try:
            return {}, sizing.fixed(given["hours_target"], minimum=minimum)
        except sizing.SizingError as error:
            raise ValidationError({"hours_target": str(error)}) from error
    if method not in SIZING_PARAMETERS:
        raise ValidationError({"method": "Mode de calcul inconnu."})
    names = SIZING_PARAMETERS[method]
    values = {name: given.get(name) for name in names}
    defaults = {
        "amount_ht": lambda: lot.amount_ht,
        "labour_share": lambda: default_labour_share(lot),
        "months": lambda: lot_months(lot),
        "hourly_cost": (
            (lambda: sizing.CLEANING_HOURLY_COST)
            if method == Clause.Method.CLEANING
            else (lambda: default_hourly_cost(lot, day))
        ),
    }
    for name in names:
        if values[name] is None and name in defaults:
            values[name] = defaults[name]()
    missing = [name for name in names if values[name] is None]
    if missing:
        raise ValidationError(dict.fromkeys(missing, MISSING_FOR_FORMULA))
    try:
        if method == Clause.Method.FORMULA:
            result = sizing.formula(*(values[n] for n in names), minimum=minimum)
        elif method == Clause.Method.CLEANING:
            result = sizing.cleaning(
                values["amount_ht"],
                values["months"],
                values["transferred_monthly_hours"],
                values["insertion_rate"],
                hourly_cost=values["hourly_cost"],
                minimum=minimum,
            )
        else:
            result = sizing.percent_of_hours(
                values["estimated_total_hours"], values["insertion_rate"], minimum=minimum
            )
    except sizing.SizingError as error:
        raise ValidationError(str(error)) from error
    return values, result


def size_clause(
    *,
    lot: Lot,
    method: str,
    hours_target: Decimal | None = None,
    override_reason: str = "",
    day: datetime.date | None = None,
    **parameters,
) -> dict:
    """The sizing values to store on the clause: the parameters used (the others emptied), the computed
    hours, the date, and the target.

    The target is the computed value when left empty. A typed target that differs from the computation
    requires `override_reason` (ValidationError otherwise); the computed value is kept beside it.
    With the "fixed" method, the typed number of hours is the computation.
    """
    day = day or datetime.date.today()
    used, result = compute_sizing(lot=lot, method=method, day=day, hours_target=hours_target, **parameters)
    computed = Decimal(result.hours)
    values = dict.fromkeys(SIZING_FIELDS)
    values.update(used)
    values.update(computed_hours=computed, sized_on=day, override_reason="")
    if method == Clause.Method.FIXED or hours_target is None or Decimal(hours_target) == computed:
        values["hours_target"] = computed
        return values
    if not (override_reason or "").strip():
        raise ValidationError(
            {
                "override_reason": OVERRIDE_REASON_REQUIRED.format(
                    typed=sizing.fr_number(Decimal(hours_target), 2), computed=sizing.fr_number(computed)
                )
            }
        )
    values["hours_target"] = Decimal(hours_target)
    values["override_reason"] = override_reason.strip()
    return values


def computed_target(clause: Clause, lot: Lot | None = None) -> Decimal | None:
    """The hours computed when the clause was sized (older clauses: recomputed from their parameters), None
    when its parameters no longer compute."""
    if clause.computed_hours is not None:
        return clause.computed_hours
    parameters = {name: getattr(clause, name) for name in SIZING_PARAMETERS.get(clause.method, ())}
    try:
        return Decimal(compute_sizing(lot=lot or clause.lot, method=clause.method, **parameters)[1].hours)
    except ValidationError:
        return None


def typed_target(clause: Clause, lot: Lot | None = None) -> Decimal | None:
    """The clause's target if the facilitator typed it (a fixed number of hours, or a target typed over the
    computation), else None: a computed target is not kept, it follows the clause's parameters."""
    if clause.method == Clause.Method.FIXED or clause.hours_target != computed_target(clause, lot):
        return clause.hours_target
    return None


# --- Legal bases of a clause --------------------------------------------------------------------

# A market whose consultation was launched before a repeal stays under the old text (transitional provisions
# of the ordonnance 2015-899 and of the CCP): its notification may come months later.
REPEAL_GRACE = datetime.timedelta(days=365)
BASIS_WITHDRAWN = "Cette base juridique n'est plus proposée par le référentiel : choisissez-en une autre."
BASIS_REPEALED = (
    "{article} ({text}) est abrogé (en vigueur jusqu'au {until:%d/%m/%Y}) : il ne peut être choisi que pour "
    "un marché antérieur à son abrogation (date de notification du marché, ou de début d'exécution)."
)


def market_day(market: Market) -> datetime.date:
    """The date that decides which legal texts applied to the market."""
    return market.notified_on or market.start_date or datetime.date.today()


def selectable_legal_bases(lot: Lot, clause: Clause | None = None) -> QuerySet[LegalBasis]:
    """The legal bases a clause of `lot` may take: the active texts in force, a repealed one only for a market
    of before its repeal (`REPEAL_GRACE` after it), and the basis `clause` has already (as stored), which it
    keeps even if repealed or withdrawn from the referential since."""
    day, today = market_day(lot.market), datetime.date.today()
    in_force = Q(in_force_until__isnull=True) | Q(in_force_until__gte=today)
    applicable = Q(in_force_until__gte=day - REPEAL_GRACE)
    allowed = Q(is_active=True) & (in_force | applicable)
    if clause is not None and clause.legal_basis_id is not None:
        allowed |= Q(pk=clause.legal_basis_id)
    return LegalBasis.objects.filter(allowed)


def legal_basis_problem(lot: Lot, basis: LegalBasis, clause: Clause | None = None) -> str | None:
    """Why `basis` may not be chosen for the clause of `lot` (`clause`: the stored one, if any), or None."""
    if selectable_legal_bases(lot, clause).filter(pk=basis.pk).exists():
        return None
    if not basis.is_active:
        return BASIS_WITHDRAWN
    return BASIS_REPEALED.format(article=basis.article, text=basis.code_version, until=basis.in_force_until)


@transaction.atomic
def set_clause(
    *, lot: Lot, by, legal_basis, method: str, expected_version: int | None = None, **fields
) -> tuple[Clause, bool]:
    """Create the lot's clause, or update it (sized with `size_clause`); returns (clause, created).

    The legal basis must be selectable (`selectable_legal_bases`). `expected_version` (the edit form's)
    refuses a stale update (EditConflict).
    """
    fields.pop("computed_hours", None)
    fields.pop("sized_on", None)
    _check_fields(fields, CLAUSE_FIELDS)
    values = size_clause(
        lot=lot, method=method, **{key: fields.pop(key) for key in SIZING_FIELDS if key in fields}
    )
    clause = Clause.objects.select_for_update().filter(lot=lot).first()
    created = clause is None
    before = {} if created else snapshot(clause)
    if created:
        clause = Clause(facilitator_id=lot.facilitator_id, lot=lot)
    else:
        claim(clause, expected_version)
    problem = legal_basis_problem(lot, legal_basis, clause) if legal_basis is not None else None
    if problem:
        raise ValidationError({"legal_basis": problem})
    clause.legal_basis = legal_basis
    clause.method = method
    for name, value in {**values, **fields}.items():
        setattr(clause, name, value)
    return _save(clause, by, before=None if created else before), created


@transaction.atomic
def update_clause(*, clause: Clause, by, expected_version: int | None = None, **changes) -> Clause:
    """Change some of the clause's fields (the API's PATCH); the others keep their stored values.

    A typed target (`typed_target`) is kept unless `changes` gives another; a computed one is computed again
    from the new parameters. A fixed number of hours is the "fixed" method's computation: left for another
    method, it is computed too.
    """
    _check_fields(changes, CLAUSE_FIELDS)
    fields = {name: getattr(clause, name) for name in CLAUSE_FIELDS}
    if "hours_target" not in changes:
        leaves_fixed = (
            clause.method == Clause.Method.FIXED and changes.get("method", clause.method) != clause.method
        )
        fields["hours_target"] = None if leaves_fixed else typed_target(clause)
    fields.update(changes)
    return set_clause(lot=clause.lot, by=by, expected_version=expected_version, **fields)[0]


# --- Globalisation agreements (hours area) ------------------------------------------------------

GLOBALISATION_FIELDS = {"name", "company", "lots", "start_date", "end_date"}


def _check_globalisation(facilitator: Organization, company: Organization, lots) -> None:
    """The company is a partner company; each lot is the facilitator's and awarded to that company."""
    from clausier.procurement.models import Award

    if company.kind != OrganizationKind.COMPANY:
        raise ValidationError({"company": "Choisissez une entreprise."})
    if not Partnership.objects.filter(facilitator=facilitator, partner=company).exists():
        raise ValidationError({"company": "Cette entreprise ne fait pas partie de vos partenaires."})
    lots = list(lots)
    if len({lot.pk for lot in lots}) < 2:
        raise ValidationError({"lots": "Une convention de globalisation mutualise au moins deux lots."})
    if any(lot.facilitator_id != facilitator.pk for lot in lots):
        raise ValidationError({"lots": "Lot inconnu."})
    awarded = set(Award.objects.filter(company=company, lot__in=lots).values_list("lot_id", flat=True))
    strangers = [str(lot) for lot in lots if lot.pk not in awarded]
    if strangers:
        raise ValidationError({"lots": f"{company} n'est pas attributaire de : {', '.join(strangers)}."})


@transaction.atomic
def create_globalisation(*, facilitator: Organization, by, company: Organization, name: str, lots, **fields):
    """Pool one company's obligations on several lots (possibly of several buyers)."""
    from clausier.procurement.models import GlobalisationAgreement

    _check_fields(fields, GLOBALISATION_FIELDS)
    lots = list(lots)
    _check_globalisation(facilitator, company, lots)
    agreement = GlobalisationAgreement(facilitator=facilitator, company=company, name=name, **fields)
    agreement.full_clean()
    agreement.save()
    agreement.lots.set(lots, through_defaults={"facilitator": facilitator})
    changes = {key: [None, value] for key, value in snapshot(agreement).items()}
    changes["lots"] = [None, _lot_ids(lots)]
    record(action=Action.CREATE, obj=agreement, by=by, changes=changes)
    return agreement


@transaction.atomic
def update_globalisation(*, agreement, by, expected_version=None, **changes):
    """Change the name, dates or lots of an agreement (its company stays).

    `expected_version`: `version_of` the agreement when the form was read (a stale one is refused).
    """
    from clausier.procurement.models import GlobalisationAgreement

    _check_fields(changes, GLOBALISATION_FIELDS)
    agreement = GlobalisationAgreement.objects.select_for_update().get(pk=agreement.pk)
    check_version(agreement, expected_version)
    company = changes.pop("company", agreement.company)
    if company.pk != agreement.company_id:
        raise ValidationError(
            {"company": "L'entreprise d'une convention ne change pas : créez-en une autre."}
        )
    before_lots = sorted(agreement.lots.values_list("pk", flat=True))
    lots = list(changes.pop("lots", agreement.lots.all()))
    _check_globalisation(agreement.facilitator, company, lots)
    before = snapshot(agreement)
    for name, value in changes.items():
        setattr(agreement, name, value)
    agreement.full_clean()
    agreement.save()
    agreement.lots.set(lots, through_defaults={"facilitator_id": agreement.facilitator_id})
    delta = diff(before, snapshot(agreement))
    if before_lots != _lot_ids(lots):
        delta["lots"] = [before_lots, _lot_ids(lots)]
    record(action=Action.UPDATE, obj=agreement, by=by, changes=delta)
    return agreement


def _lot_ids(lots) -> list[int]:
    return sorted({lot.pk for lot in lots})


# --- Awards -------------------------------------------------------------------------------------


@transaction.atomic
def award_lot(
    *,
    lot: Lot,
    company: Organization,
    by,
    role: str = "holder",
    awarded_on: datetime.date | None = None,
    amount_ht: Decimal | None = None,
):
    """Award `lot` to a partner company (as holder by default); returns (award, created).

    Awarding again the same company in the same role changes nothing (and writes no audit entry).
    """
    from clausier.procurement.models import Award

    if company.kind != OrganizationKind.COMPANY:
        raise ValidationError("Cette organisation n'est pas une entreprise.")
    if not Partnership.objects.filter(facilitator_id=lot.facilitator_id, partner=company).exists():
        raise ValidationError("Cette entreprise ne fait pas partie de vos partenaires.")
    award = Award.objects.filter(lot=lot, company=company, role=role).first()
    if award is not None:
        return award, False
    award = Award(
        facilitator_id=lot.facilitator_id,
        lot=lot,
        company=company,
        role=role,
        awarded_on=awarded_on,
        amount_ht=amount_ht,
    )
    return _save(award, by), True


AWARD_FIELDS = {"role", "awarded_on", "amount_ht"}


@transaction.atomic
def update_award(*, award, by, **changes):
    """Change an award's role, date or amount (its lot and company stay: remove it and award again)."""
    from clausier.procurement.models import Award

    _check_fields(changes, AWARD_FIELDS)
    role = changes.get("role", award.role)
    if (
        Award.objects.filter(lot_id=award.lot_id, company_id=award.company_id, role=role)
        .exclude(pk=award.pk)
        .exists()
    ):
        raise ValidationError({"role": "Cette entreprise a déjà ce rôle sur ce lot."})
    before = snapshot(award)
    for name, value in changes.items():
        setattr(award, name, value)
    award.full_clean()
    award.save()
    delta = diff(before, snapshot(award))
    if delta:
        record(action=Action.UPDATE, obj=award, by=by, changes=delta)
    return award


def award_removal_problem(award) -> str | None:
    """Why `award` may not be removed, or None: the company's contracts and globalisation on the lot rest on
    its being an awardee (another role of the same company on the lot keeps them valid)."""
    from clausier.employment.models import Contract
    from clausier.procurement.models import Award

    if Award.objects.filter(lot_id=award.lot_id, company_id=award.company_id).exclude(pk=award.pk).exists():
        return None
    contracts = Contract.objects.filter(lot_id=award.lot_id, company_id=award.company_id).count()
    if contracts:
        return (
            f"{award.company} a {contracts} contrat{'s' if contracts > 1 else ''} sur ce lot : "
            "l'attribution ne peut pas être retirée tant qu'ils y sont rattachés."
        )
    agreement = award.lot.globalisations.filter(company_id=award.company_id).first()
    if agreement is not None:
        return (
            f"Ce lot fait partie de la convention de globalisation « {agreement.name} » de {award.company}."
        )
    return None


@transaction.atomic
def remove_award(*, award, by) -> None:
    problem = award_removal_problem(award)
    if problem:
        raise ValidationError(problem)
    record(action=Action.DELETE, obj=award, by=by, changes={k: [v, None] for k, v in snapshot(award).items()})
    award.delete()


@transaction.atomic
def award_lot_to_siret(*, lot: Lot, by, siret: str, name: str = "", **award_fields):
    """Award `lot` to the company of `siret`: a partner already, one known on the platform (linked to the
    facilitator), or a new one named `name`; returns (award, created)."""
    company = Organization.objects.filter(kind=OrganizationKind.COMPANY, siret=siret).first()
    if (
        company is None
        or not Partnership.objects.filter(facilitator_id=lot.facilitator_id, partner=company).exists()
    ):
        company, _ = create_partner(
            facilitator=lot.facilitator, by=by, kind=OrganizationKind.COMPANY, name=name, siret=siret
        )
    return award_lot(lot=lot, company=company, by=by, **award_fields)
