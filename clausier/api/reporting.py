"""Indicators under the dashboard's filters and bilans as JSON, for the facilitator's BI tools.

The same computation as the dashboard (`reporting.breakdowns.indicators` under one `IndicatorFilter`, cached
on the territory's data version) and as the bilan pages (`reporting.bilans.build_bilan` on
`reporting.subjects.bilan_subject`): the numbers are the same, by construction.
"""

import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from clausier.api.auth import require
from clausier.api.problems import Problem
from clausier.geo.models import Commune
from clausier.organizations.access import get_object_for_user_or_404, organizations_visible_to
from clausier.organizations.models import OrganizationKind as K
from clausier.procurement.models import Lot, Market, Operation
from clausier.publicsite.figures import cached_on_data
from clausier.reference.models import ContractType, Modality
from clausier.reporting.bilans import build_bilan
from clausier.reporting.breakdowns import indicators
from clausier.reporting.filters import IndicatorFilter
from clausier.reporting.subjects import bilan_subject

router = Router(tags=["Indicateurs et bilans"])


class IndicatorQuery(Schema):
    """The dashboard's filters, by the same names."""

    annee: int | None = Field(None, ge=2000, le=2100, description="Année civile (sans début ni fin).")
    debut: datetime.date | None = None
    fin: datetime.date | None = None
    donneur: UUID | None = Field(None, description="Donneur d'ordre.")
    operation: UUID | None = None
    marche: UUID | None = None
    lot: UUID | None = None
    entreprise: UUID | None = None
    modalite: str | None = Field(
        None, description="Code de la modalité (embauche directe, mise à disposition…)."
    )
    type_contrat: str | None = Field(None, description="Code du type de contrat.")
    commune: str | None = Field(None, description="Code INSEE de la commune des travaux.")


class YearOut(Schema):
    year: int
    participants: int
    contracts: int
    hours: Decimal


class MonthOut(Schema):
    month: datetime.date
    participants: int
    contracts: int
    hours: Decimal


class IndicatorsOut(Schema):
    planned_hours: Decimal = Field(description="Heures prévues par les clauses des lots retenus.")
    hours: Decimal = Field(description="Heures réalisées (relevés validés, règles de comptage appliquées).")
    completion: Decimal | None = Field(description="Réalisé ÷ prévu.")
    fte: Decimal = Field(description="Équivalents temps plein.")
    fte_hours: int = Field(description="Heures d'un ETP pour ce facilitateur.")
    contracts: int
    participants: int = Field(description="Personnes, sans double compte.")
    qpv_residents: int = Field(description="Dont résidents d'un QPV à l'entrée.")
    companies: int
    structures: int
    buyers: int
    markets: int
    lots: int
    by_contract_type: list[dict]
    by_modality: list[dict]
    by_buyer: list[dict]
    profiles: dict
    criteria: dict = Field(
        description="Personnes par critère d'éligibilité (agrégats, facilitateur seulement)."
    )
    communes: list[dict]
    outcomes: dict
    years: list[YearOut]
    months: list[MonthOut]
    months_year: int | None


def _resolve(user, model, value, **lookup):
    if value is None:
        return None
    queryset = model.objects.all()
    return get_object_for_user_or_404(queryset, user, **lookup).pk


def indicator_filter(request, facilitator, q: IndicatorQuery) -> IndicatorFilter:
    """The dashboard's filter from the query: every identifier resolved through the access gate (404)."""
    user = request.auth
    start, end = q.debut, q.fin
    if start and end and end < start:
        raise Problem(
            422,
            "La fin de la période précède son début.",
            [{"field": "query.fin", "message": "avant le début"}],
        )
    if q.annee and not (start or end):
        start, end = datetime.date(q.annee, 1, 1), datetime.date(q.annee, 12, 31)

    def reference(model, code, name):
        if code is None:
            return None
        found = model.objects.active().filter(code=code).values_list("pk", flat=True).first()
        if found is None:
            raise Problem(
                422, f"Code inconnu : « {code} ».", [{"field": f"query.{name}", "message": "code inconnu"}]
            )
        return found

    if q.commune is not None and not Commune.objects.filter(insee_code=q.commune).exists():
        raise Problem(
            422,
            f"Commune inconnue : « {q.commune} ».",
            [{"field": "query.commune", "message": "code INSEE inconnu"}],
        )
    buyers = organizations_visible_to(user).filter(kind=K.BUYER)
    companies = organizations_visible_to(user).filter(kind=K.COMPANY)
    return IndicatorFilter(
        facilitator,
        start=start,
        end=end,
        buyer_id=q.donneur and get_object_for_user_or_404(buyers, user, uuid=q.donneur).pk,
        operation_id=_resolve(user, Operation, q.operation, uuid=q.operation),
        market_id=_resolve(user, Market, q.marche, uuid=q.marche),
        lot_id=_resolve(user, Lot, q.lot, uuid=q.lot),
        company_id=q.entreprise and get_object_for_user_or_404(companies, user, uuid=q.entreprise).pk,
        modality_id=reference(Modality, q.modalite, "modalite"),
        contract_type_id=reference(ContractType, q.type_contrat, "type_contrat"),
        commune_id=q.commune,
    )


@router.get(
    "/indicators",
    response=IndicatorsOut,
    summary="Indicateurs du territoire sous les filtres du tableau de bord (les mêmes chiffres)",
)
def territory_indicators(request, q: Query[IndicatorQuery]):
    facilitator = require(request, staff_only=True)
    f = indicator_filter(request, facilitator, q)
    day = timezone.localdate()
    result = cached_on_data(facilitator, f"api-indicators:{f.key}", lambda: indicators(f, today=day), day=day)
    return {name: getattr(result, name) for name in IndicatorsOut.model_fields}


class CellOut(Schema):
    value: str | int | float | None
    masked: bool


class TableOut(Schema):
    title: str
    slug: str
    columns: list[str]
    rows: list[list[CellOut]]


class FigureOut(Schema):
    label: str
    value: str | int | float | None


class BilanOut(Schema):
    title: str
    subject: str
    period: str
    generated_on: datetime.date
    key_figures: list[FigureOut]
    tables: list[TableOut]
    method: list[list[str]]


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.date,)):
        return value.isoformat()
    return value


@router.get(
    "/bilans/{kind}",
    response=BilanOut,
    summary="Un bilan (donneur d'ordre, opération, marché ou année du territoire), comme la page et le PDF",
)
def bilan(
    request,
    kind: Literal["buyer", "operation", "market", "territory"],
    id: UUID | None = None,  # noqa: A002 — the API's name for an object's identifier
    annee: int | None = Query(None, ge=2000, le=2100),
):
    staff = require(request, kinds={K.FACILITATOR, K.BUYER}).kind == K.FACILITATOR
    if kind != "territory" and id is None:
        raise Problem(
            422,
            "Indiquez l'identifiant (id) de l'objet du bilan.",
            [{"field": "query.id", "message": "obligatoire"}],
        )
    f, title, subject = bilan_subject(request.auth, kind, id, annee)
    # A buyer reads its bilans as on its pages: small counts masked, no table of eligibility criteria.
    report = build_bilan(f, title=title, subject=subject, public=not staff)
    return {
        "title": report.title,
        "subject": report.subject,
        "period": report.period,
        "generated_on": report.generated_on,
        "key_figures": [{"label": label, "value": _plain(c.value)} for label, c in report.key_figures],
        "tables": [
            {
                "title": t.title,
                "slug": t.slug,
                "columns": [label for label, _ in t.columns],
                "rows": [[{"value": _plain(c.value), "masked": c.masked} for c in row] for row in t.rows],
            }
            for t in report.tables
        ],
        "method": [list(pair) for pair in report.method],
    }
