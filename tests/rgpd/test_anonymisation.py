"""Retention (anonymise after 2 years without contact) and erasure: identities gone, indicators unchanged."""

import datetime
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract
from clausier.organizations.models import FacilitatorSettings
from clausier.participants.actions import update_participant
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Outcome, Participant
from clausier.participants.profiles import age_on
from clausier.rgpd.anonymisation import age_preserving_birth_date, due_for_anonymisation
from clausier.utils.locking import EditConflict
from tests.factories import acting
from tests.rgpd.helpers import every_figure, world_with_history

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
