"""Which bilan a user asks for: a buyer, an operation, a market or the territory's year, resolved through the
access gate (a 404 for anything the user may not see). The bilan pages and the API read it the same way."""

import datetime

from django.http import Http404

from clausier.organizations.access import (
    current_organization,
    get_object_for_user_or_404,
    is_facilitator_staff,
)
from clausier.organizations.models import Organization
from clausier.organizations.models import OrganizationKind as K
from clausier.procurement.models import Market, Operation
from clausier.reporting.filters import IndicatorFilter

KINDS = ("buyer", "operation", "market", "territory")


def buyer_facilitator(user, buyer):
    """The facilitator whose data make the bilan: staff → their own; a buyer → the facilitator of its markets."""
    if is_facilitator_staff(user):
        return current_organization(user)
    facilitator_id = (
        Market.objects.visible_to(user)
        .filter(buyer=buyer)
        .order_by("facilitator_id")
        .values("facilitator_id")
        .first()
    )
    if facilitator_id is None:
        raise Http404("Aucun marché.")
    return Organization.objects.get(pk=facilitator_id["facilitator_id"])


def bilan_subject(user, kind: str, uuid=None, year: int | None = None) -> tuple[IndicatorFilter, str, str]:
    """(filter, title, subject) of the bilan `kind` for `user`, or 404 (access gate)."""
    org = current_organization(user)
    if org is None or org.kind not in (K.FACILITATOR, K.BUYER):
        raise Http404("Bilan indisponible.")
    period = {} if year is None else {"start": datetime.date(year, 1, 1), "end": datetime.date(year, 12, 31)}
    suffix = f" — {year}" if year else ""
    if kind == "buyer":
        buyer = get_object_for_user_or_404(Organization.objects.filter(kind=K.BUYER), user, uuid=uuid)
        f = IndicatorFilter(buyer_facilitator(user, buyer), buyer_id=buyer.pk, **period)
        return f, f"Bilan du donneur d'ordre {buyer.name}{suffix}", f"Donneur d'ordre : {buyer.name}"
    if kind == "operation":
        operation = get_object_for_user_or_404(Operation, user, uuid=uuid)
        f = IndicatorFilter(operation.facilitator, operation_id=operation.pk, **period)
        return f, f"Bilan de l'opération {operation.name}{suffix}", f"Opération : {operation.name}"
    if kind == "market":
        market = get_object_for_user_or_404(Market, user, uuid=uuid)
        f = IndicatorFilter(market.facilitator, market_id=market.pk, **period)
        label = f"{market.reference} — {market.title}"
        return f, f"Bilan du marché {market.reference}{suffix}", f"Marché : {label}"
    if kind == "territory" and org.kind == K.FACILITATOR:
        year = year or datetime.date.today().year
        f = IndicatorFilter.for_year(org, year)
        return f, f"Bilan {year} de {org.name}", f"Territoire de {org.name}, année {year}"
    raise Http404("Bilan indisponible.")
