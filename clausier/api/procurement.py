"""Buyers, operations, markets with their lots and clauses, awards, and each lot's progress."""

import datetime
from decimal import Decimal
from uuid import UUID

from django.db.models import Prefetch
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from clausier.api.auth import require
from clausier.api.pagination import KeysetPagination
from clausier.organizations.access import get_object_for_user_or_404, organizations_visible_to
from clausier.organizations.models import OrganizationKind as K
from clausier.procurement.models import Award, Lot, Market, Operation
from clausier.procurement.progress import lots_progress

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
