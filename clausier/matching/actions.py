"""Writes of the matching: candidacies (propose, validate, decline), job offers, proposals (shortlist, send,
answer, withdraw, hire).

Keyword-only, atomic, each writes its audit entry (and the transition log of candidacies and proposals).
Refusals raise `Refused` with French sentences and write nothing. `by` is the acting user; its current
organization decides what it may do:

- a prescriber proposes candidacies to a facilitator it is a partner of;
- the facilitator's staff validate or decline them, post offers, build and send shortlists, mark the hires;
- a company posts offers for the lots it was awarded, and answers the proposals sent to it.
"""

import datetime

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.employment.actions import Refused, create_contract
from clausier.matching.models import (
    Candidacy,
    CandidacyCriterion,
    CandidacyStatus,
    EvidenceKind,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
)
from clausier.notifications.delivery import notify
from clausier.notifications.models import Category
from clausier.organizations.access import current_organization
from clausier.organizations.models import OrganizationKind, Partnership
from clausier.participants import actions as participant_actions
from clausier.participants.actions import CriterionLine
from clausier.procurement.models import Award
from clausier.reference.models import Modality
from clausier.utils.locking import check_version, claim

K = OrganizationKind

__all__ = [
    "CriterionLine",
    "Refused",
    "answer_proposal",
    "change_offer_status",
    "create_offer",
    "decline_candidacy",
    "hire",
    "propose_candidacy",
    "send_shortlist",
    "shortlist",
    "update_offer",
    "validate_candidacy",
    "withdraw_proposal",
]


def _clean(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _user(by):
    """`by` as a stored user: None for a script or an anonymous caller."""
    return by if getattr(by, "is_authenticated", False) else None


def _log_transition(row, *, from_status, by, comment=""):
    """One row of the transition log of `row` (a candidacy or a proposal), to its current status."""
    row.transitions.create(
        from_status=from_status,
        to_status=row.status,
        by=_user(by),
        organization=current_organization(by),
        comment=comment,
    )


def _criteria_problems(lines, *, opinion: str, today: datetime.date) -> list[str]:
    problems = []
    codes = [line.criterion.code for line in lines]
    if len(set(codes)) != len(codes):
        problems.append("Un critère ne peut être indiqué qu'une fois.")
    for line in lines:
        if line.evidence_kind not in EvidenceKind.values:
            problems.append(f"Indiquez le justificatif du critère « {line.criterion.label} ».")
        if line.evidence_date and line.evidence_date > today:
            problems.append(
                f"Le justificatif du critère « {line.criterion.label} » ne peut pas être daté dans le futur."
            )
    reasoned = [line.criterion for line in lines if line.criterion.requires_reason]
    if reasoned and not opinion:
        problems.append(f"Le critère « {reasoned[0].label} » exige votre avis motivé.")
    return problems


# --- Candidacies ----------------------------------------------------------------------------------------------

CANDIDACY_FIELDS = (
    "first_name",
    "last_name",
    "birth_name",
    "birth_date",
    "sex",
    "email",
    "phone",
    "address",
    "postal_code",
    "commune",
    "situation",
    "qualification_level",
    "available_from",
    "prescriber_opinion",
    "referent",
    "informed_on",
)
TEXT_FIELDS = {
    "birth_name",
    "email",
    "phone",
    "address",
    "postal_code",
    "situation",
    "prescriber_opinion",
    "referent",
}


def propose_candidacy(
    *, facilitator, by, wished_jobs=(), criteria: list[CriterionLine] = (), **values
) -> Candidacy:
    """A prescriber (the current organization of `by`) proposes a person to `facilitator`, a partner of it.

    `criteria` are the criteria the prescriber can attest, with the kind of evidence: stored as proposed,
    for the facilitator's review; they are never shown to companies or buyers.
    """
    unknown = set(values) - set(CANDIDACY_FIELDS)
    if unknown:
        raise TypeError(f"Champs inconnus : {sorted(unknown)}")
    prescriber = current_organization(by)
    if prescriber is None or prescriber.kind != K.PRESCRIBER:
        raise Refused("Seul un prescripteur peut proposer une candidature.")
    if (
        facilitator.kind != K.FACILITATOR
        or not Partnership.objects.filter(facilitator=facilitator, partner=prescriber).exists()
    ):
        raise Refused("Ce facilitateur ne fait pas partie de vos partenaires.")
    values = {name: _clean(value) for name, value in values.items()}
    today = timezone.localdate()
    problems = []
    for name, message in (
        ("first_name", "Indiquez le prénom."),
        ("last_name", "Indiquez le nom d'usage."),
        ("birth_date", "Indiquez la date de naissance."),
        ("sex", "Indiquez le sexe."),
    ):
        if not values.get(name):
            problems.append(message)
    if values.get("birth_date") and values["birth_date"] > today:
        problems.append("La date de naissance ne peut pas être dans le futur.")
    informed_on = values.get("informed_on")
    if not informed_on:
        problems.append("Confirmez que la personne a été informée du traitement de ses données.")
    elif informed_on > today:
        problems.append("La date d'information de la personne ne peut pas être dans le futur.")
    criteria = list(criteria)
    problems += _criteria_problems(criteria, opinion=values.get("prescriber_opinion") or "", today=today)
    if problems:
        raise Refused(problems)
    wished_jobs = list(wished_jobs)
    with transaction.atomic():
        candidacy = Candidacy(
            facilitator=facilitator,
            prescriber=prescriber,
            proposed_by=_user(by),
        )
        for name, value in values.items():
            setattr(candidacy, name, "" if value is None and name in TEXT_FIELDS else value)
        candidacy.save()
        candidacy.wished_jobs.set(wished_jobs, through_defaults={"facilitator": facilitator})
        CandidacyCriterion.objects.bulk_create(
            CandidacyCriterion(
                facilitator_id=candidacy.facilitator_id,
                candidacy=candidacy,
                criterion=line.criterion,
                evidence_kind=line.evidence_kind,
                evidence_date=line.evidence_date,
            )
            for line in criteria
        )
        _log_transition(candidacy, from_status="", by=by)
        changes = {key: [None, value] for key, value in snapshot(candidacy).items()}
        changes["wished_jobs"] = [None, [job.code for job in wished_jobs]]
        changes["criteria"] = [None, [line.criterion.code for line in criteria]]
        record(
            action=Action.CREATE,
            obj=candidacy,
            by=by,
            changes=changes,
            detail=f"candidature proposée par {prescriber}",
        )
        # The facilitator's members are told once this commits (nothing if it rolls back); no identity
        # in the e-mail, only the link to the candidacy.
        notify(
            category=Category.CANDIDATE_PROPOSED,
            organization=facilitator,
            subject="Clausier : une candidature vous est proposée",
            body=f"{prescriber} vous propose une candidature à examiner.",
            url=reverse("www:candidacy_detail", kwargs={"uuid": candidacy.uuid}),
            key=f"candidacy:{candidacy.uuid}",
        )
    return candidacy


def _lock_candidacy(candidacy) -> Candidacy:
    row = Candidacy.objects.select_for_update().get(pk=candidacy.pk)
    if row.status != CandidacyStatus.PROPOSED:
        raise Refused(f"Cette candidature a déjà été traitée (état : {row.get_status_display().lower()}).")
    return row


def validate_candidacy(
    *,
    candidacy: Candidacy,
    by,
    assessed_on: datetime.date,
    lines: list[CriterionLine],
    participant=None,
    create_anyway: bool = False,
    valid_until: datetime.date | None = None,
    reason: str = "",
    comment: str = "",
) -> Candidacy:
    """Validate a candidacy: link it to `participant` (an existing record of the facilitator, e.g. a duplicate
    found) or create the participant's record from it, and record the eligibility assessment (through the
    participants actions). All or nothing.

    Without `participant`, records that may be the same person refuse the creation unless `create_anyway`.
    """
    participant_actions.check_facilitator_staff(candidacy.facilitator_id, by, about=" sur cette candidature")
    with transaction.atomic():
        row = _lock_candidacy(candidacy)
        if participant is not None:
            if participant.facilitator_id != row.facilitator_id:
                raise Refused("Cette fiche participant n'appartient pas à ce facilitateur.")
            if participant.merged_into_id is not None:
                raise Refused("Cette fiche a été fusionnée dans une autre : rattachez la fiche conservée.")
            linked = True
        else:
            if not create_anyway and row.possible_duplicates():
                raise Refused(
                    "Cette personne a peut-être déjà une fiche : rattachez la candidature à la fiche existante, "
                    "ou confirmez qu'il s'agit d'une autre personne."
                )
            participant = participant_actions.create_participant(
                facilitator=row.facilitator,
                by=by,
                first_name=row.first_name,
                last_name=row.last_name,
                birth_name=row.birth_name,
                birth_date=row.birth_date,
                sex=row.sex,
                email=row.email,
                phone=row.phone,
                address=row.address,
                postal_code=row.postal_code,
                commune=row.commune,
                qualification_level=row.qualification_level,
                situation_at_entry=row.situation,
                entry_date=assessed_on,
                prescriber=row.prescriber,
                referent=row.referent,
                informed_on=row.informed_on,
            )
            linked = False
        participant_actions.validate_eligibility(
            participant=participant,
            by=by,
            assessed_on=assessed_on,
            lines=lines,
            valid_until=valid_until,
            prescriber=row.prescriber,
            reason=reason,
        )
        row.status = CandidacyStatus.VALIDATED
        row.participant = participant
        row.decided_at = timezone.now()
        row.decided_by = by
        row.save(update_fields=["status", "participant", "decided_at", "decided_by", "updated_at"])
        _log_transition(row, from_status=CandidacyStatus.PROPOSED, by=by, comment=comment)
        how = "rattachée à la fiche existante" if linked else "fiche participant créée"
        record(
            action=Action.TRANSITION,
            obj=row,
            by=by,
            changes={
                "status": [CandidacyStatus.PROPOSED, CandidacyStatus.VALIDATED],
                "participant": [None, str(participant.uuid)],
            },
            detail=f"candidature validée : {how} {participant.uuid}",
        )
    return row


def decline_candidacy(*, candidacy: Candidacy, by, reason: str) -> Candidacy:
    """Decline a candidacy with a reason (the prescriber reads it)."""
    participant_actions.check_facilitator_staff(candidacy.facilitator_id, by, about=" sur cette candidature")
    reason = (reason or "").strip()
    if not reason:
        raise Refused("Indiquez le motif du refus : il est communiqué au prescripteur.")
    with transaction.atomic():
        row = _lock_candidacy(candidacy)
        row.status = CandidacyStatus.DECLINED
        row.decline_reason = reason
        row.decided_at = timezone.now()
        row.decided_by = by
        row.save(update_fields=["status", "decline_reason", "decided_at", "decided_by", "updated_at"])
        _log_transition(row, from_status=CandidacyStatus.PROPOSED, by=by, comment=reason)
        record(
            action=Action.TRANSITION,
            obj=row,
            by=by,
            changes={"status": [CandidacyStatus.PROPOSED, CandidacyStatus.DECLINED]},
            detail=f"candidature refusée : {reason}",
        )
    return row


# --- Job offers -----------------------------------------------------------------------------------------------

OFFER_FIELDS = (
    "title",
    "rome_job",
    "description",
    "commune",
    "place",
    "contract_type",
    "start_date",
    "end_date",
    "weekly_hours",
    "positions",
)
REQUIRED_OFFER_FIELDS = {
    "title": "Indiquez l'intitulé du poste.",
    "rome_job": "Choisissez le métier dans le référentiel ROME.",
    "commune": "Indiquez la commune du lieu de travail.",
    "contract_type": "Choisissez le type de contrat.",
    "start_date": "Indiquez la date de début.",
    "weekly_hours": "Indiquez la durée hebdomadaire.",
}


def _check_offer_author(*, facilitator_id, company, by) -> None:
    """The facilitator's staff, or the company itself."""
    org = current_organization(by)
    if org is None:
        raise Refused("Vous n'avez pas le droit de modifier les offres de cette entreprise.")
    if org.kind == K.FACILITATOR and org.pk == facilitator_id:
        return
    if org.kind == K.COMPANY and org.pk == company.pk:
        return
    raise Refused("Vous n'avez pas le droit de modifier les offres de cette entreprise.")


def _set_offer_values(offer, values: dict) -> None:
    for name, value in values.items():
        setattr(offer, name, "" if value is None and name in ("description", "place") else value)


def _offer_problems(values: dict, *, positions_filled: int = 0) -> list[str]:
    problems = [message for name, message in REQUIRED_OFFER_FIELDS.items() if values.get(name) in (None, "")]
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        problems.append("La date de fin doit être postérieure ou égale à la date de début.")
    hours = values.get("weekly_hours")
    if hours is not None and not 0 < hours <= 48:
        problems.append("La durée hebdomadaire doit être comprise entre 0 et 48 heures.")
    positions = values.get("positions")
    if positions is None or positions < 1:
        problems.append("Le nombre de postes est d'au moins 1.")
    elif positions < positions_filled:
        problems.append(
            f"{positions_filled} poste(s) sont déjà pourvus : le nombre de postes ne peut pas être inférieur."
        )
    return problems


def create_offer(*, lot, company, by, publish: bool = False, **values) -> JobOffer:
    """A job offer on `lot` for `company` (awarded the lot), by the facilitator's staff or the company."""
    unknown = set(values) - set(OFFER_FIELDS)
    if unknown:
        raise TypeError(f"Champs inconnus : {sorted(unknown)}")
    _check_offer_author(facilitator_id=lot.facilitator_id, company=company, by=by)
    if not Award.objects.filter(lot=lot, company=company).exists():
        raise Refused(f"{company} n'est pas attributaire du {lot}.")
    values = {name: _clean(value) for name, value in values.items()}
    values.setdefault("positions", 1)
    problems = _offer_problems(values)
    if problems:
        raise Refused(problems)
    with transaction.atomic():
        offer = JobOffer(
            facilitator_id=lot.facilitator_id,
            lot=lot,
            company=company,
            posted_by=_user(by),
            posted_as=current_organization(by),
            status=OfferStatus.OPEN if publish else OfferStatus.DRAFT,
        )
        _set_offer_values(offer, values)
        offer.save()
        record(action=Action.CREATE, obj=offer, by=by, detail=f"offre d'emploi sur le {lot}")
    return offer


def update_offer(*, offer: JobOffer, by, expected_version: int | None = None, **values) -> JobOffer:
    unknown = set(values) - set(OFFER_FIELDS)
    if unknown:
        raise TypeError(f"Champs inconnus : {sorted(unknown)}")
    _check_offer_author(facilitator_id=offer.facilitator_id, company=offer.company, by=by)
    values = {name: _clean(value) for name, value in values.items()}
    with transaction.atomic():
        row = JobOffer.objects.select_for_update().get(pk=offer.pk)
        if row.status not in (OfferStatus.DRAFT, OfferStatus.OPEN):
            raise Refused("Une offre pourvue ou clôturée ne se modifie plus : rouvrez-la d'abord.")
        merged = {name: getattr(row, name) for name in OFFER_FIELDS} | values
        problems = _offer_problems(merged, positions_filled=row.positions_filled)
        if problems:
            raise Refused(problems)
        before = snapshot(row)
        _set_offer_values(row, values)
        changes = diff(before, snapshot(row))
        check_version(row, expected_version)
        if changes:
            claim(row, expected_version)
            row.save()
            record(action=Action.UPDATE, obj=row, by=by, changes=changes, detail="offre d'emploi modifiée")
    return row


OFFER_TRANSITIONS = {
    OfferStatus.DRAFT: {OfferStatus.OPEN, OfferStatus.CLOSED},
    OfferStatus.OPEN: {OfferStatus.CLOSED},
    OfferStatus.CLOSED: {OfferStatus.OPEN},
    OfferStatus.FILLED: {OfferStatus.CLOSED},
}


def change_offer_status(*, offer: JobOffer, to: str, by, comment: str = "") -> JobOffer:
    """Publish (draft → open), close, or reopen an offer (closed → open, while positions are left)."""
    _check_offer_author(facilitator_id=offer.facilitator_id, company=offer.company, by=by)
    with transaction.atomic():
        row = JobOffer.objects.select_for_update().get(pk=offer.pk)
        if to not in OFFER_TRANSITIONS.get(row.status, set()):
            label = dict(OfferStatus.choices).get(to, to)
            raise Refused(
                f"Une offre « {row.get_status_display().lower()} » ne peut pas passer à l'état « {label.lower()} »."
            )
        if to == OfferStatus.OPEN and row.positions_left == 0:
            raise Refused("Tous les postes de cette offre sont pourvus : elle ne peut pas être rouverte.")
        before = row.status
        row.status = to
        row.save(update_fields=["status", "updated_at"])
        record(
            action=Action.TRANSITION,
            obj=row,
            by=by,
            changes={"status": [before, to]},
            detail=comment[:400] or f"offre : {row.get_status_display().lower()}",
        )
    return row


# --- Proposals ------------------------------------------------------------------------------------------------


def _availability(participant) -> datetime.date | None:
    """When the person said they are available: the latest validated candidacy linked to the record."""
    return (
        Candidacy.objects.validated()
        .filter(participant=participant)
        .order_by("-decided_at", "-pk")
        .values_list("available_from", flat=True)
        .first()
    )


def shortlist(*, offer: JobOffer, participant, by, comment: str = "") -> Proposal:
    """Add a participant to the shortlist of `offer` (not shown to the company until sent)."""
    participant_actions.check_facilitator_staff(offer.facilitator_id, by, about=" sur cette offre")
    if participant.facilitator_id != offer.facilitator_id:
        raise Refused("Cette fiche participant n'appartient pas à ce facilitateur.")
    if participant.merged_into_id is not None:
        raise Refused("Cette fiche a été fusionnée dans une autre : proposez la fiche conservée.")
    if not participant.is_eligible_on(offer.start_date):
        raise Refused(
            f"{participant} n'a pas de validation d'éligibilité en cours au {offer.start_date:%d/%m/%Y} "
            "(début du poste) : validez son éligibilité avant de le ou la proposer."
        )
    with transaction.atomic():
        locked = JobOffer.objects.select_for_update().get(pk=offer.pk)
        if locked.status not in (OfferStatus.DRAFT, OfferStatus.OPEN):
            raise Refused("Cette offre est pourvue ou clôturée : on n'y ajoute plus de candidats.")
        existing = Proposal.objects.select_for_update().filter(offer=locked, participant=participant).first()
        if existing is not None and existing.status != ProposalStatus.WITHDRAWN:
            raise Refused(
                f"{participant} figure déjà parmi les candidats de cette offre "
                f"({existing.get_status_display().lower()})."
            )
        available_from = _availability(participant)
        if existing is not None:
            proposal, before = existing, existing.status
            proposal.status = ProposalStatus.SHORTLISTED
            proposal.sent_at = proposal.answered_at = None
            proposal.refusal_reason = ""
            proposal.available_from = available_from
            proposal.shortlisted_by = by
            proposal.save()
            action = Action.TRANSITION
        else:
            proposal = Proposal.objects.create(
                facilitator_id=locked.facilitator_id,
                offer=locked,
                participant=participant,
                available_from=available_from,
                shortlisted_by=by,
            )
            before, action = "", Action.CREATE
        _log_transition(proposal, from_status=before, by=by, comment=comment)
        record(
            action=action,
            obj=proposal,
            by=by,
            changes={"status": [before or None, proposal.status]},
            detail=f"présélection pour l'offre {locked.uuid}",
        )
    return proposal


def send_shortlist(*, offer: JobOffer, by) -> list[Proposal]:
    """Send every shortlisted candidate of `offer` to its company."""
    participant_actions.check_facilitator_staff(offer.facilitator_id, by, about=" sur cette offre")
    with transaction.atomic():
        locked = JobOffer.objects.select_for_update().get(pk=offer.pk)
        if locked.status != OfferStatus.OPEN:
            raise Refused("Publiez l'offre avant d'envoyer la sélection à l'entreprise.")
        proposals = list(
            Proposal.objects.select_for_update()
            .filter(offer=locked, status=ProposalStatus.SHORTLISTED)
            .select_related("participant")
            .order_by("pk")
        )
        if not proposals:
            raise Refused("Aucun candidat présélectionné à envoyer.")
        now = timezone.now()
        for proposal in proposals:
            proposal.status = ProposalStatus.SENT
            proposal.sent_at = now
            proposal.save(update_fields=["status", "sent_at", "updated_at"])
            _log_transition(proposal, from_status=ProposalStatus.SHORTLISTED, by=by)
            record(
                action=Action.TRANSITION,
                obj=proposal,
                by=by,
                changes={"status": [ProposalStatus.SHORTLISTED, ProposalStatus.SENT]},
                detail=f"proposé(e) à {locked.company}",
            )
    return proposals


def _lock_proposal(proposal) -> Proposal:
    return Proposal.objects.select_for_update().select_related("offer", "participant").get(pk=proposal.pk)


def answer_proposal(*, proposal: Proposal, by, accept: bool, reason: str = "") -> Proposal:
    """The company of the offer accepts or refuses (with a reason) a candidate sent to it."""
    org = current_organization(by)
    if org is None or org.kind != K.COMPANY or org.pk != proposal.offer.company_id:
        raise Refused("Seule l'entreprise destinataire peut répondre à cette proposition.")
    reason = (reason or "").strip()
    if not accept and not reason:
        raise Refused("Indiquez le motif du refus : il aide le facilitateur à proposer d'autres candidats.")
    with transaction.atomic():
        row = _lock_proposal(proposal)
        if row.status != ProposalStatus.SENT:
            raise Refused(
                f"Cette proposition n'attend plus de réponse (état : {row.get_status_display().lower()})."
            )
        row.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REFUSED
        row.answered_at = timezone.now()
        row.refusal_reason = "" if accept else reason
        row.save(update_fields=["status", "answered_at", "refusal_reason", "updated_at"])
        _log_transition(row, from_status=ProposalStatus.SENT, by=by, comment=reason)
        record(
            action=Action.TRANSITION,
            obj=row,
            by=by,
            changes={"status": [ProposalStatus.SENT, row.status]},
            detail=("candidat retenu" if accept else f"candidat refusé : {reason}")[:500],
        )
        answer = "a retenu" if accept else "n'a pas retenu"
        notify(
            category=Category.OFFER_ANSWERED,
            organization=row.offer.facilitator,
            subject=f"Clausier : réponse de {org} à une proposition",
            body=f"{org} {answer} le candidat proposé pour l'offre « {row.offer.title} ».",
            url=reverse("www:proposal_detail", kwargs={"uuid": row.uuid}),
            key=f"proposal-answer:{row.uuid}",
        )
    return row


def withdraw_proposal(*, proposal: Proposal, by, comment: str = "") -> Proposal:
    """The facilitator takes a candidate off an offer (shortlisted, sent or accepted, not hired)."""
    participant_actions.check_facilitator_staff(proposal.facilitator_id, by, about=" sur cette proposition")
    with transaction.atomic():
        row = _lock_proposal(proposal)
        if row.status not in (ProposalStatus.SHORTLISTED, ProposalStatus.SENT, ProposalStatus.ACCEPTED):
            raise Refused(
                f"Cette proposition ne peut plus être retirée (état : {row.get_status_display().lower()})."
            )
        before = row.status
        row.status = ProposalStatus.WITHDRAWN
        row.save(update_fields=["status", "updated_at"])
        _log_transition(row, from_status=before, by=by, comment=comment)
        record(
            action=Action.TRANSITION,
            obj=row,
            by=by,
            changes={"status": [before, row.status]},
            detail=f"proposition retirée{' : ' + comment if comment else ''}"[:500],
        )
    return row


DIRECT_HIRE = "direct_hire"


def hire(
    *,
    proposal: Proposal,
    by,
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    contract_type=None,
    override_reason: str = "",
):
    """The company accepted the candidate and hired them: create the contract from the offer (lot, company,
    dates, weekly hours, ROME code) through `employment.actions.create_contract` (which refuses a person not
    eligible at the start date), mark the proposal hired and count the position filled on the offer.

    A direct hire by the company: the employer is the company. Returns the contract.
    """
    participant_actions.check_facilitator_staff(proposal.facilitator_id, by, about=" sur cette proposition")
    modality = Modality.objects.filter(code=DIRECT_HIRE).first()
    if modality is None:
        raise Refused("La modalité « embauche directe » manque dans les données de référence.")
    with transaction.atomic():
        offer = (
            JobOffer.objects.select_for_update()
            .select_related("lot", "company", "rome_job", "contract_type")
            .get(pk=proposal.offer_id)
        )
        row = _lock_proposal(proposal)
        if row.status != ProposalStatus.ACCEPTED:
            raise Refused(
                "L'entreprise n'a pas retenu ce candidat : seule une proposition retenue mène à une embauche "
                f"(état : {row.get_status_display().lower()})."
            )
        if offer.status != OfferStatus.OPEN or offer.positions_left == 0:
            raise Refused(
                f"Cette offre est {offer.get_status_display().lower()} : rouvrez-la ou augmentez le nombre de postes."
            )
        contract = create_contract(
            facilitator=offer.facilitator,
            participant=row.participant,
            lot=offer.lot,
            company=offer.company,
            employer=offer.company,
            modality=modality,
            contract_type=contract_type or offer.contract_type,
            start_date=start_date or offer.start_date,
            # Dates given: taken as they are (an open-ended contract has no end); none: the offer's.
            end_date=end_date if start_date else offer.end_date,
            weekly_hours=offer.weekly_hours,
            rome_code=offer.rome_job.code,
            job_title=offer.title[:200],
            override_reason=override_reason,
            by=by,
        )
        row.status = ProposalStatus.HIRED
        row.contract = contract
        row.save(update_fields=["status", "contract", "updated_at"])
        _log_transition(row, from_status=ProposalStatus.ACCEPTED, by=by)
        record(
            action=Action.TRANSITION,
            obj=row,
            by=by,
            changes={
                "status": [ProposalStatus.ACCEPTED, ProposalStatus.HIRED],
                "contract": [None, str(contract.uuid)],
            },
            detail=f"embauche : contrat {contract.uuid}",
        )
        JobOffer.objects.filter(pk=offer.pk).update(positions_filled=F("positions_filled") + 1)
        offer.refresh_from_db(fields=["positions_filled", "version"])
        changes = {"positions_filled": [offer.positions_filled - 1, offer.positions_filled]}
        if offer.positions_left == 0:
            offer.status = OfferStatus.FILLED
            offer.save(update_fields=["status", "updated_at"])
            changes["status"] = [OfferStatus.OPEN, OfferStatus.FILLED]
        record(
            action=Action.TRANSITION if "status" in changes else Action.UPDATE,
            obj=offer,
            by=by,
            changes=changes,
            detail=f"poste pourvu ({offer.positions_filled}/{offer.positions})",
        )
    return contract
