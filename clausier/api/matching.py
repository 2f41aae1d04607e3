"""Candidacies: a prescriber proposes people to a facilitator and follows their status; the facilitator's staff
read the candidacies proposed to them.

A candidacy is proposed through the same action as the page (`clausier.matching.actions.propose_candidacy`),
with the fields of the page's form (`clausier.www.matching.forms.CandidacyForm`), each checked and refused by
name before anything is written. The criteria the prescriber attests are written, never read back here: the
facilitator reviews them in its pages.
"""

import datetime
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from clausier.accounts.models import ApiScope
from clausier.api.auth import is_staff, require
from clausier.api.pagination import KeysetPagination
from clausier.api.problems import Problem
from clausier.audit.log import record_views
from clausier.geo.models import Commune
from clausier.matching import actions
from clausier.matching.models import SITUATION_CHOICES, Candidacy, CandidacyStatus, EvidenceKind
from clausier.organizations.access import organizations_visible_to
from clausier.organizations.models import OrganizationKind as K
from clausier.reference.models import EligibilityCriterion, QualificationLevel, RomeJob

router = Router(tags=["Candidatures"])
CANDIDACIES_VIEW = {K.FACILITATOR, K.PRESCRIBER}

Situation = Literal[("", *(code for code, _ in SITUATION_CHOICES))]  # type: ignore[valid-type]
Evidence = Literal[tuple(EvidenceKind.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(CandidacyStatus.values)]  # type: ignore[valid-type]


class CandidacyOut(Schema):
    id: UUID = Field(alias="uuid")
    facilitator: UUID = Field(
        alias="facilitator.uuid", description="Le facilitateur à qui elle est proposée."
    )
    prescriber: UUID = Field(alias="prescriber.uuid")
    first_name: str
    last_name: str
    birth_date: datetime.date
    status: str = Field(description="« proposed » (à examiner), « validated » ou « declined ».")
    available_from: datetime.date | None
    wished_jobs: list[str] = Field(description="Codes ROME des métiers recherchés.")
    referent: str = Field(description="Le conseiller référent chez le prescripteur.")
    created_at: datetime.datetime
    decided_at: datetime.datetime | None
    decline_reason: str = Field(description="Motif du refus, communiqué au prescripteur.")
    participant: UUID | None = Field(
        None, description="La fiche participant d'une candidature validée, quand vous la voyez."
    )
    updated_at: datetime.datetime

    @staticmethod
    def resolve_wished_jobs(candidacy):
        return [job.code for job in candidacy.wished_jobs.all()]

    @staticmethod
    def resolve_participant(candidacy, context):
        """The record of a validated candidacy, for whoever sees that record (`_partner_rules`): the staff, or
        the prescriber the record names; a prescriber whose candidacy was linked to a record another referred
        learns nothing of it (the page does not show it either)."""
        person = candidacy.participant
        if person is None:
            return None
        request = context["request"]
        if is_staff(request) or person.prescriber_id == request.auth.current_organization.pk:
            return person.uuid
        return None


class CriterionIn(Schema):
    model_config = {"extra": "forbid"}

    criterion: str = Field(description="Code du critère d'éligibilité (référentiel), ex. « deld ».")
    evidence_kind: Evidence = Field(description="Le justificatif que le prescripteur peut produire.")
    evidence_date: datetime.date | None = None


class CandidacyIn(Schema):
    """The page's candidacy form: identity, contact, pathway, the criteria the prescriber attests."""

    model_config = {"extra": "forbid"}

    facilitator: UUID | None = Field(
        None, description="Le facilitateur à qui proposer : obligatoire si vous travaillez avec plusieurs."
    )
    first_name: str = Field(max_length=120)
    last_name: str = Field(max_length=120, description="Nom d'usage.")
    birth_name: str = Field("", max_length=120, description="Nom de naissance, s'il diffère.")
    birth_date: datetime.date
    sex: Literal["F", "M"]
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=30)
    address: str = Field("", max_length=255)
    postal_code: str = Field("", max_length=5)
    commune: str | None = Field(None, description="Code INSEE de la commune.")
    situation: Situation = ""
    qualification_level: str | None = Field(None, description="Code du niveau de qualification.")
    available_from: datetime.date | None = None
    wished_jobs: list[str] = Field([], max_length=50, description="Codes ROME des métiers recherchés.")
    referent: str = Field("", max_length=200, description="Le conseiller qui suit la personne chez vous.")
    prescriber_opinion: str = Field(
        "",
        max_length=2000,
        description="Avis motivé : obligatoire pour le critère « autre, sur avis motivé ».",
    )
    informed: bool = Field(
        description="La personne a été informée du traitement de ses données par le facilitateur (vrai)."
    )
    criteria: list[CriterionIn] = Field(
        [], max_length=50, description="Les critères que vous pouvez attester."
    )


def candidacies_of(request):
    return Candidacy.objects.visible_to(request.auth).select_related(
        "facilitator", "prescriber", "participant"
    )


class CandidacyPagination(KeysetPagination):
    """The page, and one « consultation » audit entry per candidate shown, in one INSERT (like the
    participants' list: a program reads people in bulk)."""

    def paginate_queryset(self, queryset, pagination, request, **params):
        result = super().paginate_queryset(queryset, pagination, request, **params)
        record_views(result["results"], by=request.auth, detail="liste des candidatures")
        return result


@router.get("/candidacies", response=list[CandidacyOut], summary="Candidatures (proposées ou reçues)")
@paginate(CandidacyPagination)
def candidacies(request, status: StatusCode | None = None):
    require(request, kinds=CANDIDACIES_VIEW)
    rows = candidacies_of(request).prefetch_related("wished_jobs")
    return rows.filter(status=status) if status else rows


class FieldErrors:
    """The refusals of the endpoint's own checks, each named by its path in the JSON body (`body.commune`,
    `body.criteria.2.criterion`), raised together as one 422."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, field: str, message: str) -> None:
        self.rows.append({"field": f"body.{field}", "message": message})

    def raise_any(self) -> None:
        if self.rows:
            detail = "Données invalides : " + " ; ".join(
                f"{e['field']} : {e['message']}" for e in self.rows[:5]
            )
            raise Problem(422, detail, self.rows)


def chosen_facilitator(request, wanted: UUID | None, errors: FieldErrors):
    facilitators = list(organizations_visible_to(request.auth).filter(kind=K.FACILITATOR).order_by("name"))
    if wanted is not None:
        found = next((f for f in facilitators if f.uuid == wanted), None)
        if found is None:
            errors.add("facilitator", "facilitateur inconnu ou qui n'est pas votre partenaire")
        return found
    if len(facilitators) == 1:
        return facilitators[0]
    if not facilitators:
        errors.add("facilitator", "vous ne travaillez avec aucun facilitateur")
    else:
        names = ", ".join(f"{f.name} ({f.uuid})" for f in facilitators)
        errors.add(
            "facilitator",
            f"ce champ est obligatoire : vous travaillez avec plusieurs facilitateurs ({names})",
        )
    return None


TEXT_FIELDS = (
    "first_name",
    "last_name",
    "birth_name",
    "email",
    "phone",
    "address",
    "postal_code",
    "referent",
    "prescriber_opinion",
)


def checked_person(body: CandidacyIn, errors: FieldErrors, today: datetime.date) -> dict:
    """Identity and contact, refused as the page's form refuses them (the action cleans the spaces)."""
    text = {name: getattr(body, name).strip() for name in TEXT_FIELDS}
    for name, message in (("first_name", "indiquez le prénom"), ("last_name", "indiquez le nom d'usage")):
        if not text[name]:
            errors.add(name, message)
    if body.birth_date > today:
        errors.add("birth_date", "la date de naissance ne peut pas être dans le futur")
    if not body.informed:
        errors.add("informed", "confirmez que la personne a été informée du traitement de ses données")
    if text["email"]:
        try:
            validate_email(text["email"])
        except DjangoValidationError:
            errors.add("email", "adresse e-mail invalide")
    if text["postal_code"] and not (len(text["postal_code"]) == 5 and text["postal_code"].isdigit()):
        errors.add("postal_code", "le code postal compte 5 chiffres")
    return {
        **text,
        "birth_date": body.birth_date,
        "sex": body.sex,
        "situation": body.situation,
        "available_from": body.available_from,
        "informed_on": today,  # the page's box is ticked the day it is sent
    }


def checked_references(body: CandidacyIn, errors: FieldErrors) -> dict:
    """The commune, the qualification level and the ROME jobs, by code."""
    commune = level = None
    if body.commune:
        commune = Commune.objects.filter(insee_code=body.commune.strip().upper()).first()
        if commune is None:
            errors.add("commune", "aucune commune ne porte ce code INSEE")
    if body.qualification_level:
        level = QualificationLevel.objects.active().filter(code=body.qualification_level).first()
        if level is None:
            errors.add("qualification_level", "niveau de qualification inconnu")
    codes = [code.strip().upper() for code in body.wished_jobs]
    jobs = {job.code: job for job in RomeJob.objects.filter(code__in=codes)}
    for index, code in enumerate(codes):
        if code not in jobs:
            errors.add(f"wished_jobs.{index}", f"métier inconnu du référentiel ROME : {code}")
    return {
        "commune": commune,
        "qualification_level": level,
        "wished_jobs": [jobs[code] for code in codes if code in jobs],
    }


def checked_criteria(body: CandidacyIn, errors: FieldErrors, today: datetime.date) -> list:
    """The criteria the prescriber attests, each known, once, with evidence not dated in the future, and the
    reasoned opinion a criterion may require."""
    wanted = [line.criterion for line in body.criteria]
    known = {c.code: c for c in EligibilityCriterion.objects.active().filter(code__in=wanted)}
    lines, seen = [], set()
    for index, line in enumerate(body.criteria):
        criterion = known.get(line.criterion)
        if criterion is None:
            errors.add(f"criteria.{index}.criterion", f"critère d'éligibilité inconnu : {line.criterion}")
            continue
        if criterion.code in seen:
            errors.add(f"criteria.{index}.criterion", "un critère ne peut être indiqué qu'une fois")
        seen.add(criterion.code)
        if line.evidence_date and line.evidence_date > today:
            errors.add(
                f"criteria.{index}.evidence_date", "le justificatif ne peut pas être daté dans le futur"
            )
        if criterion.requires_reason and not body.prescriber_opinion.strip():
            errors.add("prescriber_opinion", f"le critère « {criterion.label} » exige votre avis motivé")
        lines.append(actions.CriterionLine(criterion, line.evidence_kind, line.evidence_date))
    return lines


@router.post(
    "/candidacies",
    response={201: CandidacyOut},
    summary="Proposer une candidature à un facilitateur (prescripteur)",
)
def propose(request, payload: CandidacyIn):
    require(request, kinds={K.PRESCRIBER}, scope=ApiScope.CANDIDACIES)
    errors, today = FieldErrors(), timezone.localdate()
    facilitator = chosen_facilitator(request, payload.facilitator, errors)
    values = {**checked_person(payload, errors, today), **checked_references(payload, errors)}
    criteria = checked_criteria(payload, errors, today)
    errors.raise_any()  # nothing is written unless every field is right
    candidacy = actions.propose_candidacy(
        facilitator=facilitator, by=request.auth, criteria=criteria, **values
    )
    return Status(201, candidacies_of(request).prefetch_related("wished_jobs").get(pk=candidacy.pk))
