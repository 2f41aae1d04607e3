"""Matching actions: each transition logged and audited, refusals in French that write nothing, the hire
through `create_contract`, notifications to the facilitator on commit."""

import datetime

import pytest

from clausier.audit.models import AuditEntry
from clausier.employment.models import Contract
from clausier.matching import actions
from clausier.matching.actions import CriterionLine, Refused
from clausier.matching.models import (
    Candidacy,
    CandidacyStatus,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
)
from clausier.participants.models import EligibilityAssessment, Participant
from clausier.reference.models import ContractType, EligibilityCriterion
from tests.factories import (
    CandidacyFactory,
    EligibilityAssessmentFactory,
    JobOfferFactory,
    ParticipantFactory,
    ProposalFactory,
    acting,
    ref,
    rome_job,
)

pytestmark = pytest.mark.django_db


def staff(w):
    return acting(w.users["facilitator_member"])


def counts():
    """The rows a matching refusal must not write."""
    return (
        Candidacy.objects.count(),
        Participant.objects.count(),
        EligibilityAssessment.objects.count(),
        JobOffer.objects.count(),
        Proposal.objects.count(),
        Contract.objects.count(),
        AuditEntry.objects.count(),
    )


def deld(kind="france_travail", day=None):
    return CriterionLine(ref(EligibilityCriterion, "deld"), kind, day)


# --- Candidacies ----------------------------------------------------------------------------------------------


def test_a_proposed_candidacy_logs_audits_and_notifies_the_facilitator_on_commit(
    world_a, mailoutbox, django_capture_on_commit_callbacks
):
    w = world_a
    with django_capture_on_commit_callbacks(execute=True):
        candidacy = actions.propose_candidacy(
            facilitator=w.facilitator,
            by=acting(w.users["prescriber"]),
            first_name="Léa",
            last_name="Martin",
            birth_date=datetime.date(1988, 9, 12),
            sex="F",
            informed_on=datetime.date(2024, 12, 1),
            criteria=[deld()],
        )
    assert candidacy.status == CandidacyStatus.PROPOSED and candidacy.prescriber == w.orgs["prescriber"]
    assert [(t.from_status, t.to_status, t.by) for t in candidacy.transitions.all()] == [
        ("", "proposed", w.users["prescriber"])
    ]
    entry = AuditEntry.objects.get(object_type="matching.candidacy")
    assert entry.facilitator_id == w.facilitator.pk and entry.changes["criteria"] == [None, ["deld"]]
    # The facilitator's members are told; no name of the person in the e-mail.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [w.users["facilitator_admin"].email, w.users["facilitator_member"].email]
    )
    assert "Martin" not in mailoutbox[0].body and "candidature" in mailoutbox[0].subject


@pytest.mark.parametrize(
    ("by_role", "facilitator", "message"),
    [
        ("company", "A", "Seul un prescripteur peut proposer une candidature."),
        ("prescriber", "B", "Ce facilitateur ne fait pas partie de vos partenaires."),
    ],
)
def test_only_a_partner_prescriber_proposes(worlds, by_role, facilitator, message):
    a, b = worlds
    before = counts()
    with pytest.raises(Refused) as refusal:
        actions.propose_candidacy(
            facilitator=(a if facilitator == "A" else b).facilitator,
            by=acting(a.users[by_role]),
            first_name="Léa",
            last_name="Martin",
            birth_date=datetime.date(1988, 9, 12),
            sex="F",
            informed_on=datetime.date(2024, 12, 1),
        )
    assert refusal.value.messages == [message]
    assert counts() == before


def test_a_candidacy_without_consent_or_with_a_reasoned_criterion_and_no_opinion_is_refused(world_a):
    before = counts()
    with pytest.raises(Refused) as refusal:
        actions.propose_candidacy(
            facilitator=world_a.facilitator,
            by=acting(world_a.users["prescriber"]),
            first_name="Léa",
            last_name="Martin",
            birth_date=datetime.date(1988, 9, 12),
            sex="F",
            informed_on=None,
            criteria=[CriterionLine(ref(EligibilityCriterion, "other_reasoned"), "prescriber")],
        )
    label = ref(EligibilityCriterion, "other_reasoned").label
    assert refusal.value.messages == [
        "Confirmez que la personne a été informée du traitement de ses données.",
        f"Le critère « {label} » exige votre avis motivé.",
    ]
    assert counts() == before


def test_validation_creates_the_participant_and_the_assessment(world_a):
    w = world_a
    candidacy = CandidacyFactory(facilitator=w.facilitator, prescriber=w.orgs["prescriber"])
    actions.validate_candidacy(
        candidacy=candidacy, by=staff(w), assessed_on=datetime.date(2024, 12, 15), lines=[deld()]
    )
    candidacy.refresh_from_db()
    participant = candidacy.participant
    assert (
        candidacy.status == CandidacyStatus.VALIDATED
        and candidacy.decided_by == w.users["facilitator_member"]
    )
    assert (participant.first_name, participant.last_name, participant.birth_date) == (
        candidacy.first_name,
        candidacy.last_name,
        candidacy.birth_date,
    )
    assert participant.prescriber == w.orgs["prescriber"] and participant.informed_on == candidacy.informed_on
    assessment = participant.assessments.get()
    assert [c.code for c in assessment.criteria.all()] == ["deld"]
    assert assessment.prescriber == w.orgs["prescriber"]
    assert [t.to_status for t in candidacy.transitions.all()] == [
        "validated"
    ]  # (factory made: no proposal row)


def test_validation_links_the_existing_record_of_a_duplicate(world_a):
    w = world_a
    existing = ParticipantFactory(facilitator=w.facilitator, first_name="Léa", last_name="Martin")
    candidacy = CandidacyFactory(
        facilitator=w.facilitator, first_name="Lea", last_name="MARTIN", birth_date=existing.birth_date
    )
    participants = Participant.objects.count()
    with pytest.raises(Refused) as refusal:  # creating a second record needs an explicit confirmation
        actions.validate_candidacy(
            candidacy=candidacy, by=staff(w), assessed_on=datetime.date(2024, 12, 15), lines=[deld()]
        )
    assert refusal.value.messages[0].startswith("Cette personne a peut-être déjà une fiche")
    actions.validate_candidacy(
        candidacy=candidacy,
        by=staff(w),
        participant=existing,
        assessed_on=datetime.date(2024, 12, 15),
        lines=[deld()],
    )
    candidacy.refresh_from_db()
    assert candidacy.participant == existing and Participant.objects.count() == participants
    assert existing.assessments.count() == 1


def test_a_refused_assessment_rolls_back_the_participant_created(world_a):
    """The eligibility is refused after the record was created in the same transaction: nothing stays."""
    w = world_a
    candidacy = CandidacyFactory(facilitator=w.facilitator)
    before = counts()
    with pytest.raises(Refused) as refusal:
        actions.validate_candidacy(
            candidacy=candidacy,
            by=staff(w),
            assessed_on=datetime.date(2024, 12, 15),
            lines=[deld(day=datetime.date(2025, 1, 1))],  # evidence after the validation
        )
    assert "ne peut pas être postérieur à la validation" in refusal.value.messages[0]
    assert counts() == before
    candidacy.refresh_from_db()
    assert candidacy.status == CandidacyStatus.PROPOSED and candidacy.participant is None


def test_decline_needs_a_reason_and_happens_once(world_a):
    w = world_a
    candidacy = CandidacyFactory(facilitator=w.facilitator)
    with pytest.raises(Refused, match="Indiquez le motif du refus"):
        actions.decline_candidacy(candidacy=candidacy, by=staff(w), reason="  ")
    actions.decline_candidacy(candidacy=candidacy, by=staff(w), reason="Hors territoire")
    with pytest.raises(Refused, match="déjà été traitée"):
        actions.decline_candidacy(candidacy=candidacy, by=staff(w), reason="Encore")
    with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
        actions.validate_candidacy(
            candidacy=candidacy,
            by=acting(w.users["prescriber"]),
            assessed_on=datetime.date(2024, 12, 15),
            lines=[deld()],
        )


# --- Offers and proposals -------------------------------------------------------------------------------------


def test_an_offer_is_posted_by_the_awarded_company_or_the_staff_only(worlds):
    a, _b = worlds
    values = {
        "title": "Maçon",
        "rome_job": rome_job(),
        "commune": None,
        "contract_type": ref(ContractType, "cdd"),
        "start_date": datetime.date(2025, 3, 3),
        "weekly_hours": 35,
    }
    before = counts()
    with pytest.raises(Refused) as refusal:
        actions.create_offer(
            lot=a.objects["lot"], company=a.orgs["company"], by=acting(a.users["company"]), **values
        )
    assert refusal.value.messages == ["Indiquez la commune du lieu de travail."]
    with pytest.raises(Refused, match="n'est pas attributaire"):
        actions.create_offer(
            lot=a.objects["lot"],
            company=a.orgs["other_company"],
            by=acting(a.users["other_company"]),
            **values,
        )
    with pytest.raises(Refused, match="Vous n'avez pas le droit"):
        actions.create_offer(
            lot=a.objects["lot"], company=a.orgs["company"], by=acting(a.users["other_company"]), **values
        )
    assert counts() == before


def test_shortlist_refuses_a_person_not_eligible_at_the_start_and_a_closed_offer(world_a):
    w = world_a
    later = JobOfferFactory(
        lot=w.objects["lot"], company=w.orgs["company"], start_date=datetime.date(2026, 3, 2), end_date=None
    )
    closed = JobOfferFactory(lot=w.objects["lot"], company=w.orgs["company"], status=OfferStatus.CLOSED)
    before = counts()
    with pytest.raises(Refused) as refusal:  # eligible until 31/12/2025
        actions.shortlist(offer=later, participant=w.objects["participant"], by=staff(w))
    assert "n'a pas de validation d'éligibilité en cours au 02/03/2026" in refusal.value.messages[0]
    with pytest.raises(Refused, match="pourvue ou clôturée"):
        actions.shortlist(offer=closed, participant=w.objects["participant"], by=staff(w))
    with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
        actions.shortlist(offer=closed, participant=w.objects["participant"], by=acting(w.users["company"]))
    assert counts() == before


def test_withdrawn_then_shortlisted_again_and_no_duplicate_proposal(world_a):
    w = world_a
    offer = JobOfferFactory(lot=w.objects["lot"], company=w.orgs["company"])
    proposal = actions.shortlist(offer=offer, participant=w.objects["participant"], by=staff(w))
    with pytest.raises(Refused, match="figure déjà parmi les candidats"):
        actions.shortlist(offer=offer, participant=w.objects["participant"], by=staff(w))
    actions.withdraw_proposal(proposal=proposal, by=staff(w))
    again = actions.shortlist(offer=offer, participant=w.objects["participant"], by=staff(w))
    assert again.pk == proposal.pk and again.status == ProposalStatus.SHORTLISTED
    assert [(t.from_status, t.to_status) for t in again.transitions.all()] == [
        ("", "shortlisted"),
        ("shortlisted", "withdrawn"),
        ("withdrawn", "shortlisted"),
    ]


def test_only_the_offers_company_answers_and_a_refusal_needs_a_reason(
    worlds, mailoutbox, django_capture_on_commit_callbacks
):
    a, _b = worlds
    proposal = ProposalFactory(
        offer=JobOfferFactory(lot=a.objects["lot"], company=a.orgs["company"]),
        participant=a.objects["participant"],
    )
    before = counts()
    with pytest.raises(Refused, match="Seule l'entreprise destinataire"):
        actions.answer_proposal(proposal=proposal, by=acting(a.users["other_company"]), accept=True)
    with pytest.raises(Refused, match="Seule l'entreprise destinataire"):
        actions.answer_proposal(proposal=proposal, by=staff(a), accept=True)
    with pytest.raises(Refused, match="Indiquez le motif du refus"):
        actions.answer_proposal(proposal=proposal, by=acting(a.users["company"]), accept=False)
    assert counts() == before
    with django_capture_on_commit_callbacks(execute=True):
        actions.answer_proposal(
            proposal=proposal,
            by=acting(a.users["company"]),
            accept=False,
            reason="Poste déjà pourvu en interne",
        )
    proposal.refresh_from_db()
    assert (
        proposal.status == ProposalStatus.REFUSED
        and proposal.refusal_reason == "Poste déjà pourvu en interne"
    )
    assert {m.to[0] for m in mailoutbox} == {
        a.users["facilitator_admin"].email,
        a.users["facilitator_member"].email,
    }
    with pytest.raises(Refused, match="n'attend plus de réponse"):
        actions.answer_proposal(proposal=proposal, by=acting(a.users["company"]), accept=True)


def test_hire_creates_the_contract_from_the_offer_and_fills_the_positions(world_a):
    w = world_a
    offer = JobOfferFactory(lot=w.objects["lot"], company=w.orgs["company"], positions=2)
    first = ProposalFactory(offer=offer, participant=w.objects["participant"], status=ProposalStatus.ACCEPTED)
    second_person = ParticipantFactory(facilitator=w.facilitator)
    EligibilityAssessmentFactory(participant=second_person, assessed_on=datetime.date(2024, 6, 1))
    second = ProposalFactory(offer=offer, participant=second_person, status=ProposalStatus.ACCEPTED)

    contract = actions.hire(proposal=first, by=staff(w))
    assert (contract.lot, contract.company, contract.employer) == (offer.lot, offer.company, offer.company)
    assert (contract.start_date, contract.end_date, contract.weekly_hours) == (
        offer.start_date,
        offer.end_date,
        offer.weekly_hours,
    )
    assert (contract.rome_code, contract.modality.code, contract.contract_type) == (
        offer.rome_job.code,
        "direct_hire",
        offer.contract_type,
    )
    offer.refresh_from_db()
    assert (offer.positions_filled, offer.status) == (1, OfferStatus.OPEN)
    actions.hire(proposal=second, by=staff(w), start_date=datetime.date(2025, 3, 3), end_date=None)
    offer.refresh_from_db()
    assert (offer.positions_filled, offer.status) == (2, OfferStatus.FILLED)
    first.refresh_from_db()
    assert first.status == ProposalStatus.HIRED and first.contract == contract
    with pytest.raises(Refused, match="Une offre « pourvue » ne peut pas passer à l'état « ouverte »"):
        actions.change_offer_status(offer=offer, to=OfferStatus.OPEN, by=staff(w))
    with pytest.raises(Refused, match="ne se modifie plus"):
        actions.update_offer(offer=offer, by=staff(w), positions=1)


def test_hire_refusals_write_nothing(world_a):
    w = world_a
    offer = JobOfferFactory(lot=w.objects["lot"], company=w.orgs["company"])
    sent = ProposalFactory(offer=offer, participant=w.objects["participant"])
    before = counts()
    with pytest.raises(Refused, match="L'entreprise n'a pas retenu ce candidat"):
        actions.hire(proposal=sent, by=staff(w))
    Proposal.objects.filter(pk=sent.pk).update(status=ProposalStatus.ACCEPTED)
    with pytest.raises(Refused) as refusal:  # create_contract: not eligible on 01/06/2026
        actions.hire(proposal=sent, by=staff(w), start_date=datetime.date(2026, 6, 1))
    assert "n'a pas de validation d'éligibilité en cours au 01/06/2026" in refusal.value.messages[0]
    with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
        actions.hire(proposal=sent, by=acting(w.users["company"]))
    assert counts() == before
    sent.refresh_from_db()
    offer.refresh_from_db()
    assert sent.status == ProposalStatus.ACCEPTED and sent.contract is None and offer.positions_filled == 0
