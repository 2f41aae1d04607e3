"""Viewing one person's data is logged (CNIL): each GET of a participant's file, of one of their contracts or of
the file's edit form writes one "view" audit entry — who, as which organization, whose data — with a single
INSERT and no extra read; a refused access, a POST or a list page write none."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.rgpd.anonymisation import erase_participant
from clausier.rgpd.export import subject_data
from tests.factories import acting

pytestmark = pytest.mark.django_db


def views_of(participant):
    return AuditEntry.objects.filter(action=Action.VIEW, object_id=str(participant.uuid))


def participant_url(world):
    return reverse("www:participant_detail", kwargs={"uuid": world.objects["participant"].uuid})


@pytest.mark.parametrize("role", ["facilitator_member", "company", "structure", "prescriber"])
def test_each_view_of_a_participant_file_is_logged(role, world_a, client_for):
    participant = world_a.objects["participant"]
    user = world_a.users[role]
    client = client_for(user)
    assert client.get(participant_url(world_a)).status_code == 200
    assert client.get(participant_url(world_a)).status_code == 200
    entries = list(views_of(participant))
    assert len(entries) == 2, "one entry per view"
    entry = entries[0]
    assert entry.actor == user
    assert entry.organization == user.memberships.get().organization, "as which organization"
    assert entry.facilitator == world_a.facilitator, "in the facilitator's log, whoever looked"
    assert entry.object_type == "participants.participant"
    assert entry.object_repr == str(participant)
    assert entry.changes == {}


def test_one_insert_and_no_extra_read(world_a, facilitator_member_client, monkeypatch):
    url = participant_url(world_a)
    facilitator_member_client.get(url)  # warm up (session, caches)
    with CaptureQueriesContext(connection) as logged:
        facilitator_member_client.get(url)
    monkeypatch.setattr("clausier.www.participants.people.record_view", lambda **kwargs: None)
    with CaptureQueriesContext(connection) as unlogged:
        facilitator_member_client.get(url)
    sql = [q["sql"] for q in logged.captured_queries]
    audit = [s for s in sql if "audit_auditentry" in s]
    assert len(audit) == 1 and audit[0].startswith("INSERT"), audit
    assert len(logged) == len(unlogged) + 1


def test_contract_detail_and_edit_form_are_logged_on_the_person(world_a, client_for):
    participant, contract = world_a.objects["participant"], world_a.objects["contract"]
    company = client_for(world_a.users["company"])
    assert company.get(reverse("www:contract_detail", kwargs={"uuid": contract.uuid})).status_code == 200
    member = client_for(world_a.users["facilitator_member"])
    edit = reverse("www:participant_edit", kwargs={"uuid": participant.uuid})
    assert member.get(edit).status_code == 200
    by_company, by_member = views_of(participant).order_by("at", "id")
    assert by_company.actor == world_a.users["company"] and str(contract.uuid) in by_company.detail
    assert by_member.actor == world_a.users["facilitator_member"] and "modification" in by_member.detail


def test_refused_accesses_posts_and_lists_write_nothing(worlds, client_for):
    a, b = worlds
    participant = a.objects["participant"]
    url = participant_url(a)
    for user in (b.users["facilitator_member"], a.users["other_company"], a.users["buyer"]):
        assert client_for(user).get(url).status_code == 404
    member = client_for(a.users["facilitator_member"])
    assert member.post(url).status_code == 405
    assert member.get(reverse("www:participant_list")).status_code == 200
    other_contract = reverse("www:contract_detail", kwargs={"uuid": a.objects["contract"].uuid})
    assert client_for(b.users["facilitator_member"]).get(other_contract).status_code == 404
    assert not views_of(participant).exists()


def test_views_show_in_the_subject_export_and_are_redacted_on_erasure(world_a, client_for):
    participant = world_a.objects["participant"]
    client_for(world_a.users["company"]).get(participant_url(world_a))
    journal = subject_data(participant)["journal (qui a consulté, exporté ou modifié ces données)"]
    assert any(line["action"] == Action.VIEW.label for line in journal), journal
    name = str(participant)
    erase_participant(
        participant=participant, by=acting(world_a.users["facilitator_admin"]), reason="Demande écrite"
    )
    entry = views_of(participant).get()
    assert name not in entry.object_repr, "the log keeps no identity after anonymisation"
