"""Merging a duplicate into the kept record: what moves, what is logged, what is refused, what is counted."""

import datetime

import pytest

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract
from clausier.matching.models import Candidacy, Proposal, ProposalTransition
from clausier.participants.actions import Refused, merge_participants
from clausier.participants.duplicates import find_duplicates
from clausier.participants.models import EligibilityAssessment, Outcome, Participant
from clausier.reporting.indicators import participants_per_year, territory_figures
from tests.factories import (
    CandidacyFactory,
    CompanyFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    JobOfferFactory,
    OutcomeFactory,
    ParticipantFactory,
    ProposalFactory,
    UserFactory,
    acting,
)

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


@pytest.fixture
def staff(facilitator):
    return acting(UserFactory(member_of=facilitator))


@pytest.fixture
def pair(facilitator):
    """The same person twice: `kept` with one contract, `duplicate` with two, an assessment and an outcome."""
    kept = ParticipantFactory(
        facilitator=facilitator, first_name="eloise", last_name="dupont martin", birth_date=D(1990, 4, 3)
    )
    duplicate = ParticipantFactory(
        facilitator=facilitator, first_name="Éloïse", last_name="DUPONT-MARTIN", birth_date=D(1990, 4, 3)
    )
    ContractFactory(
        participant=kept,
        lot__market__facilitator=facilitator,
        start_date=D(2024, 2, 1),
        end_date=D(2024, 5, 31),
    )
    moved = [
        ContractFactory(
            participant=duplicate,
            lot__market__facilitator=facilitator,
            start_date=D(2024, 9, 2),
            end_date=D(2025, 2, 28),
        ),
        ContractFactory(
            participant=duplicate,
            lot__market__facilitator=facilitator,
            start_date=D(2025, 4, 1),
            end_date=None,
        ),
    ]
    assessment = EligibilityAssessmentFactory(participant=duplicate)
    outcome = OutcomeFactory(contract=moved[0])
    return kept, duplicate, moved, assessment, outcome


def test_merge_moves_everything_and_logs_it(pair, staff):
    kept, duplicate, moved, assessment, outcome = pair

    result = merge_participants(kept=kept, duplicate=duplicate, by=staff)

    assert result == kept
    duplicate.refresh_from_db()
    assert duplicate.merged_into == kept
    assert set(Contract.objects.filter(participant=kept)) == {
        *moved,
        *Contract.objects.filter(participant=kept),
    }
    assert Contract.objects.filter(participant=kept).count() == 3
    assert not Contract.objects.filter(participant=duplicate).exists()
    assert EligibilityAssessment.objects.get(pk=assessment.pk).participant == kept
    assert Outcome.objects.get(pk=outcome.pk).participant == kept

    on_kept = AuditEntry.objects.get(object_id=str(kept.uuid), action=Action.MERGE)
    assert on_kept.actor == staff
    assert on_kept.facilitator_id == kept.facilitator_id
    assert on_kept.changes["merged"] == [None, str(duplicate.uuid)]
    assert on_kept.changes["contracts"] == [None, [str(c.uuid) for c in moved]]
    assert on_kept.changes["assessments"] == [None, [str(assessment.uuid)]]
    assert on_kept.changes["outcomes"] == [None, [str(outcome.uuid)]]
    assert "2 contrat(s), 1 validation(s) d'éligibilité, 1 sortie(s)" in on_kept.detail
    on_duplicate = AuditEntry.objects.get(object_id=str(duplicate.uuid), action=Action.MERGE)
    assert on_duplicate.changes == {"merged_into": [None, str(kept.uuid)]}


def test_a_merged_person_is_counted_once(pair, facilitator, staff):
    kept, duplicate, *_ = pair
    assert territory_figures(facilitator).participants == 2
    assert participants_per_year(facilitator, until=2025) == [(2024, 2), (2025, 1)]

    merge_participants(kept=kept, duplicate=duplicate, by=staff)

    figures = territory_figures(facilitator)
    assert (figures.participants, figures.contracts) == (1, 3)
    assert territory_figures(facilitator, year=2024).participants == 1
    assert participants_per_year(facilitator, until=2025) == [(2024, 1), (2025, 1)]
    assert list(Participant.objects.filter(facilitator=facilitator).active_records()) == [kept]


def test_merged_record_is_no_longer_a_duplicate_candidate(pair, facilitator, staff):
    kept, duplicate, *_ = pair
    assert len(find_duplicates(facilitator, "Eloise", "Dupont-Martin", D(1990, 4, 3))) == 2
    merge_participants(kept=kept, duplicate=duplicate, by=staff)
    assert [
        c.participant for c in find_duplicates(facilitator, "Eloise", "Dupont-Martin", D(1990, 4, 3))
    ] == [kept]


def test_records_merged_earlier_follow(pair, facilitator, staff):
    kept, duplicate, *_ = pair
    older = ParticipantFactory(facilitator=facilitator, first_name="Eloise", last_name="Dupont")
    merge_participants(kept=duplicate, duplicate=older, by=staff)

    merge_participants(kept=kept, duplicate=duplicate, by=staff)

    older.refresh_from_db()
    assert older.merged_into == kept
    entry = AuditEntry.objects.get(object_id=str(kept.uuid), action=Action.MERGE)
    assert entry.changes["merged_records"] == [None, [str(older.uuid)]]


def test_refusals_write_nothing(pair, facilitator, staff):
    kept, duplicate, *_ = pair
    stranger = ParticipantFactory()  # another facilitator
    company_user = acting(UserFactory(member_of=CompanyFactory(partner_of=facilitator)))
    other_staff = acting(UserFactory(member_of=stranger.facilitator))

    with pytest.raises(Refused, match="elle-même"):
        merge_participants(kept=kept, duplicate=kept, by=staff)
    with pytest.raises(Refused, match="deux facilitateurs différents"):
        merge_participants(kept=kept, duplicate=stranger, by=staff)
    for user in (company_user, other_staff, None):
        with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
            merge_participants(kept=kept, duplicate=duplicate, by=user)
    assert not AuditEntry.objects.filter(action=Action.MERGE).exists()
    assert Contract.objects.filter(participant=duplicate).count() == 2

    merge_participants(kept=kept, duplicate=duplicate, by=staff)
    third = ParticipantFactory(facilitator=facilitator)
    with pytest.raises(Refused, match="déjà été fusionnée"):
        merge_participants(kept=third, duplicate=duplicate, by=staff)
    with pytest.raises(Refused, match="La fiche à conserver a elle-même été fusionnée"):
        merge_participants(kept=duplicate, duplicate=third, by=staff)
    assert AuditEntry.objects.filter(action=Action.MERGE).count() == 2


# --- Matching: candidacies and proposals follow the person -----------------------------------------------------


def test_candidacies_and_proposals_move_to_the_kept_record(pair, facilitator, staff):
    kept, duplicate, *_ = pair
    candidacy = CandidacyFactory(facilitator=facilitator, validated=True, participant=duplicate)
    proposals = [
        ProposalFactory(offer=JobOfferFactory(lot__market__facilitator=facilitator), participant=duplicate)
        for _ in range(2)
    ]

    merge_participants(kept=kept, duplicate=duplicate, by=staff)

    assert Candidacy.objects.get(pk=candidacy.pk).participant == kept
    assert set(Proposal.objects.filter(participant=kept)) == set(proposals)
    assert not Proposal.objects.filter(participant=duplicate).exists()
    entry = AuditEntry.objects.get(object_id=str(kept.uuid), action=Action.MERGE)
    assert entry.changes["candidacies"] == [None, [str(candidacy.uuid)]]
    assert entry.changes["proposals"] == [None, [str(p.uuid) for p in proposals]]
    assert "proposals_dropped" not in entry.changes
    assert "1 sortie(s), 1 candidature(s), 2 proposition(s), 0 fiche(s)" in entry.detail


@pytest.mark.parametrize(
    ("kept_status", "duplicate_status", "winner"),
    [
        ("shortlisted", "accepted", "duplicate"),  # furthest along
        ("sent", "refused", "duplicate"),  # the company's answer stands
        ("withdrawn", "shortlisted", "duplicate"),  # a withdrawn proposal never wins
        ("sent", "withdrawn", "kept"),
        ("sent", "sent", "kept"),  # a tie: the kept record's
    ],
)
def test_two_proposals_for_the_same_offer_keep_the_one_furthest_along(
    pair, facilitator, staff, kept_status, duplicate_status, winner
):
    kept, duplicate, *_ = pair
    offer = JobOfferFactory(lot__market__facilitator=facilitator)
    on_kept = ProposalFactory(offer=offer, participant=kept, status=kept_status)
    on_duplicate = ProposalFactory(offer=offer, participant=duplicate, status=duplicate_status)
    for proposal in (on_kept, on_duplicate):
        ProposalTransition.objects.create(
            facilitator=proposal.facilitator, proposal=proposal, from_status="", to_status="shortlisted"
        )
    other_offer = ProposalFactory(
        offer=JobOfferFactory(lot__market__facilitator=facilitator), participant=duplicate
    )
    won, lost = (on_duplicate, on_kept) if winner == "duplicate" else (on_kept, on_duplicate)

    merge_participants(kept=kept, duplicate=duplicate, by=staff)

    assert list(Proposal.objects.filter(offer=offer)) == [won]
    assert Proposal.objects.get(pk=won.pk).participant == kept
    assert Proposal.objects.get(pk=other_offer.pk).participant == kept
    assert not Proposal.objects.filter(pk=lost.pk).exists()
    assert not ProposalTransition.objects.filter(proposal_id=lost.pk).exists()
    assert ProposalTransition.objects.filter(proposal=won).count() == 1
    entry = AuditEntry.objects.get(object_id=str(kept.uuid), action=Action.MERGE)
    assert entry.changes["proposals_dropped"] == [
        None,
        [
            {
                "proposal": str(lost.uuid),
                "offer": str(offer.uuid),
                "status": lost.status,
                "kept": str(won.uuid),
                "kept_status": won.status,
            }
        ],
    ]
    moved = [on_duplicate, other_offer] if winner == "duplicate" else [other_offer]
    assert entry.changes["proposals"] == [None, [str(p.uuid) for p in moved]]
    assert "1 proposition(s) en double sur la même offre supprimée(s)" in entry.detail
    deleted = AuditEntry.objects.get(object_id=str(lost.uuid), action=Action.DELETE)
    assert deleted.actor == staff and deleted.changes == {"status": [lost.status, None]}
    assert str(won.uuid) in deleted.detail
