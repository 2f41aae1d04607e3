"""Partners: the companies, insertion structures and prescribers a facilitator works with."""

import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from clausier.api.auth import require
from clausier.api.pagination import KeysetPagination
from clausier.organizations.access import organizations_visible_to
from clausier.organizations.models import OrganizationKind as K

router = Router(tags=["Partenaires"])
PARTNER_KINDS = (K.COMPANY, K.INSERTION_STRUCTURE, K.PRESCRIBER)
PartnerKind = Literal["company", "insertion_structure", "prescriber"]


class OrganizationOut(Schema):
    id: UUID = Field(alias="uuid")
    kind: str = Field(description="« company », « insertion_structure » ou « prescriber ».")
    name: str
    siret: str
    naf_code: str
    commune: str | None = Field(None, alias="commune_id", description="Code INSEE de la commune.")
    email: str
    phone: str
    is_active: bool
    updated_at: datetime.datetime


@router.get(
    "/organizations",
    response=list[OrganizationOut],
    summary="Partenaires du facilitateur : entreprises, structures d'insertion, prescripteurs",
)
@paginate(KeysetPagination)
def organizations(request, kind: PartnerKind | None = None):
    org = require(request, staff_only=True)
    rows = organizations_visible_to(request.auth).filter(kind__in=PARTNER_KINDS).exclude(pk=org.pk)
    return rows.filter(kind=kind) if kind else rows
