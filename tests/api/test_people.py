"""Participants and outcomes through the API: each role sees what the gate gives it, partners never read a
criterion, every person shown is logged, lists run in constant queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.audit.models import Action, AuditEntry
from clausier.participants.models import Participant
from tests.api.helpers import api_as
from tests.factories import ContractFactory, EligibilityAssessmentFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

PARTNERS = ["company", "structure", "prescriber"]
CHANNEL = "API, jeton « Paie »"


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def uuids(world, *keys) -> set[str]:
    return {str(world.objects[key].uuid) for key in keys}


@pytest.fixture
def sensitive(world_a):
    """A second assessment of the shared participant, with criteria a partner must never read."""
    EligibilityAssessmentFactory(participant=world_a.objects["participant"], criteria=["rqth", "aah"])
    return ["deld", "rqth", "aah"]


def test_the_staff_list_their_participants_with_their_eligibility(world_a, world_b, sensitive):
    response = api_as(world_a.users["facilitator_member"]).get("/api/v1/participants")
    people = {row["id"]: row for row in response.json()["results"]}
    direct = str(world_a.objects["direct_contract"].participant.uuid)
    assert set(people) == uuids(world_a, "participant", "other_participant") | {direct}
    shared = people[str(world_a.objects["participant"].uuid)]
    assert shared["birth_date"] == "1990-05-17"
    assert shared["sex"] == "F"
    assert shared["qualification_level"] == "infra3"
    assert shared["situation_at_entry"] == "long_term_job_seeker"
    assert shared["entry_date"] == "2024-01-01"
    assert shared["prescriber"] == str(world_a.orgs["prescriber"].uuid)
    criteria = sorted(code for a in shared["eligibility"] for code in a["criteria"])
    assert criteria == sorted(sensitive)
    assessment = shared["eligibility"][0]
    assert set(assessment) == {"id", "assessed_on", "valid_until", "criteria", "prescriber"}
    assert str(world_b.objects["participant"].uuid) not in people


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("company", ("participant", "direct")),
        ("structure", ("participant",)),
        ("prescriber", ("participant", "direct")),
        ("other_company", ("other_participant",)),
    ],
)
def test_partners_list_the_people_of_their_contracts_or_referrals(role, expected, world_a, world_b):
    direct = str(world_a.objects["direct_contract"].participant.uuid)
    want = {direct if key == "direct" else str(world_a.objects[key].uuid) for key in expected}
    assert ids(api_as(world_a.users[role]).get("/api/v1/participants")) == want


@pytest.mark.parametrize("role", PARTNERS)
def test_a_partners_answers_hold_no_eligibility_and_no_criterion(role, world_a, sensitive):
    client = api_as(world_a.users[role])
    participant = world_a.objects["participant"]
    for response in (
        client.get("/api/v1/participants"),
        client.get(f"/api/v1/participants/{participant.uuid}"),
    ):
        assert response.status_code == 200
        text = response.content.decode()
        assert "eligib" not in text.lower()
        for code in sensitive:
            assert code not in text
        assert "qualification_level" not in text and "situation_at_entry" not in text
    row = client.get(f"/api/v1/participants/{participant.uuid}").json()
    assert set(row) == {"id", "first_name", "last_name", "birth_date", "commune", "merged_into", "updated_at"}
    assert row["first_name"] == participant.first_name


def test_the_staff_detail_holds_the_eligibility(world_a, sensitive):
    participant = world_a.objects["participant"]
    response = api_as(world_a.users["facilitator_admin"]).get(f"/api/v1/participants/{participant.uuid}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(participant.uuid)
    assert {code for a in body["eligibility"] for code in a["criteria"]} == set(sensitive)
    assert [a["assessed_on"] for a in body["eligibility"]] == sorted(
        (a["assessed_on"] for a in body["eligibility"]), reverse=True
    )


@pytest.mark.parametrize(
    ("world_key", "role", "target"),
    [
        ("b", "facilitator_admin", "participant"),  # another tenant
        ("b", "company", "participant"),
        ("a", "other_company", "participant"),  # same tenant, not its contract
        ("a", "other_structure", "participant"),
        ("a", "other_prescriber", "participant"),
        ("a", "structure", "other_participant"),
    ],
)
def test_someone_elses_participant_is_a_404(world_key, role, target, world_a, world_b):
    caller = (world_b if world_key == "b" else world_a).users[role]
    participant = world_a.objects[target]
    response = api_as(caller).get(f"/api/v1/participants/{participant.uuid}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert participant.first_name not in response.content.decode()
    assert not AuditEntry.objects.filter(action=Action.VIEW, object_id=str(participant.uuid)).exists()


def test_a_buyer_reads_no_people(world_a):
    client = api_as(world_a.users["buyer"])
    assert client.get("/api/v1/participants").status_code == 403
    assert client.get(f"/api/v1/participants/{world_a.objects['participant'].uuid}").status_code == 403


def test_every_person_of_a_list_is_logged_in_one_insert(world_a):
    client = api_as(world_a.users["company"])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/participants")
    shown = ids(response)
    inserts = [
        q["sql"] for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditentry"')
    ]
    assert len(inserts) == 1
    entries = AuditEntry.objects.filter(action=Action.VIEW, object_type="participants.participant")
    assert {e.object_id for e in entries} == shown and entries.count() == len(shown) == 2
    for entry in entries:
        assert entry.channel == CHANNEL
        assert entry.actor == world_a.users["company"]
        assert entry.organization == world_a.orgs["company"]
        assert entry.facilitator == world_a.facilitator
        assert entry.detail == "liste des participants"


def test_the_detail_is_logged_once(world_a):
    participant = world_a.objects["participant"]
    client = api_as(world_a.users["facilitator_member"], name="Pilotage")
    assert client.get(f"/api/v1/participants/{participant.uuid}").status_code == 200
    entry = AuditEntry.objects.get(action=Action.VIEW, object_id=str(participant.uuid))
    assert entry.channel == "API, jeton « Pilotage »"
    assert entry.detail == "fiche du participant"
    assert entry.organization == world_a.facilitator


def test_an_empty_page_logs_nothing(world_a):
    Participant.objects.filter(facilitator=world_a.facilitator).update(prescriber=None)
    client = api_as(world_a.users["prescriber"])
    assert client.get("/api/v1/participants").json()["results"] == []
    assert not AuditEntry.objects.filter(action=Action.VIEW).exists()


def _count(client, page_size) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/participants", {"page_size": page_size})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("role", ["facilitator_admin", "company"])
def test_the_list_runs_in_constant_queries(role, world_a):
    for _ in range(22):
        person = ParticipantFactory(facilitator=world_a.facilitator, prescriber=world_a.orgs["prescriber"])
        EligibilityAssessmentFactory(participant=person, criteria=["deld", "rsa"])
        EligibilityAssessmentFactory(participant=person, assessed_on=person.entry_date.replace(year=2022))
        ContractFactory(lot=world_a.objects["lot"], company=world_a.orgs["company"], participant=person)
    client = api_as(world_a.users[role])
    client.get("/api/v1/moi")  # the token's first use is recorded once
    one, shown_one = _count(client, 1)
    twenty, shown_twenty = _count(client, 20)
    assert (shown_one, shown_twenty) == (1, 20)
    assert one == twenty


def test_a_merged_record_is_left_out_of_lists_and_points_to_the_kept_one(world_a):
    kept = world_a.objects["participant"]
    duplicate = ParticipantFactory(facilitator=world_a.facilitator, merged_into=kept)
    client = api_as(world_a.users["facilitator_admin"])
    assert str(duplicate.uuid) not in ids(client.get("/api/v1/participants", {"page_size": 500}))
    body = client.get(f"/api/v1/participants/{duplicate.uuid}").json()
    assert body["merged_into"] == str(kept.uuid)
    assert client.get(f"/api/v1/participants/{kept.uuid}").json()["merged_into"] is None


def test_the_cursor_walks_the_participants(world_a):
    client = api_as(world_a.users["facilitator_admin"])
    seen, cursor = [], None
    while True:
        body = client.get(
            "/api/v1/participants", {"page_size": 1, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [row["id"] for row in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3


def test_a_token_without_read_scope_reads_no_people(world_a):
    client = api_as(world_a.users["facilitator_admin"], scopes=["heures:ecriture"])
    assert client.get("/api/v1/participants").status_code == 403
    assert not AuditEntry.objects.filter(action=Action.VIEW).exists()


# --- Outcomes ------------------------------------------------------------------------------------------------


def test_the_staff_list_their_outcomes(world_a, world_b):
    response = api_as(world_a.users["facilitator_member"]).get("/api/v1/outcomes")
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == uuids(world_a, "outcome", "other_outcome")
    outcome = world_a.objects["outcome"]
    row = rows[str(outcome.uuid)]
    assert row == {
        "id": str(outcome.uuid),
        "participant": str(outcome.participant.uuid),
        "contract": str(outcome.contract.uuid),
        "timing": "end",
        "category": "cdi",
        "detail": "",
        "observed_on": outcome.observed_on.isoformat(),
        "updated_at": row["updated_at"],
    }


@pytest.mark.parametrize("role", ["company", "structure", "prescriber", "buyer"])
def test_outcomes_are_for_the_staff_only(role, world_a):
    assert api_as(world_a.users[role]).get("/api/v1/outcomes").status_code == 403
