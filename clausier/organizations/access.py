"""The one access gate.

Every queryset a view or an API endpoint reaches goes through `scope(queryset, user)` (exposed as
`Model.objects.visible_to(user)`) and every object through `get_object_for_user_or_404`.
The user's *current organization* (set by `CurrentOrganizationMiddleware`) decides:

- facilitator staff see the rows of their own facilitator (the tenant), nothing else;
- a buyer sees its operations, markets, lots and clauses: aggregates, never people;
- a company sees the lots it was awarded, and the contracts and people working on its obligations;
- an insertion structure sees the contracts it employs and their people;
- a prescriber sees the participants it referred.

Anything not listed is invisible (an empty queryset), so a new model is private by default.
Eligibility assessments and outcomes are visible to facilitator staff only; the audit log
(`audit_entries_visible_to`) to the facilitator's administrators only.
"""

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from clausier.organizations.models import Membership, Organization, OrganizationKind

K = OrganizationKind


def current_organization(user) -> Organization | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "current_organization", None)


def is_facilitator_staff(user) -> bool:
    org = current_organization(user)
    return org is not None and org.kind == K.FACILITATOR


def is_facilitator_admin(user) -> bool:
    membership = getattr(user, "current_membership", None)
    return is_facilitator_staff(user) and membership is not None and membership.is_admin


def _partner_rules(model_label: str, org: Organization) -> Q | None:
    """Rows a non-facilitator organization may see, per model; None means nothing."""
    from clausier.employment.models import Contract
    from clausier.procurement.models import Award

    def awarded_lots():
        return Award.objects.filter(company=org).values("lot_id")

    def contracts():
        if org.kind == K.COMPANY:
            return Contract.objects.filter(Q(company=org) | Q(employer=org))
        return Contract.objects.filter(employer=org)

    kind = org.kind
    if model_label == "procurement.operation":
        return {K.BUYER: lambda: Q(buyer=org)}.get(kind, lambda: None)()
    if model_label == "procurement.market":
        return {
            K.BUYER: lambda: Q(buyer=org),
            K.COMPANY: lambda: Q(pk__in=Award.objects.filter(company=org).values("lot__market_id")),
        }.get(kind, lambda: None)()
    if model_label == "procurement.lot":
        return {K.BUYER: lambda: Q(market__buyer=org), K.COMPANY: lambda: Q(pk__in=awarded_lots())}.get(
            kind, lambda: None
        )()
    if model_label == "procurement.clause":
        return {
            K.BUYER: lambda: Q(lot__market__buyer=org),
            K.COMPANY: lambda: Q(lot_id__in=awarded_lots()),
        }.get(kind, lambda: None)()
    if model_label == "procurement.award":
        return {K.BUYER: lambda: Q(lot__market__buyer=org), K.COMPANY: lambda: Q(company=org)}.get(
            kind, lambda: None
        )()
    if model_label == "employment.contract" and kind in (K.COMPANY, K.INSERTION_STRUCTURE):
        return Q(pk__in=contracts().values("pk"))
    if model_label == "employment.hoursrecord" and kind in (K.COMPANY, K.INSERTION_STRUCTURE):
        return Q(contract_id__in=contracts().values("pk"))
    if model_label == "employment.monthlystatement" and kind in (K.COMPANY, K.INSERTION_STRUCTURE):
        return Q(employer=org)  # an employer sees its own monthly statements
    if model_label == "participants.participant":
        if kind in (K.COMPANY, K.INSERTION_STRUCTURE):
            return Q(pk__in=contracts().values("participant_id"))
        if kind == K.PRESCRIBER:
            return Q(prescriber=org)
    return None


def scope(queryset: QuerySet, user) -> QuerySet:
    """Restrict a queryset of tenant-owned rows to what `user` may see in its current organization."""
    org = current_organization(user)
    if org is None:
        return queryset.none()
    if org.kind == K.FACILITATOR:
        return queryset.filter(facilitator=org)
    rule = _partner_rules(queryset.model._meta.label_lower, org)
    if rule is None:
        return queryset.none()
    return queryset.filter(rule)


def organizations_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """A facilitator sees itself and its partners; any other organization sees itself and its facilitators."""
    queryset = Organization.objects.all() if queryset is None else queryset
    org = current_organization(user)
    if org is None:
        return queryset.none()
    if org.kind == K.FACILITATOR:
        return queryset.filter(Q(pk=org.pk) | Q(partnerships__facilitator=org)).distinct()
    return queryset.filter(Q(pk=org.pk) | Q(partner_links__partner=org)).distinct()


def get_object_for_user_or_404(queryset_or_model, user, **lookup):
    """The object matching `lookup` among those `user` may see, or 404 (never 403: no existence leak)."""
    queryset = (
        queryset_or_model if isinstance(queryset_or_model, QuerySet) else queryset_or_model.objects.all()
    )
    if queryset.model is Organization or issubclass(queryset.model, Organization):
        queryset = organizations_visible_to(user, queryset)
    else:
        queryset = scope(queryset, user)
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("Aucun objet ne correspond à votre demande.") from exc


def audit_entries_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The audit log: a facilitator's administrators read their facilitator's entries (whoever wrote them:
    staff or partners); nobody else reads any, not even the facilitator's other members."""
    if queryset is None:
        from clausier.audit.models import AuditEntry

        queryset = AuditEntry.objects.all()
    if not is_facilitator_admin(user):
        return queryset.none()
    return queryset.filter(facilitator_id=current_organization(user).pk)


def memberships_of(user):
    return (
        Membership.objects.active()
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )
