"""Participants (what each role may see of them) and their outcomes.

The same people as the pages, through the same gate (`Participant.objects.visible_to`): the facilitator's
staff see its participants; a company or an insertion structure the people of its contracts; a prescriber the
people it referred. Two shapes, chosen by role: the staff read the file and its eligibility; partners read the
identity the participants pages show them, never an eligibility criterion (RGPD art. 9/10, domain.md §8).

Like the pages, a list leaves out the records merged into another (a person is listed once), while the
detail of a merged record answers with `merged_into`, the record kept.

Every answer that shows people writes a « consultation » audit entry per person (one INSERT for a page).
"""

import datetime
from typing import Annotated
from uuid import UUID

from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from clausier.api.auth import is_staff, require
from clausier.api.pagination import KeysetPagination
from clausier.audit.log import record_view, record_views
from clausier.organizations.access import get_object_for_user_or_404
from clausier.organizations.models import OrganizationKind as K
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Outcome, Participant

router = Router(tags=["Personnes"])
PEOPLE_VIEW = {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE, K.PRESCRIBER}


# --- Schemas: plain data, built by `partner_row` / `staff_row` (never an ORM object handed to a union) ------


class ParticipantPartnerOut(Schema):
    """A participant as a company, an insertion structure or a prescriber sees it (the participants pages)."""

    id: UUID
    first_name: str
    last_name: str
    birth_date: datetime.date
    commune: str | None = Field(description="Code INSEE de la commune de résidence.")
    merged_into: UUID | None = Field(description="Doublon fusionné : la fiche conservée.")
    updated_at: datetime.datetime


class AssessmentOut(Schema):
    id: UUID
    assessed_on: datetime.date = Field(description="Date de validation de l'éligibilité.")
    valid_until: datetime.date
    criteria: list[str] = Field(description="Codes des critères d'éligibilité retenus (référentiel).")
    prescriber: UUID | None = Field(description="Le prescripteur sur l'avis duquel elle a été validée.")


class ParticipantStaffOut(ParticipantPartnerOut):
    """A participant as its facilitator's staff see it: the file and its eligibility assessments."""

    birth_name: str
    sex: str
    qualification_level: str | None = Field(description="Code du niveau de qualification.")
    situation_at_entry: str
    entry_date: datetime.date | None = Field(description="Date d'entrée dans le dispositif.")
    prescriber: UUID | None
    qpv_status: str = Field(description="Résidence en QPV à l'entrée (vide : à déterminer).")
    qpv_code: str
    eligibility: list[AssessmentOut] = Field(
        description="Validations d'éligibilité, la plus récente d'abord."
    )


# The staff shape first: a partner's row lacks its fields, so it can only be read as the partner shape.
ParticipantOut = Annotated[ParticipantStaffOut | ParticipantPartnerOut, Field(union_mode="left_to_right")]


class ParticipantPage(Schema):
    next_cursor: str | None = Field(
        description="À passer en « cursor » pour la page suivante ; vide à la fin."
    )
    next: str | None = Field(description="L'adresse de la page suivante.")
    results: list[ParticipantOut] = Field(
        description="Pour le personnel du facilitateur, la fiche et l'éligibilité ; pour les partenaires, "
        "l'identité seule, sans aucun critère."
    )


class OutcomeOut(Schema):
    id: UUID = Field(alias="uuid")
    participant: UUID = Field(alias="participant.uuid")
    contract: UUID | None = Field(None, alias="contract.uuid")
    timing: str = Field(description="« end » : à la fin du contrat ; « 6m » : à 6 mois.")
    category: str = Field(alias="category.code", description="Code de la situation de sortie.")
    detail: str
    observed_on: datetime.date
    updated_at: datetime.datetime


# --- Rows ----------------------------------------------------------------------------------------------------


def partner_row(participant) -> dict:
    merged = participant.merged_into
    return {
        "id": participant.uuid,
        "first_name": participant.first_name,
        "last_name": participant.last_name,
        "birth_date": participant.birth_date,
        "commune": participant.commune_id,
        "merged_into": merged.uuid if merged is not None else None,
        "updated_at": participant.updated_at,
    }


def assessment_row(assessment) -> dict:
    return {
        "id": assessment.uuid,
        "assessed_on": assessment.assessed_on,
        "valid_until": assessment.valid_until,
        "criteria": [line.criterion.code for line in assessment.criterion_lines.all()],
        "prescriber": assessment.prescriber.uuid if assessment.prescriber_id else None,
    }


def staff_row(participant) -> dict:
    level, prescriber = participant.qualification_level, participant.prescriber
    return {
        **partner_row(participant),
        "birth_name": participant.birth_name,
        "sex": participant.sex,
        "qualification_level": level.code if level is not None else None,
        "situation_at_entry": participant.situation_at_entry,
        "entry_date": participant.entry_date,
        "prescriber": prescriber.uuid if prescriber is not None else None,
        "qpv_status": participant.qpv_status,
        "qpv_code": participant.qpv_code,
        "eligibility": [assessment_row(a) for a in participant.assessments.all()],
    }


def people_of(request):
    """The participants the caller may see, with what its shape reads in a fixed number of queries."""
    rows = Participant.objects.visible_to(request.auth).select_related("merged_into")
    if not is_staff(request):
        return rows  # nothing else is read: no assessment is even fetched for a partner
    assessments = (
        EligibilityAssessment.objects.visible_to(request.auth)
        .select_related("prescriber")
        .prefetch_related(
            Prefetch("criterion_lines", queryset=AssessmentCriterion.objects.select_related("criterion"))
        )
        .order_by("-assessed_on", "-pk")
    )
    return rows.select_related("qualification_level", "prescriber").prefetch_related(
        Prefetch("assessments", queryset=assessments)
    )


def shaped(request, participants) -> list[dict]:
    row = staff_row if is_staff(request) else partner_row
    return [row(p) for p in participants]


# --- Endpoints -----------------------------------------------------------------------------------------------


@router.get(
    "/participants",
    response=ParticipantPage,
    summary="Participants (la fiche et l'éligibilité pour le facilitateur ; l'identité pour les partenaires)",
)
def participants(request, page: Query[KeysetPagination.Input]):
    require(request, kinds=PEOPLE_VIEW)
    result = KeysetPagination().paginate_queryset(people_of(request).active_records(), page, request)
    people = result["results"]
    record_views(people, by=request.auth, detail="liste des participants")
    return {**result, "results": shaped(request, people)}


@router.get("/participants/{participant_id}", response=ParticipantOut, summary="Un participant")
def participant(request, participant_id: UUID):
    require(request, kinds=PEOPLE_VIEW)
    found = get_object_for_user_or_404(people_of(request), request.auth, uuid=participant_id)
    record_view(obj=found, by=request.auth, detail="fiche du participant")
    return shaped(request, [found])[0]


@router.get("/outcomes", response=list[OutcomeOut], summary="Sorties des participants (facilitateur)")
@paginate(KeysetPagination)
def outcomes(request):
    require(request, staff_only=True)
    return Outcome.objects.visible_to(request.auth).select_related("participant", "contract", "category")
