"""The one access gate.

Every queryset a view or an API endpoint reaches goes through `scope(queryset, user)` (exposed as
`Model.objects.visible_to(user)`) and every object through `get_object_for_user_or_404`.
The user's *current organization* (set by `CurrentOrganizationMiddleware`) decides:

- facilitator staff see the rows of their own facilitator (the tenant), nothing else;
- a buyer sees its operations, markets, lots and clauses: aggregates, never people;
- a company sees the lots it was awarded, and the contracts and people working on its obligations;
- an insertion structure sees the contracts it employs and their people;
- a prescriber sees the participants it referred, and the candidacies it proposed (matching);
- a company sees its job offers and the proposals of candidates sent to it (matching);
- the directory of insertion structures (`directory_structures_visible_to`) is for facilitator staff and
  companies, and a company sees the structures its facilitator proposed to it.

Anything not listed is invisible (an empty queryset), so a new model is private by default.
Eligibility assessments and outcomes are visible to facilitator staff only; the audit log
(`audit_entries_visible_to`) to the facilitator's administrators only.
"""

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from clausier.organizations.models import Membership, Organization, OrganizationKind, Partnership

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
    if model_label == "organizations.structuresuggestion":
        # Structures the facilitator proposed to a company: the company follows them up.
        return {K.COMPANY: lambda: Q(company=org)}.get(kind, lambda: None)()
    if model_label == "participants.participant":
        if kind in (K.COMPANY, K.INSERTION_STRUCTURE):
            return Q(pk__in=contracts().values("participant_id"))
        if kind == K.PRESCRIBER:
            return Q(prescriber=org)
    # Matching (issue 8): a prescriber sees the candidacies it proposed; a company its job offers and the
    # proposals sent to it (a shortlist not sent yet stays with the facilitator).
    if model_label == "matching.candidacy" and kind == K.PRESCRIBER:
        return Q(prescriber=org)
    if model_label == "matching.joboffer" and kind == K.COMPANY:
        return Q(company=org)
    if model_label == "matching.proposal" and kind == K.COMPANY:
        return Q(offer__company=org, sent_at__isnull=False)
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


def directory_structures_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The directory of insertion structures (business details: contact, activity, commune, no people).

    Facilitator staff see their facilitator's active structures; a company sees those of every facilitator it
    works with (to find a partner for a mise à disposition or subcontracting); nobody else sees the directory.
    """
    queryset = Organization.objects.all() if queryset is None else queryset
    queryset = queryset.filter(kind=K.INSERTION_STRUCTURE, is_active=True)
    org = current_organization(user)
    if org is None or org.kind not in (K.FACILITATOR, K.COMPANY):
        return queryset.none()
    if org.kind == K.FACILITATOR:
        facilitators = [org.pk]
    else:
        facilitators = Partnership.objects.filter(partner=org).values("facilitator_id")
    return queryset.filter(
        pk__in=Partnership.objects.filter(facilitator__in=facilitators).values("partner_id")
    )


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


# --- Members of the current organization (issue 8) -----------------------------------------------------------
# Any organization's administrators (facilitator, buyer, company, structure, prescriber) manage its members and
# invitations; anyone else reaches none of them (404). Memberships appear in URLs as a signed key, never as
# a bare id (`membership_key`).

MEMBERSHIP_KEY_SALT = "clausier.organizations.membership"


def is_organization_admin(user) -> bool:
    """An administrator of the organization `user` currently acts for, whatever its kind."""
    membership = getattr(user, "current_membership", None)
    return current_organization(user) is not None and membership is not None and membership.is_admin


def members_visible_to(user) -> QuerySet:
    """The memberships (active or not) of the current organization, for its administrators only."""
    if not is_organization_admin(user):
        return Membership.objects.none()
    return Membership.objects.filter(organization=current_organization(user))


def invitations_visible_to(user) -> QuerySet:
    """The invitations of the current organization, for its administrators only."""
    from clausier.accounts.models import Invitation

    if not is_organization_admin(user):
        return Invitation.objects.none()
    return Invitation.objects.filter(organization=current_organization(user))


def membership_key(membership) -> str:
    from django.core.signing import Signer

    return Signer(salt=MEMBERSHIP_KEY_SALT).sign(str(membership.pk))


def get_membership_for_user_or_404(user, key: str):
    """The membership of the current organization designated by `key`, for its administrators, or 404."""
    from django.core.signing import BadSignature, Signer

    try:
        pk = int(Signer(salt=MEMBERSHIP_KEY_SALT).unsign(key))
        return members_visible_to(user).select_related("user", "organization").get(pk=pk)
    except (BadSignature, ValueError, Membership.DoesNotExist) as exc:
        raise Http404("Aucun membre ne correspond à votre demande.") from exc


def get_invitation_for_user_or_404(user, uuid):
    from clausier.accounts.models import Invitation

    try:
        return invitations_visible_to(user).select_related("organization").get(uuid=uuid)
    except (Invitation.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("Aucune invitation ne correspond à votre demande.") from exc
