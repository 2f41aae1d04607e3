"""Buyers, operations, markets with their lots and clauses, awards, and each lot's progress."""

import datetime
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from clausier.accounts.models import ApiScope
from clausier.api.auth import require
from clausier.api.pagination import KeysetPagination
from clausier.organizations.access import get_object_for_user_or_404, organizations_visible_to
from clausier.organizations.models import OrganizationKind as K
from clausier.procurement import actions
from clausier.procurement.models import Award, Lot, Market, Operation
from clausier.procurement.progress import lots_progress, obligations_of

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
def create_market(request, payload: MarketIn):
    facilitator = _staff_writer(request)
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
    return Status(201, markets_of(request).get(pk=market.pk))


@router.patch("/markets/{market_id}", response=MarketOut, summary="Modifier un marché (avec sa version)")
def update_market(request, market_id: UUID, payload: MarketPatch):
    _staff_writer(request)
    market = get_object_for_user_or_404(Market.objects.all(), request.auth, uuid=market_id)
    changes = payload.dict(exclude={"version"}, exclude_unset=True)
    with transaction.atomic():
        actions.update_market(market=market, by=request.auth, expected_version=payload.version, **changes)
    return markets_of(request).get(pk=market.pk)


@router.post("/markets/{market_id}/lots", response={201: LotOut}, summary="Ajouter un lot à un marché")
def create_lot(request, market_id: UUID, payload: LotIn):
    _staff_writer(request)
    market = get_object_for_user_or_404(Market.objects.all(), request.auth, uuid=market_id)
    lot = actions.create_lot(market=market, by=request.auth, **payload.dict())
    return Status(201, _lots().get(pk=lot.pk))


@router.patch("/lots/{lot_id}", response=LotOut, summary="Modifier un lot (avec sa version)")
def update_lot(request, lot_id: UUID, payload: LotPatch):
    _staff_writer(request)
    lot = get_object_for_user_or_404(Lot.objects.all(), request.auth, uuid=lot_id)
    changes = payload.dict(exclude={"version"}, exclude_unset=True)
    with transaction.atomic():
        actions.update_lot(lot=lot, by=request.auth, expected_version=payload.version, **changes)
    return _lots().get(pk=lot.pk)


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
