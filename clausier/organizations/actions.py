"""Writes on organizations and partnerships. Keyword-only, atomic, audited."""

from django.core.exceptions import ValidationError
from django.db import transaction

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.utils.locking import claim

ORGANIZATION_FIELDS = {
    "name",
    "siret",
    "category",
    "address",
    "postal_code",
    "commune",
    "email",
    "phone",
    "website",
}
AGREEMENT_FIELDS = {
    "agreement_reference": "agreement_reference",
    "agreement_start": "start_date",
    "agreement_end": "end_date",
}


def _split(fields: dict) -> tuple[dict, dict]:
    unknown = set(fields) - ORGANIZATION_FIELDS - set(AGREEMENT_FIELDS)
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")
    organization = {k: v for k, v in fields.items() if k in ORGANIZATION_FIELDS}
    agreement = {AGREEMENT_FIELDS[k]: v for k, v in fields.items() if k in AGREEMENT_FIELDS}
    return organization, agreement


@transaction.atomic
def create_buyer(*, facilitator: Organization, by, name: str, **fields) -> tuple[Organization, bool]:
    """Add a buyer and its facilitation agreement with `facilitator`; returns (buyer, created).

    A buyer already known on the platform (same SIRET) is not duplicated: the facilitator is linked to it.
    """
    if not facilitator.is_facilitator:
        raise ValidationError("Seul un facilitateur peut ajouter un donneur d'ordre.")
    values, agreement = _split(fields)
    siret = values.get("siret") or ""
    buyer = Organization.objects.filter(kind=OrganizationKind.BUYER, siret=siret).first() if siret else None
    created = buyer is None
    if created:
        buyer = Organization(kind=OrganizationKind.BUYER, name=name, **values)
        buyer.full_clean(exclude=["slug"])  # the slug is derived from the name on save
        buyer.save()
        record(action=Action.CREATE, obj=buyer, by=by)
    link = Partnership(facilitator=facilitator, partner=buyer, **agreement)
    link.full_clean()
    link.save()
    record(action=Action.CREATE, obj=link, by=by, detail="convention de facilitation")
    return buyer, created


@transaction.atomic
def update_buyer(
    *, buyer: Organization, facilitator: Organization, by, expected_version: int | None = None, **changes
) -> Organization:
    """`expected_version` (the edit form's) refuses a stale submit (EditConflict, nothing saved)."""
    values, agreement = _split(changes)
    link = Partnership.objects.select_for_update().filter(facilitator=facilitator, partner=buyer).first()
    if link is None or buyer.kind != OrganizationKind.BUYER:
        raise ValidationError("Ce donneur d'ordre ne fait pas partie de vos partenaires.")
    claim(buyer, expected_version)
    for obj, new_values in ((buyer, values), (link, agreement)):
        before = snapshot(type(obj)._base_manager.get(pk=obj.pk))
        for key, value in new_values.items():
            setattr(obj, key, value)
        obj.full_clean()
        obj.save()
        changes = diff(before, snapshot(obj))
        if changes:
            record(action=Action.UPDATE, obj=obj, by=by, changes=changes)
    return buyer
