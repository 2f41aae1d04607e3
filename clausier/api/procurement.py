"""Buyers, operations, markets with their lots and clauses, awards, and each lot's progress."""

import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from clausier.accounts.models import ApiScope
from clausier.api.auth import require
from clausier.api.idempotency import idempotency_header, render, replay_or_run
from clausier.api.pagination import KeysetPagination
from clausier.api.problems import Problem, invalid_field
from clausier.geo.models import Commune
from clausier.organizations.access import get_object_for_user_or_404, organizations_visible_to
from clausier.organizations.models import OrganizationKind as K
from clausier.procurement import actions
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from clausier.procurement.progress import lots_progress, obligations_of
from clausier.reference.models import LegalBasis

router = Router(tags=["Marchés"])
BUYERS_VIEW = {K.FACILITATOR, K.BUYER}
MARKETS_VIEW = {K.FACILITATOR, K.BUYER, K.COMPANY}


class BuyerOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    siret: str
    category: str | None = Field(None, alias="category.name")
    commune: str | None = Field(None, alias="commune_id")
    updated_at: datetime.datetime


class OperationOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    kind: str
    buyer: UUID = Field(alias="buyer.uuid")
    commune: str | None = Field(None, alias="commune_id", description="Code INSEE de la commune des travaux.")
    start_date: datetime.date | None
    end_date: datetime.date | None
    version: int
    updated_at: datetime.datetime


class ClauseOut(Schema):
    id: UUID = Field(alias="uuid")
    method: str = Field(description="Mode de calcul de l'objectif d'heures.")
    hours_target: Decimal
    legal_basis: str | None = Field(None, alias="legal_basis.code")
    eligible_publics: str
    version: int


class LotOut(Schema):
    id: UUID = Field(alias="uuid")
    number: str
    title: str
    amount_ht: Decimal | None
    start_date: datetime.date | None
    end_date: datetime.date | None
    clause: ClauseOut | None = None
    version: int

    @staticmethod
    def resolve_clause(lot):
        return getattr(lot, "clause", None) if hasattr(lot, "clause") else None


class MarketOut(Schema):
    id: UUID = Field(alias="uuid")
    reference: str
    title: str
    buyer: UUID = Field(alias="buyer.uuid")
    buyer_name: str = Field(alias="buyer.name")
    operation: UUID | None = Field(None, alias="operation.uuid")
    procedure: str
    family: str
    notified_on: datetime.date | None
    start_date: datetime.date | None
    end_date: datetime.date | None
    amount_ht: Decimal | None
    lots: list[LotOut]
    version: int
    updated_at: datetime.datetime

    @staticmethod
    def resolve_lots(market):
        return market.lots.all()


class AwardOut(Schema):
    id: UUID = Field(alias="uuid")
    lot: UUID = Field(alias="lot.uuid")
    market: UUID = Field(alias="lot.market.uuid")
    company: UUID = Field(alias="company.uuid")
    company_name: str = Field(alias="company.name")
    company_siret: str = Field(alias="company.siret")
    role: str
    awarded_on: datetime.date | None
    amount_ht: Decimal | None
    updated_at: datetime.datetime


class ProgressOut(Schema):
    lot: UUID
    market: UUID
    target: Decimal = Field(description="Objectif d'heures d'insertion de la clause.")
    realised: Decimal = Field(description="Heures comptées des relevés validés (globalisation comprise).")
    own: Decimal = Field(description="Heures réalisées sur le lot lui-même.")
    from_pool: Decimal = Field(
        description="Heures reportées d'autres lots d'une convention de globalisation."
    )
    remaining: Decimal
    completion: Decimal | None = Field(description="Réalisé ÷ objectif, en pourcentage.")
    projection: Decimal | None = Field(description="Heures projetées à la fin du lot au rythme actuel.")
    status: str


def _lots():
    return Lot.objects.select_related("clause__legal_basis").order_by("number")


def markets_of(request):
    return (
        Market.objects.visible_to(request.auth)
        .select_related("buyer", "operation")
        .prefetch_related(Prefetch("lots", queryset=_lots()))
    )


@router.get("/buyers", response=list[BuyerOut], summary="Donneurs d'ordre du facilitateur")
@paginate(KeysetPagination)
def buyers(request):
    require(request, staff_only=True)
    return organizations_visible_to(request.auth).filter(kind=K.BUYER).select_related("category")


@router.get("/operations", response=list[OperationOut], summary="Opérations")
@paginate(KeysetPagination)
def operations(request):
    require(request, kinds=BUYERS_VIEW)
    return Operation.objects.visible_to(request.auth).select_related("buyer")


@router.get("/markets", response=list[MarketOut], summary="Marchés, avec leurs lots et leurs clauses")
@paginate(KeysetPagination)
def markets(request, buyer: UUID | None = None):
    require(request, kinds=MARKETS_VIEW)
    rows = markets_of(request)
    return rows.filter(buyer__uuid=buyer) if buyer else rows


@router.get("/markets/{market_id}", response=MarketOut, summary="Un marché, ses lots et leurs clauses")
def market(request, market_id: UUID):
    require(request, kinds=MARKETS_VIEW)
    return get_object_for_user_or_404(markets_of(request), request.auth, uuid=market_id)


@router.get("/awards", response=list[AwardOut], summary="Attributions des lots aux entreprises")
@paginate(KeysetPagination)
def awards(request):
    require(request, kinds=MARKETS_VIEW)
    return Award.objects.visible_to(request.auth).select_related("lot__market", "company")


def progress_rows(lots, today) -> list[dict]:
    result = lots_progress(lots, today=today)
    rows = []
    for progress in result.values():
        follow = progress.followup
        rows.append(
            {
                "lot": progress.lot.uuid,
                "market": progress.lot.market.uuid,
                "target": follow.target,
                "realised": follow.realised,
                "own": progress.own,
                "from_pool": progress.from_pool,
                "remaining": follow.remaining,
                "completion": follow.completion,
                "projection": follow.projection,
                "status": str(follow.status.value if hasattr(follow.status, "value") else follow.status),
            }
        )
    return rows


@router.get(
    "/markets/{market_id}/progress",
    response=list[ProgressOut],
    summary="Avancement de chaque lot d'un marché (objectif, réalisé, projection, statut)",
)
def market_progress(request, market_id: UUID):
    require(request, kinds=MARKETS_VIEW)
    found = get_object_for_user_or_404(Market.objects.all(), request.auth, uuid=market_id)
    lots = Lot.objects.visible_to(request.auth).filter(market=found).select_related("clause", "market")
    return progress_rows(lots, timezone.localdate())


@router.get("/lots/{lot_id}/progress", response=ProgressOut, summary="Avancement d'un lot")
def lot_progress(request, lot_id: UUID):
    require(request, kinds=MARKETS_VIEW)
    lot = get_object_for_user_or_404(
        Lot.objects.select_related("clause", "market"), request.auth, uuid=lot_id
    )
    return progress_rows([lot], timezone.localdate())[0]


# --- Writing the reference data (facilitator staff, scope referentiel:ecriture) ------------------------------
# Through the same actions as the pages (procurement.actions): the same checks, the same audit entries. An
# update carries the `version` it read: a stale one is a 409, nothing written (the pages' optimistic locking).


class MarketIn(Schema):
    model_config = {"extra": "forbid"}

    buyer: UUID = Field(description="Le donneur d'ordre (un partenaire du facilitateur).")
    operation: UUID | None = None
    reference: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=1, max_length=500)
    procedure: Market.Procedure = Market.Procedure.OPEN
    family: Market.Family = Market.Family.WORKS
    is_framework: bool = False
    notified_on: datetime.date | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    amount_ht: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    social_consideration: str = ""


class MarketPatch(Schema):
    model_config = {"extra": "forbid"}

    version: int = Field(description="La version lue (champ `version` du marché) : refusée si elle a changé.")
    reference: str | None = Field(None, min_length=1, max_length=60)
    title: str | None = Field(None, min_length=1, max_length=500)
    procedure: Market.Procedure | None = None
    family: Market.Family | None = None
    is_framework: bool | None = None
    notified_on: datetime.date | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    amount_ht: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    social_consideration: str | None = None


class LotIn(Schema):
    model_config = {"extra": "forbid"}

    number: str = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1, max_length=500)
    amount_ht: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


class LotPatch(Schema):
    model_config = {"extra": "forbid"}

    version: int
    number: str | None = Field(None, min_length=1, max_length=20)
    title: str | None = Field(None, min_length=1, max_length=500)
    amount_ht: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


def _staff_writer(request):
    return require(request, staff_only=True, scope=ApiScope.REFERENCE)


@router.post("/markets", response={201: MarketOut}, summary="Créer un marché")
def create_market(request, payload: MarketIn, idempotency_key: str | None = idempotency_header()):
    facilitator = _staff_writer(request)
    return replay_or_run(
        request, lambda: render(request, MarketOut, _create_market(request, facilitator, payload), status=201)
    )


def _create_market(request, facilitator, payload: MarketIn) -> Market:
    user = request.auth
    buyer = get_object_for_user_or_404(
        organizations_visible_to(user).filter(kind=K.BUYER), user, uuid=payload.buyer
    )
    fields = payload.dict(exclude={"buyer", "operation"})
    if payload.operation is not None:
        fields["operation"] = get_object_for_user_or_404(
            Operation.objects.all(), user, uuid=payload.operation
        )
    market = actions.create_market(facilitator=facilitator, by=user, buyer=buyer, **fields)
    return markets_of(request).get(pk=market.pk)


@router.patch("/markets/{market_id}", response=MarketOut, summary="Modifier un marché (avec sa version)")
def update_market(request, market_id: UUID, payload: MarketPatch):
    _staff_writer(request)
    market = get_object_for_user_or_404(Market.objects.all(), request.auth, uuid=market_id)
    changes = payload.dict(exclude={"version"}, exclude_unset=True)
    with transaction.atomic():
        actions.update_market(market=market, by=request.auth, expected_version=payload.version, **changes)
    return markets_of(request).get(pk=market.pk)


@router.post("/markets/{market_id}/lots", response={201: LotOut}, summary="Ajouter un lot à un marché")
def create_lot(request, market_id: UUID, payload: LotIn, idempotency_key: str | None = idempotency_header()):
    _staff_writer(request)
    market = get_object_for_user_or_404(Market.objects.all(), request.auth, uuid=market_id)

    def run():
        lot = actions.create_lot(market=market, by=request.auth, **payload.dict())
        return render(request, LotOut, _lots().get(pk=lot.pk), status=201)

    return replay_or_run(request, run)


@router.patch("/lots/{lot_id}", response=LotOut, summary="Modifier un lot (avec sa version)")
def update_lot(request, lot_id: UUID, payload: LotPatch):
    _staff_writer(request)
    lot = get_object_for_user_or_404(Lot.objects.all(), request.auth, uuid=lot_id)
    changes = payload.dict(exclude={"version"}, exclude_unset=True)
    with transaction.atomic():
        actions.update_lot(lot=lot, by=request.auth, expected_version=payload.version, **changes)
    return _lots().get(pk=lot.pk)


# Operations.

OperationKind = Literal[tuple(value for value, _label in Operation._meta.get_field("kind").choices)]


class OperationIn(Schema):
    model_config = {"extra": "forbid"}

    buyer: UUID = Field(description="Le donneur d'ordre (un partenaire du facilitateur).")
    name: str = Field(min_length=1, max_length=255)
    kind: OperationKind = "building"
    commune: str | None = Field(None, min_length=5, max_length=5, description="Code INSEE de la commune.")
    description: str = ""
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


class OperationPatch(Schema):
    model_config = {"extra": "forbid"}

    version: int = Field(
        description="La version lue (champ `version` de l'opération) : refusée si elle a changé."
    )
    buyer: UUID | None = None
    name: str | None = Field(None, min_length=1, max_length=255)
    kind: OperationKind | None = None
    commune: str | None = Field(None, min_length=5, max_length=5)
    description: str | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None


def _operation_fields(request, fields: dict) -> dict:
    """The payload's uuids and codes as the objects the actions take (422 on an unknown commune)."""
    if fields.get("buyer") is not None:
        fields["buyer"] = get_object_for_user_or_404(
            organizations_visible_to(request.auth).filter(kind=K.BUYER), request.auth, uuid=fields["buyer"]
        )
    elif "buyer" in fields:
        raise invalid_field("body.buyer", "ce champ ne peut pas être vide")
    if fields.get("commune") is not None:
        fields["commune"] = Commune.objects.filter(pk=fields["commune"]).first()
        if fields["commune"] is None:
            raise invalid_field("body.commune", "commune inconnue (code INSEE)")
    return fields


def _operation_out(operation) -> Operation:
    return Operation.objects.select_related("buyer").get(pk=operation.pk)


@router.post("/operations", response={201: OperationOut}, summary="Créer une opération")
def create_operation(request, payload: OperationIn, idempotency_key: str | None = idempotency_header()):
    facilitator = _staff_writer(request)
    fields = _operation_fields(request, payload.dict())

    def run():
        operation = actions.create_operation(facilitator=facilitator, by=request.auth, **fields)
        return render(request, OperationOut, _operation_out(operation), status=201)

    return replay_or_run(request, run)


@router.patch(
    "/operations/{operation_id}", response=OperationOut, summary="Modifier une opération (avec sa version)"
)
def update_operation(request, operation_id: UUID, payload: OperationPatch):
    _staff_writer(request)
    operation = get_object_for_user_or_404(Operation.objects.all(), request.auth, uuid=operation_id)
    changes = _operation_fields(request, payload.dict(exclude={"version"}, exclude_unset=True))
    with transaction.atomic():
        actions.update_operation(
            operation=operation, by=request.auth, expected_version=payload.version, **changes
        )
    return _operation_out(operation)


# The lot's clause: its legal basis and its sizing, computed by `actions.size_clause` as on the clause page.

RATE = {"ge": 0, "le": 1, "max_digits": 5, "decimal_places": 4}
HOURS = {"ge": 0, "max_digits": 12, "decimal_places": 2}
MONEY = {"ge": 0, "max_digits": 14, "decimal_places": 2}
SIZING_HELP = (
    "Les paramètres du mode de calcul choisi (`method`) ; les autres sont ignorés. `hours_target` vide : "
    "l'objectif est le calcul ; différent du calcul : `override_reason` est obligatoire."
)


class ClauseIn(Schema):
    model_config = {"extra": "forbid"}

    legal_basis: str = Field(min_length=1, max_length=40, description="Code de la base juridique.")
    method: Clause.Method = Clause.Method.FORMULA
    hours_target: Decimal | None = Field(None, **HOURS)
    amount_ht: Decimal | None = Field(None, **MONEY)
    labour_share: Decimal | None = Field(None, **RATE, description="Part de main-d'œuvre (0 à 1).")
    insertion_rate: Decimal | None = Field(None, **RATE, description="Taux d'insertion (0 à 1).")
    hourly_cost: Decimal | None = Field(None, gt=0, max_digits=8, decimal_places=2)
    months: int | None = Field(None, ge=1, le=600)
    transferred_monthly_hours: Decimal | None = Field(None, **HOURS)
    estimated_total_hours: Decimal | None = Field(None, **HOURS)
    override_reason: str = ""
    eligible_publics: str = ""
    notes: str = ""


class ClausePatch(Schema):
    model_config = {"extra": "forbid"}

    version: int = Field(
        description="La version lue (champ `version` de la clause) : refusée si elle a changé."
    )
    legal_basis: str | None = Field(None, min_length=1, max_length=40)
    method: Clause.Method | None = None
    hours_target: Decimal | None = Field(None, **HOURS)
    amount_ht: Decimal | None = Field(None, **MONEY)
    labour_share: Decimal | None = Field(None, **RATE)
    insertion_rate: Decimal | None = Field(None, **RATE)
    hourly_cost: Decimal | None = Field(None, gt=0, max_digits=8, decimal_places=2)
    months: int | None = Field(None, ge=1, le=600)
    transferred_monthly_hours: Decimal | None = Field(None, **HOURS)
    estimated_total_hours: Decimal | None = Field(None, **HOURS)
    override_reason: str | None = None
    eligible_publics: str | None = None
    notes: str | None = None


CLAUSE_EXISTS = "Ce lot a déjà une clause : modifiez-la (PATCH /lots/{id}/clause) avec sa version."
NO_CLAUSE = "Ce lot n'a pas encore de clause : créez-la (POST /lots/{id}/clause)."


def _legal_basis(code: str, lot: Lot, clause: Clause | None = None) -> LegalBasis:
    """The basis of `code`, if the clause may take it (`actions.legal_basis_problem`, as the clause page's
    choices): a 422 naming the field otherwise."""
    basis = LegalBasis.objects.filter(code=code).first()
    if basis is None:
        raise invalid_field("body.legal_basis", "base juridique inconnue")
    problem = actions.legal_basis_problem(lot, basis, clause)
    if problem:
        raise invalid_field("body.legal_basis", problem)
    return basis


def _clause_lot(request, lot_id: UUID) -> Lot:
    return get_object_for_user_or_404(
        Lot.objects.select_related("market", "clause"), request.auth, uuid=lot_id
    )


def _clause_out(lot) -> Clause:
    return Clause.objects.select_related("legal_basis").get(lot=lot)


@router.post(
    "/lots/{lot_id}/clause",
    response={201: ClauseOut},
    summary="Créer la clause d'un lot",
    description=SIZING_HELP,
)
def create_clause(
    request, lot_id: UUID, payload: ClauseIn, idempotency_key: str | None = idempotency_header()
):
    _staff_writer(request)
    lot = _clause_lot(request, lot_id)
    fields = payload.dict()
    fields["legal_basis"] = _legal_basis(fields["legal_basis"], lot)

    def run():
        # `set_clause` creates or updates: a lot that has one already is a conflict, not a silent overwrite,
        # even when two requests race past this check (the one-to-one's IntegrityError, in a savepoint).
        if Clause.objects.filter(lot=lot).exists():
            raise Problem(409, CLAUSE_EXISTS)
        try:
            with transaction.atomic():
                actions.set_clause(lot=lot, by=request.auth, **fields)
        except IntegrityError:
            if not Clause.objects.filter(lot=lot).exists():
                raise
            raise Problem(409, CLAUSE_EXISTS) from None
        return render(request, ClauseOut, _clause_out(lot), status=201)

    return replay_or_run(request, run)


@router.patch(
    "/lots/{lot_id}/clause",
    response=ClauseOut,
    summary="Modifier la clause d'un lot (avec sa version)",
    description=SIZING_HELP + " Les champs absents gardent leur valeur.",
)
def update_clause(request, lot_id: UUID, payload: ClausePatch):
    _staff_writer(request)
    lot = _clause_lot(request, lot_id)
    clause = getattr(lot, "clause", None)  # RelatedObjectDoesNotExist is an AttributeError
    if clause is None:
        raise Problem(404, NO_CLAUSE)
    changes = payload.dict(exclude={"version"}, exclude_unset=True)
    if changes.get("legal_basis") is not None:
        changes["legal_basis"] = _legal_basis(changes["legal_basis"], lot, clause)
    nullable = {"hours_target", "amount_ht", "labour_share", "insertion_rate", "hourly_cost", "months"}
    nullable |= {"transferred_monthly_hours", "estimated_total_hours"}
    emptied = next((name for name, value in changes.items() if value is None and name not in nullable), None)
    if emptied:
        raise invalid_field(f"body.{emptied}", "ce champ ne peut pas être vide")
    # The absent fields keep their values, a computed target follows the new parameters: `update_clause`.
    with transaction.atomic():
        actions.update_clause(clause=clause, by=request.auth, expected_version=payload.version, **changes)
    return _clause_out(lot)


# Awards: a partner company by its uuid, or any company by its SIRET (as the lot page's form).

DUPLICATE_AWARD = "Cette entreprise est déjà attributaire de ce lot dans ce rôle."


class AwardIn(Schema):
    model_config = {"extra": "forbid"}

    lot: UUID
    company: UUID | None = Field(None, description="Une entreprise partenaire ; sinon `siret`.")
    siret: str | None = Field(
        None,
        pattern=r"^[0-9]{14}$",
        description="Le SIRET d'une entreprise : partenaire, connue de la plateforme, ou nouvelle (`name`).",
    )
    name: str = Field("", max_length=255, description="Le nom d'une entreprise nouvelle (avec `siret`).")
    role: Award.AwardRole = Award.AwardRole.HOLDER
    awarded_on: datetime.date | None = None
    amount_ht: Decimal | None = Field(None, **MONEY)


def _duplicate_award(error: IntegrityError) -> bool:
    """Whether `error` is the award_unique constraint's (another request committed the same award first)."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    if name is not None:  # PostgreSQL names the constraint
        return name == "award_unique"
    table = Award._meta.db_table  # SQLite lists its columns
    return f"{table}.lot_id, {table}.company_id, {table}.role" in str(error)


def _award_taken(error: ValidationError) -> bool:
    """Whether `error` is the model's check of award_unique (the only unique constraint naming several fields
    an award can break)."""
    errors = getattr(error, "error_dict", {}).get(NON_FIELD_ERRORS, [])
    return any(e.code == "unique_together" for e in errors)


def _award_out(award) -> Award:
    return Award.objects.select_related("lot__market", "company").get(pk=award.pk)


def _award(request, payload: AwardIn) -> Award:
    """Award through the lot page's actions; the same (lot, company, role) twice is a conflict, even when two
    requests race past `award_lot`'s check (the unique constraint's IntegrityError, in a savepoint)."""
    user = request.auth
    lot = get_object_for_user_or_404(Lot.objects.all(), user, uuid=payload.lot)
    fields = {"role": payload.role, "awarded_on": payload.awarded_on, "amount_ht": payload.amount_ht}
    try:
        with transaction.atomic():
            if payload.company is not None:
                company = get_object_for_user_or_404(
                    organizations_visible_to(user).filter(kind=K.COMPANY), user, uuid=payload.company
                )
                award, created = actions.award_lot(lot=lot, company=company, by=user, **fields)
            else:
                award, created = actions.award_lot_to_siret(
                    lot=lot, by=user, siret=payload.siret, name=payload.name, **fields
                )
    except IntegrityError as error:
        if not _duplicate_award(error):
            raise
        created = False
    except ValidationError as error:  # committed by the other request before our `full_clean`
        if not _award_taken(error):
            raise
        created = False
    if not created:
        raise Problem(409, DUPLICATE_AWARD)
    return _award_out(award)


@router.post("/awards", response={201: AwardOut}, summary="Attribuer un lot à une entreprise")
def create_award(request, payload: AwardIn, idempotency_key: str | None = idempotency_header()):
    _staff_writer(request)
    if (payload.company is None) == (payload.siret is None):
        raise invalid_field("body.company", "indiquez soit `company` (uuid), soit `siret`")
    return replay_or_run(request, lambda: render(request, AwardOut, _award(request, payload), status=201))


@router.delete(
    "/awards/{award_id}",
    response={204: None},
    summary="Retirer une attribution",
    description="Refusé (409) tant que des contrats ou une convention de globalisation reposent sur elle.",
)
def delete_award(request, award_id: UUID):
    _staff_writer(request)
    award = get_object_for_user_or_404(
        Award.objects.select_related("lot", "company"), request.auth, uuid=award_id
    )
    with transaction.atomic():
        problem = actions.award_removal_problem(award)
        if problem:
            raise Problem(409, problem)
        actions.remove_award(award=award, by=request.auth)
    return Status(204, None)


# --- A company's (or a buyer's) obligations, lot by lot ------------------------------------------------------


class ObligationOut(ProgressOut):
    lot_number: str
    lot_title: str
    market_reference: str
    market_title: str
    buyer_name: str
    deadline: datetime.date | None = Field(description="Fin du lot, sinon du marché.")


@router.get(
    "/obligations",
    response=list[ObligationOut],
    summary="Les obligations d'insertion lot par lot (comme « Mes obligations »)",
    description=(
        "Chaque lot avec une clause que l'organisation voit (une entreprise : ceux qui lui sont attribués ; un "
        "donneur d'ordre : ceux de ses marchés) : objectif, réalisé, reste à faire, échéance, statut ; les lots "
        "en cours d'abord, l'échéance la plus proche en tête. La liste entière, en une réponse."
    ),
)
def obligations(request):
    require(request, kinds={K.FACILITATOR, K.COMPANY, K.BUYER})
    day = timezone.localdate()
    lots = list(obligations_of(request.auth, day=day))
    by_lot = {row["lot"]: row for row in progress_rows(lots, day)}
    return [
        {
            **by_lot[lot.uuid],
            "lot_number": lot.number,
            "lot_title": lot.title,
            "market_reference": lot.market.reference,
            "market_title": lot.market.title,
            "buyer_name": lot.market.buyer.name,
            "deadline": lot.deadline,
        }
        for lot in lots
    ]
