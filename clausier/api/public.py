"""A cellule's public figures, yearly series and open-data rows: no token, open to any origin (CORS), cached.

The same figures as the cellule's public page (`publicsite.figures.public_figures`) and the same rows as its
open-data file (`reporting.opendata`), with the statistical secret applied.
"""

import datetime
from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema

from clausier.publicsite.figures import cached_on_data, public_figures, published_cellules
from clausier.reporting.opendata import commune_rows
from clausier.utils.replica import reads_from_replica

router = Router(tags=["Chiffres publics"])
CACHE_SECONDS = 300


def _open(response):
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"


class FiguresOut(Schema):
    cellule: str
    name: str
    as_of: datetime.date
    buyers: int = Field(description="Donneurs d'ordre.")
    hours: Decimal = Field(description="Heures d'insertion réalisées (relevés validés).")
    contracts: int
    participants: int = Field(description="Personnes, sans double compte.")
    qpv_residents: str | int = Field(
        description="Dont résidents d'un QPV (« < 5 » sous le secret statistique)."
    )


class YearOut(Schema):
    year: int
    participants: int


class OpenDataRowOut(Schema):
    year: int
    insee: str = Field(description="Code INSEE de la commune de résidence ; vide pour la ligne « secret ».")
    name: str
    participants: int | None = Field(description="Vide sous le secret statistique.")
    contracts: int | None
    hours: Decimal | None


def _cellule(slug: str):
    return get_object_or_404(published_cellules(), slug=slug)


@router.get("/{slug}/figures", response=FiguresOut, summary="Les chiffres publics d'une cellule")
@reads_from_replica
def figures(request, slug: str, response: HttpResponse):
    cellule = _cellule(slug)
    shown = public_figures(cellule)
    _open(response)
    return {
        "cellule": cellule.slug,
        "name": cellule.name,
        "as_of": shown.as_of,
        "buyers": shown.buyers,
        "hours": shown.hours,
        "contracts": shown.contracts,
        "participants": shown.participants,
        "qpv_residents": shown.qpv_shown,
    }


@router.get("/{slug}/series", response=list[YearOut], summary="Personnes accompagnées par année")
@reads_from_replica
def series(request, slug: str, response: HttpResponse):
    shown = public_figures(_cellule(slug))
    _open(response)
    return [{"year": year, "participants": n} for year, n in shown.per_year]


@router.get(
    "/{slug}/opendata",
    response=list[OpenDataRowOut],
    summary="Bénéficiaires, contrats et heures par année et commune de résidence (secret statistique appliqué)",
)
@reads_from_replica
def opendata(request, slug: str, response: HttpResponse):
    cellule = _cellule(slug)
    day = timezone.localdate()
    rows = cached_on_data(cellule, "api:opendata", lambda: commune_rows(cellule, today=day), day=day)
    _open(response)
    return rows
