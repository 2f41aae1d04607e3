"""Retention (anonymise after 2 years without contact) and erasure: identities gone, indicators unchanged."""

import datetime
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract
from clausier.matching.actions import answer_proposal, decline_candidacy
from clausier.matching.models import (
    Candidacy,
    CandidacyStatus,
    CandidacyTransition,
    Proposal,
    ProposalTransition,
)
from clausier.organizations.models import FacilitatorSettings
from clausier.participants.actions import merge_participants, update_participant
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Outcome, Participant
from clausier.participants.profiles import age_on
from clausier.rgpd.anonymisation import (
    ErasureRefused,
    age_preserving_birth_date,
    candidacies_due,
    due_for_anonymisation,
    erase_participant,
)
from clausier.rgpd.export import subject_data
from clausier.utils.locking import EditConflict
from tests.factories import JobOfferFactory, ParticipantFactory, ProposalFactory, acting
from tests.rgpd.helpers import every_figure, propose, world_with_history

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2025, 6, 1)


def audit_text_about(*participants) -> str:
    uuids = set()
    for p in participants:
        uuids.add(str(p.uuid))
        for model in (Contract, EligibilityAssessment, Outcome):
            uuids |= {str(u) for u in model.objects.filter(participant=p).values_list("uuid", flat=True)}
    entries = AuditEntry.objects.filter(object_id__in=uuids).values_list("object_repr", "changes", "detail")
    return json.dumps(list(entries), ensure_ascii=False, default=str)


@pytest.mark.parametrize(
    ("birth", "reference"),
    [
        (datetime.date(1998, 11, 20), datetime.date(2020, 3, 2)),
        (datetime.date(1998, 2, 20), datetime.date(2020, 3, 2)),
        (datetime.date(2000, 3, 2), datetime.date(2026, 3, 2)),
        (datetime.date(2000, 3, 3), datetime.date(2026, 3, 2)),
        (datetime.date(2004, 2, 29), datetime.date(2030, 2, 28)),
    ],
)
def test_the_neutral_birth_date_keeps_year_and_age_at_entry(birth, reference):
    neutral = age_preserving_birth_date(birth, reference)
    assert neutral.year == birth.year
    assert age_on(neutral, reference) == age_on(birth, reference)


def test_retention_anonymises_the_person_and_keeps_every_indicator():
    world = world_with_history()
    fac, old, duplicate = world.facilitator, world.old, world.duplicate
    before = every_figure(fac)
    text = audit_text_about(old, duplicate)
    assert "Vieillecase" in text and "Vieillecasse" in text and "VIEILLECAZE" in text

    call_command("anonymise", "--facilitator", fac.slug, verbosity=0)

    assert every_figure(fac) == before
    for record in (old, duplicate):
        record.refresh_from_db()
        assert record.anonymised_on is not None
        assert (record.first_name, record.last_name, record.birth_name) == ("Anonyme", "Anonyme", "")
        assert (record.email, record.phone, record.address, record.postal_code, record.referent) == ("",) * 5
        assert record.birth_date.year == 1998 and record.sex == "F"
        assert record.profile.age_band == "lt26"
    assert old.prescriber_id == world.prescriber.pk, "kept: the prescriber counts in the figures"
    assert duplicate.merged_into_id == old.pk
    assert not EligibilityAssessment.objects.filter(participant=old).exclude(reason="").exists()
    lines = AssessmentCriterion.objects.filter(assessment__participant=old)
    assert lines.exists() and not lines.exclude(evidence_date=None).exists()
    assert not Outcome.objects.filter(participant=old).exclude(detail="").exists()
    assert not Contract.objects.filter(participant=old).exclude(eligibility_override_reason="").exists()
    text = audit_text_about(old, duplicate).lower()
    for word in ("vieillecas", "vieillecaz", "ancienom", "rosalie", "0601020304", "archives", "1998-11-20"):
        assert word not in text, word
    entry = AuditEntry.objects.filter(object_id=str(old.uuid), action=Action.UPDATE).order_by("-pk").first()
    assert entry.detail.startswith("anonymisation : aucun contact depuis le 28/02/2021")
    # The people of world A (contracts in 2024, one running) are not due yet, or never.
    assert Participant.objects.filter(facilitator=fac, anonymised_on__isnull=True).count() >= 3
    current = world.current.participant
    current.refresh_from_db()
    assert current.anonymised_on is None


def test_last_contact_is_the_latest_of_every_trace():
    world = world_with_history()
    due = {p.kept_id: p for p in due_for_anonymisation(world.facilitator, years=2, today=TODAY)}
    person = due[world.old.pk]
    assert sorted(person.record_ids) == sorted([world.old.pk, world.duplicate.pk])
    assert person.last_contact == datetime.date(2021, 2, 28)
    assert world.current.participant_id not in due
    # A later outcome is a contact: the person is no longer due.
    Outcome.objects.filter(participant=world.old).update(observed_on=datetime.date(2024, 1, 10))
    due = {p.kept_id for p in due_for_anonymisation(world.facilitator, years=2, today=TODAY)}
    assert world.old.pk not in due


def test_dry_run_and_configured_retention(capsys):
    world = world_with_history()
    fac = world.facilitator
    FacilitatorSettings.objects.update_or_create(facilitator=fac, defaults={"retention_years": 50})
    call_command("anonymise", "--facilitator", fac.slug)
    assert "0 personne(s)" in capsys.readouterr().out
    call_command("anonymise", "--facilitator", fac.slug, "--years", "2", "--dry-run")
    out = capsys.readouterr().out
    assert "seraient anonymisées" in out
    assert not Participant.objects.filter(anonymised_on__isnull=False).exists()


def test_an_anonymised_record_cannot_be_edited():
    world = world_with_history()
    call_command("anonymise", "--facilitator", world.facilitator.slug, verbosity=0)
    user = acting(world.users["facilitator_member"])
    from clausier.participants.actions import Refused

    with pytest.raises(Refused, match="anonymisée"):
        update_participant(
            participant=Participant.objects.get(pk=world.old.pk), by=user, first_name="Rosalie"
        )


def test_erasure_by_a_facilitator_admin(client_for):
    world = world_with_history()
    fac = world.facilitator
    before = every_figure(fac)
    target = world.participant
    url = reverse("www:participant_erase", kwargs={"uuid": target.uuid})
    for role in ("facilitator_member", "buyer", "company", "structure", "prescriber"):
        client = client_for(world.users[role])
        assert client.get(url).status_code == 404, role
        assert client.post(url, {"reason": "x", "confirm": "on"}).status_code == 404, role
    admin = client_for(world.users["facilitator_admin"])
    page = admin.get(url)
    assert page.status_code == 200 and "Effacer définitivement" in page.content.decode()
    refused = admin.post(url, {"reason": "  ", "confirm": "on"})
    assert refused.status_code == 200
    target.refresh_from_db()
    assert target.anonymised_on is None
    response = admin.post(url, {"reason": "Demande écrite reçue le 2 mai", "confirm": "on"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.anonymised_on is not None and target.first_name == "Anonyme"
    assert every_figure(fac) == before
    entry = AuditEntry.objects.filter(object_id=str(target.uuid)).order_by("-pk").first()
    assert entry.detail == "effacement à la demande : Demande écrite reçue le 2 mai"
    assert entry.actor == world.users["facilitator_admin"]
    assert admin.get(url).status_code == 404, "already anonymised"


def test_erasure_and_edit_race_is_refused_by_the_version():
    world = world_with_history()
    user = acting(world.users["facilitator_member"])
    participant = world.participant
    version = Participant.objects.get(pk=participant.pk).version
    from clausier.rgpd.anonymisation import erase_participant

    erase_participant(participant=participant, by=acting(world.users["facilitator_admin"]), reason="demande")
    participant.anonymised_on = None  # the edit form was read before the erasure
    with pytest.raises(EditConflict):
        update_participant(participant=participant, by=user, expected_version=version, first_name="Revenue")


# --- Matching: candidacies and proposals ---------------------------------------------------------------------


def audit_text_of(*objects) -> str:
    entries = AuditEntry.objects.filter(object_id__in=[str(o.uuid) for o in objects]).values_list(
        "object_repr", "changes", "detail"
    )
    return json.dumps(list(entries), ensure_ascii=False, default=str)


def assert_anonymised(candidacy, birth_year):
    candidacy.refresh_from_db()
    assert (candidacy.first_name, candidacy.last_name) == ("Anonyme", "Anonyme")
    assert (
        candidacy.birth_name,
        candidacy.email,
        candidacy.phone,
        candidacy.address,
        candidacy.postal_code,
        candidacy.referent,
        candidacy.prescriber_opinion,
        candidacy.decline_reason,
    ) == ("",) * 8
    assert candidacy.birth_date.year == birth_year
    assert not candidacy.criterion_lines.exists(), "the criteria the prescriber proposed are gone"
    assert candidacy.transitions.exists() and not candidacy.transitions.exclude(comment="").exists()


def test_retention_anonymises_candidacies_and_proposals_and_keeps_every_indicator(capsys):
    world = world_with_history()
    fac = world.facilitator
    before = every_figure(fac)
    matching = (world.candidacy, world.earlier_candidacy, world.proposal, world.declined_2021)
    text = audit_text_of(*matching)
    assert "Vieillecase" in text and "Vieillecaze" in text and "Octave" in text and "permis" in text

    call_command("anonymise", "--facilitator", fac.slug)

    out = capsys.readouterr().out
    assert "1 personne(s)" in out
    assert "2 candidature(s) refusée(s) sans fiche participant anonymisée(s) aussi." in out
    assert every_figure(fac) == before
    # Hers: the validated one (with her record), the earlier one declined (its own retention, since 2019).
    for candidacy in (world.candidacy, world.earlier_candidacy, world.declined_2021):
        assert_anonymised(candidacy, candidacy.birth_date.year)
    assert world.candidacy.sex == "F" and world.candidacy.status == CandidacyStatus.VALIDATED
    assert world.candidacy.participant_id == world.old.pk
    assert world.candidacy.available_from == datetime.date(2020, 3, 1)
    assert [job.code for job in world.candidacy.wished_jobs.all()] == ["F1703"]
    proposal = Proposal.objects.get(pk=world.proposal.pk)
    assert proposal.refusal_reason == "" and proposal.status == "refused"
    assert not proposal.transitions.exclude(comment="").exists()
    text = audit_text_of(*matching).lower()
    for word in ("vieillecas", "vieillecaz", "rosalie", "ancienom", "octave", "0601020304", "archives"):
        assert word not in text, word
    for words in ("permis", "part de toulouse", "trouvé un emploi", "motivée", "14 février"):
        assert words not in text, words
    assert "candidature refusée : [anonymisé]" in text
    entry = AuditEntry.objects.filter(object_id=str(world.declined_2021.uuid)).order_by("-pk").first()
    assert entry.detail.startswith(
        "anonymisation : candidature refusée, aucune activité depuis le 01/03/2021"
    )
    assert entry.changes["anonymised_fields"][1] == sorted(entry.changes["anonymised_fields"][1])
    entry = AuditEntry.objects.filter(object_id=str(world.candidacy.uuid)).order_by("-pk").first()
    assert entry.detail.startswith("anonymisation : aucun contact depuis le 28/02/2021")
    # Not due: declined today, still to review (never due).
    for candidacy in (world.declined_today, world.pending_2021):
        candidacy.refresh_from_db()
        assert candidacy.first_name == "Octave" and candidacy.criterion_lines.exists()

    call_command("anonymise", "--facilitator", fac.slug)
    assert capsys.readouterr().out.startswith("0 personne(s)"), "nothing left to anonymise"


def test_matching_activity_is_a_contact():
    world = world_with_history()

    def due():
        return {p.kept_id for p in due_for_anonymisation(world.facilitator, years=2, today=TODAY)}

    assert world.old.pk in due()
    recent = datetime.datetime(2024, 1, 10, 9, tzinfo=datetime.UTC)
    ProposalTransition.objects.filter(proposal=world.proposal).update(at=recent)
    assert world.old.pk not in due(), "the company answered a proposal in 2024"
    ProposalTransition.objects.filter(proposal=world.proposal).update(at=recent.replace(year=2020))
    assert world.old.pk in due()
    Candidacy.objects.filter(pk=world.candidacy.pk).update(updated_at=recent)
    assert world.old.pk not in due(), "her candidacy changed in 2024"


def test_declined_candidacies_without_a_record_are_due_after_their_last_activity():
    world = world_with_history()

    due = candidacies_due(world.facilitator, years=2, today=TODAY)

    assert due == {
        world.earlier_candidacy.pk: datetime.date(2019, 12, 10),
        world.declined_2021.pk: datetime.date(2021, 3, 1),
    }, "not the validated one (her record's), nor declined today, nor one still to review"
    CandidacyTransition.objects.filter(candidacy=world.declined_2021).update(
        at=datetime.datetime(2024, 1, 10, 9, tzinfo=datetime.UTC)
    )
    assert world.declined_2021.pk not in candidacies_due(world.facilitator, years=2, today=TODAY)


def test_erasure_covers_the_person_candidacies_and_proposals():
    world = world_with_history()
    admin = acting(world.users["facilitator_admin"])
    staff = acting(world.users["facilitator_member"])
    again = propose(
        world, first_name="ROSALIE", last_name="VIEILLECASE", prescriber_opinion="Rosalie revient"
    )
    assert again.participant_id is None

    with pytest.raises(ErasureRefused, match="refusez-la d'abord"):
        erase_participant(participant=world.duplicate, by=admin, reason="Demande écrite")
    assert not Participant.objects.filter(anonymised_on__isnull=False).exists()

    decline_candidacy(candidacy=again, by=staff, reason="Rosalie Vieillecasse : déjà suivie")
    erase_participant(participant=world.duplicate, by=admin, reason="Demande écrite")

    for candidacy in (world.candidacy, world.earlier_candidacy, again):
        assert_anonymised(candidacy, 1998)
    assert Proposal.objects.get(pk=world.proposal.pk).refusal_reason == ""
    text = audit_text_of(world.candidacy, world.earlier_candidacy, again, world.proposal).lower()
    assert "rosalie" not in text and "vieillecas" not in text and "permis" not in text
    entry = AuditEntry.objects.filter(object_id=str(again.uuid)).order_by("-pk").first()
    assert entry.detail == "effacement à la demande : Demande écrite" and entry.actor == admin
    world.declined_2021.refresh_from_db()
    assert world.declined_2021.first_name == "Octave", "someone else"


def test_a_proposal_deleted_as_a_double_at_a_merge_is_redacted_with_the_person():
    world = world_with_history()
    admin, company = acting(world.users["facilitator_admin"]), acting(world.users["company"])
    kept = ParticipantFactory(facilitator=world.facilitator, first_name="Zéphyrin", last_name="Doublon")
    duplicate = ParticipantFactory(facilitator=world.facilitator, first_name="Zephyrin", last_name="Doublon")
    offer = JobOfferFactory(lot=world.lot, company=world.company)
    refused = ProposalFactory(offer=offer, participant=kept)
    accepted = ProposalFactory(offer=offer, participant=duplicate)
    answer_proposal(
        proposal=refused, by=company, accept=False, reason="Zéphyrin Doublon est arrivé en retard"
    )
    answer_proposal(proposal=accepted, by=company, accept=True)
    merge_participants(kept=kept, duplicate=duplicate, by=admin)
    assert not Proposal.objects.filter(pk=refused.pk).exists(), "the accepted one is kept"
    journal = subject_data(kept)["journal (qui a consulté, exporté ou modifié ces données)"]
    assert any("arrivé en retard" in e["précision"] for e in journal), "the export shows the deleted one"

    erase_participant(participant=kept, by=admin, reason="Demande écrite")

    text = audit_text_of(refused, accepted).lower()
    assert "zéphyrin" not in text and "zephyrin" not in text and "retard" not in text
    assert "candidat refusé : [anonymisé]" in text
    assert "proposition de candidat (personne anonymisée)" in text
