"""Structures of the directory proposed to companies: writes (keyword-only, atomic, audited) and reads.

The facilitator's staff propose an insertion structure to a company awarded a lot with a clause, for a mise à
disposition or subcontracting (`propose_structure`); the company, or the staff for it, says what came of it
(`follow_up_suggestion`: contacted, retained, not retained). A simple record: nothing else depends on it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.organizations.access import current_organization
from clausier.organizations.models import (
    OrganizationKind,
    Partnership,
    StructureSuggestion,
    SuggestionModality,
    SuggestionStatus,
)

K = OrganizationKind
FOLLOW_UPS = (SuggestionStatus.CONTACTED, SuggestionStatus.RETAINED, SuggestionStatus.NOT_RETAINED)
FOLLOW_UP_CHOICES = [(status.value, status.label) for status in FOLLOW_UPS]  # the buttons of the pages


@transaction.atomic
def propose_structure(*, award, structure, modality: str, note: str = "", by) -> StructureSuggestion:
    """Propose `structure` to the company of `award` on its lot. Refused (ValidationError, French) unless `by`
    acts for the lot's facilitator, the lot has a clause and the structure is one of the facilitator's."""
    lot, company = award.lot, award.company
    facilitator_id = lot.facilitator_id
    org = current_organization(by)
    if org is None or org.kind != K.FACILITATOR or org.pk != facilitator_id:
        raise ValidationError("Seule l'équipe du facilitateur du lot peut proposer une structure.")
    problems = []
    if modality not in SuggestionModality.values:
        problems.append("Choisissez la modalité : mise à disposition ou sous-traitance.")
    if structure.kind != K.INSERTION_STRUCTURE or not structure.is_active:
        problems.append(f"{structure} n'est pas une structure d'insertion active.")
    elif not Partnership.objects.filter(facilitator_id=facilitator_id, partner=structure).exists():
        problems.append(f"{structure} ne fait pas partie de vos structures partenaires.")
    if not hasattr(lot, "clause"):
        problems.append(f"Le lot {lot.number} n'a pas de clause d'insertion.")
    if (
        not problems
        and StructureSuggestion.objects.filter(
            lot=lot, company=company, structure=structure, modality=modality
        ).exists()
    ):
        problems.append(
            f"{structure} a déjà été proposée à {company} pour le lot {lot.number} "
            f"({SuggestionModality(modality).label.lower()})."
        )
    if problems:
        raise ValidationError(problems)
    suggestion = StructureSuggestion.objects.create(
        facilitator_id=facilitator_id,
        lot=lot,
        company=company,
        structure=structure,
        modality=modality,
        note=note.strip()[:2000],
        proposed_by=by if getattr(by, "is_authenticated", False) else None,
    )
    record(action=Action.CREATE, obj=suggestion, by=by, detail=f"lot {lot.number} — {lot.market.reference}")
    return suggestion


@transaction.atomic
def follow_up_suggestion(*, suggestion: StructureSuggestion, status: str, by) -> StructureSuggestion:
    """Record what came of a proposal: for the company it was made to, or the facilitator's staff."""
    org = current_organization(by)
    allowed = org is not None and (
        org.pk == suggestion.company_id or (org.kind == K.FACILITATOR and org.pk == suggestion.facilitator_id)
    )
    if not allowed:
        raise ValidationError("Vous ne pouvez pas donner suite à cette proposition.")
    if status not in FOLLOW_UPS:
        raise ValidationError("Suite inconnue : choisissez « contacté », « retenu » ou « non retenu ».")
    locked = StructureSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    before = locked.status
    if before == status:
        return locked
    locked.status, locked.status_changed_at = status, timezone.now()
    locked.save(update_fields=["status", "status_changed_at", "updated_at"])
    record(action=Action.TRANSITION, obj=locked, by=by, changes={"status": [before, status]})
    return locked


def suggestions_for(queryset):
    """Suggestions with what their pages show (structure, company, lot and market), newest first."""
    return queryset.select_related(
        "structure__commune", "structure__category", "company", "lot__market"
    ).order_by("-created_at", "-pk")
