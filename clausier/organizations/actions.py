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
    "naf_code",
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


# "un donneur d'ordre", "Ce donneur d'ordre" … for the messages, per kind of partner.
PARTNER_WORDS = {
    OrganizationKind.BUYER: ("un donneur d'ordre", "Ce donneur d'ordre"),
    OrganizationKind.COMPANY: ("une entreprise", "Cette entreprise"),
    OrganizationKind.INSERTION_STRUCTURE: ("une structure d'insertion", "Cette structure d'insertion"),
    OrganizationKind.PRESCRIBER: ("un prescripteur", "Ce prescripteur"),
}


@transaction.atomic
def create_partner(
    *, facilitator: Organization, by, kind: str, name: str, **fields
) -> tuple[Organization, bool]:
    """Add an organization of `kind` to `facilitator`'s partners (a `Partnership`: for a buyer, the
    facilitation agreement); returns (organization, created).

    An organization already known on the platform (same kind and SIRET) is not duplicated: the facilitator is
    linked to it and its values are left as they are. Companies, structures and prescribers may work with
    several facilitators, each through its own link (see `access.organizations_visible_to`).
    """
    if kind not in PARTNER_WORDS:
        raise ValidationError(f"Type de partenaire inconnu : {kind}.")
    if not facilitator.is_facilitator:
        raise ValidationError(f"Seul un facilitateur peut ajouter {PARTNER_WORDS[kind][0]}.")
    values, agreement = _split(fields)
    siret = values.get("siret") or ""
    partner = Organization.objects.filter(kind=kind, siret=siret).first() if siret else None
    created = partner is None
    if created:
        partner = Organization(kind=kind, name=name, **values)
        partner.full_clean(exclude=["slug"])  # the slug is derived from the name on save
        partner.save()
        record(action=Action.CREATE, obj=partner, by=by)
    elif Partnership.objects.filter(facilitator=facilitator, partner=partner).exists():
        raise ValidationError(f"{PARTNER_WORDS[kind][1]} fait déjà partie de vos partenaires ({partner}).")
    link = Partnership(facilitator=facilitator, partner=partner, **agreement)
    link.full_clean()
    link.save()
    detail = "convention de facilitation" if kind == OrganizationKind.BUYER else "partenariat"
    record(action=Action.CREATE, obj=link, by=by, detail=detail)
    return partner, created


@transaction.atomic
def update_partner(
    *, partner: Organization, facilitator: Organization, by, expected_version: int | None = None, **changes
) -> Organization:
    """Change a partner's values (and its link's); one audit entry per changed record, none if nothing
    changed. `expected_version` (the edit form's) refuses a stale submit (EditConflict, nothing saved)."""
    values, agreement = _split(changes)
    link = Partnership.objects.select_for_update().filter(facilitator=facilitator, partner=partner).first()
    if link is None or partner.kind not in PARTNER_WORDS:
        words = PARTNER_WORDS.get(partner.kind, ("", "Cette organisation"))
        raise ValidationError(f"{words[1]} ne fait pas partie de vos partenaires.")
    claim(partner, expected_version)
    for obj, new_values in ((partner, values), (link, agreement)):
        before = snapshot(type(obj)._base_manager.get(pk=obj.pk))
        for key, value in new_values.items():
            setattr(obj, key, value)
        obj.full_clean()
        obj.save()
        changes = diff(before, snapshot(obj))
        if changes:
            record(action=Action.UPDATE, obj=obj, by=by, changes=changes)
    return partner


def create_buyer(*, facilitator: Organization, by, name: str, **fields) -> tuple[Organization, bool]:
    """Add a buyer and its facilitation agreement with `facilitator`; returns (buyer, created).

    A buyer already known on the platform (same SIRET) is not duplicated: the facilitator is linked to it.
    """
    return create_partner(facilitator=facilitator, by=by, kind=OrganizationKind.BUYER, name=name, **fields)


def update_buyer(
    *, buyer: Organization, facilitator: Organization, by, expected_version: int | None = None, **changes
) -> Organization:
    """`expected_version` (the edit form's) refuses a stale submit (EditConflict, nothing saved)."""
    if buyer.kind != OrganizationKind.BUYER:
        raise ValidationError("Ce donneur d'ordre ne fait pas partie de vos partenaires.")
    return update_partner(
        partner=buyer, facilitator=facilitator, by=by, expected_version=expected_version, **changes
    )
