"""Candidacies through the API: a prescriber proposes (the page's action, its checks by field name) and follows
its own; the facilitator's staff read theirs; nobody else."""

import datetime

import pytest

from clausier.audit.models import Action, AuditEntry
from clausier.matching.models import Candidacy, CandidacyCriterion, CandidacyStatus
from clausier.organizations.models import Partnership
from clausier.participants.models import Participant
from clausier.reference.models import EligibilityCriterion
from tests.api.helpers import ALL_SCOPES, api_as
from tests.factories import CandidacyFactory, CommuneFactory, ParticipantFactory, ref, rome_job

pytestmark = pytest.mark.django_db
CHANNEL = "API, jeton « Paie »"


@pytest.fixture
def candidate(world_a):
    CommuneFactory()
    rome_job("F1703")
    rome_job("F1604", label="Monteur")
    return {
        "first_name": "Léa",
        "last_name": "Martin",
        "birth_date": "1988-09-12",
        "sex": "F",
        "email": "lea.martin@exemple.fr",
        "phone": "06 11 22 33 44",
        "commune": "31555",
        "situation": "long_term_job_seeker",
        "qualification_level": "infra3",
        "available_from": "2025-01-06",
        "wished_jobs": ["F1703", "f1604"],
        "referent": "Mme Conseillère",
        "criteria": [{"criterion": "rqth", "evidence_kind": "mdph", "evidence_date": "2024-11-01"}],
        "informed": True,
    }


def state():
    return (
        Candidacy.objects.count(),
        CandidacyCriterion.objects.count(),
        AuditEntry.objects.exclude(action=Action.VIEW).count(),
    )


def fields(response) -> list[str]:
    """The fields a 422 names, as paths in the JSON body (ninja adds the name of the view's parameter to the
    paths of its own schema errors, `body.payload.sex`; the endpoint's checks name `body.sex`)."""
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    return [e["field"].replace("body.payload.", "body.", 1) for e in response.json()["errors"]]


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- Lists ---------------------------------------------------------------------------------------------------


def test_a_prescriber_lists_its_own_candidacies_and_the_staff_theirs(world_a, world_b):
    fac = world_a.facilitator
    mine = CandidacyFactory(facilitator=fac, prescriber=world_a.orgs["prescriber"])
    other = CandidacyFactory(facilitator=fac, prescriber=world_a.orgs["other_prescriber"])
    elsewhere = CandidacyFactory(facilitator=world_b.facilitator, prescriber=world_b.orgs["prescriber"])
    assert ids(api_as(world_a.users["prescriber"]).get("/api/v1/candidacies")) == {str(mine.uuid)}
    staff = ids(api_as(world_a.users["facilitator_member"]).get("/api/v1/candidacies"))
    assert staff == {str(mine.uuid), str(other.uuid)}
    assert str(elsewhere.uuid) not in staff
    assert ids(api_as(world_b.users["facilitator_admin"]).get("/api/v1/candidacies")) == {str(elsewhere.uuid)}


def test_a_list_row_holds_the_status_and_the_refusal_and_no_criterion(world_a):
    declined = CandidacyFactory(
        facilitator=world_a.facilitator,
        prescriber=world_a.orgs["prescriber"],
        status=CandidacyStatus.DECLINED,
        decline_reason="Pas de poste adapté pour l'instant.",
        decided_at=datetime.datetime(2025, 1, 15, 10, 0, tzinfo=datetime.UTC),
        referent="M. Conseiller",
    )
    declined.wished_jobs.set([rome_job("F1703")], through_defaults={"facilitator": declined.facilitator})
    CandidacyCriterion.objects.create(
        candidacy=declined, criterion=ref(EligibilityCriterion, "rqth"), evidence_kind="mdph"
    )
    response = api_as(world_a.users["prescriber"]).get("/api/v1/candidacies", {"status": "declined"})
    (row,) = response.json()["results"]
    assert row["id"] == str(declined.uuid)
    assert row["status"] == "declined"
    assert row["decline_reason"] == "Pas de poste adapté pour l'instant."
    assert row["decided_at"].startswith("2025-01-15")
    assert row["referent"] == "M. Conseiller"
    assert row["wished_jobs"] == ["F1703"]
    assert row["facilitator"] == str(world_a.facilitator.uuid)
    assert row["participant"] is None
    assert "rqth" not in response.content.decode()
    other = api_as(world_a.users["prescriber"]).get("/api/v1/candidacies", {"status": "proposed"})
    assert other.json()["results"] == []


def test_the_record_of_a_validated_candidacy_is_shown_to_who_sees_it(world_a):
    fac, prescriber = world_a.facilitator, world_a.orgs["prescriber"]
    referred = CandidacyFactory(facilitator=fac, prescriber=prescriber, validated=True)
    referred.participant.prescriber = prescriber
    referred.participant.save()
    linked = CandidacyFactory(
        facilitator=fac, prescriber=prescriber, validated=True
    )  # a record nobody referred
    staff = {
        r["id"]: r
        for r in api_as(world_a.users["facilitator_admin"]).get("/api/v1/candidacies").json()["results"]
    }
    assert staff[str(referred.uuid)]["participant"] == str(referred.participant.uuid)
    assert staff[str(linked.uuid)]["participant"] == str(linked.participant.uuid)
    own = {
        r["id"]: r for r in api_as(world_a.users["prescriber"]).get("/api/v1/candidacies").json()["results"]
    }
    assert own[str(referred.uuid)]["participant"] == str(referred.participant.uuid)
    assert own[str(linked.uuid)]["participant"] is None


def test_each_candidate_of_a_list_is_logged(world_a):
    for _ in range(3):
        CandidacyFactory(facilitator=world_a.facilitator, prescriber=world_a.orgs["prescriber"])
    shown = ids(api_as(world_a.users["prescriber"]).get("/api/v1/candidacies"))
    entries = AuditEntry.objects.filter(action=Action.VIEW, object_type="matching.candidacy")
    assert {e.object_id for e in entries} == shown and len(shown) == 3
    assert {e.channel for e in entries} == {CHANNEL}
    assert {e.facilitator_id for e in entries} == {world_a.facilitator.pk}


@pytest.mark.parametrize("role", ["company", "structure", "buyer"])
def test_other_kinds_read_no_candidacy(role, world_a):
    assert api_as(world_a.users[role]).get("/api/v1/candidacies").status_code == 403


# --- Proposing -----------------------------------------------------------------------------------------------


def test_a_prescriber_proposes_a_candidacy(world_a, candidate):
    client = api_as(world_a.users["prescriber"])
    response = client.post("/api/v1/candidacies", candidate)
    assert response.status_code == 201, response.content
    body = response.json()
    candidacy = Candidacy.objects.get(uuid=body["id"])
    assert body["status"] == "proposed"
    assert body["facilitator"] == str(world_a.facilitator.uuid)
    assert body["prescriber"] == str(world_a.orgs["prescriber"].uuid)
    assert sorted(body["wished_jobs"]) == ["F1604", "F1703"]
    assert (candidacy.first_name, candidacy.last_name, candidacy.commune_id) == ("Léa", "Martin", "31555")
    assert candidacy.qualification_level.code == "infra3"
    assert candidacy.informed_on == datetime.date.today()
    assert candidacy.proposed_by == world_a.users["prescriber"]
    assert [(c.criterion.code, c.evidence_kind) for c in candidacy.criterion_lines.all()] == [
        ("rqth", "mdph")
    ]
    entry = AuditEntry.objects.get(action=Action.CREATE, object_id=str(candidacy.uuid))
    assert entry.channel == CHANNEL
    assert entry.facilitator == world_a.facilitator
    assert entry.organization == world_a.orgs["prescriber"]
    assert candidacy.transitions.count() == 1
    assert str(candidacy.uuid) in ids(client.get("/api/v1/candidacies"))
    assert str(candidacy.uuid) in ids(api_as(world_a.users["facilitator_member"]).get("/api/v1/candidacies"))


def test_a_prescriber_of_several_facilitators_names_one(world_a, world_b, candidate):
    Partnership.objects.create(facilitator=world_b.facilitator, partner=world_a.orgs["prescriber"])
    client = api_as(world_a.users["prescriber"])
    before = state()
    response = client.post("/api/v1/candidacies", candidate)
    assert fields(response) == ["body.facilitator"]
    assert str(world_b.facilitator.uuid) in response.json()["errors"][0]["message"]
    assert state() == before
    response = client.post("/api/v1/candidacies", {**candidate, "facilitator": str(world_b.facilitator.uuid)})
    assert response.status_code == 201, response.content
    assert Candidacy.objects.get(uuid=response.json()["id"]).facilitator == world_b.facilitator
    assert response.json()["facilitator"] == str(world_b.facilitator.uuid)


def test_a_facilitator_that_is_not_a_partner_is_refused(world_a, world_b, candidate):
    before = state()
    response = api_as(world_a.users["prescriber"]).post(
        "/api/v1/candidacies", {**candidate, "facilitator": str(world_b.facilitator.uuid)}
    )
    assert fields(response) == ["body.facilitator"]
    assert state() == before


def test_bad_input_names_each_field_and_writes_nothing(world_a, candidate):
    before = state()
    future = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    bad = {
        **candidate,
        "first_name": "  ",
        "birth_date": future,
        "email": "pas-une-adresse",
        "postal_code": "31A",
        "commune": "99999",
        "qualification_level": "niveau-inconnu",
        "wished_jobs": ["F1703", "Z9999"],
        "informed": False,
        "criteria": [
            {"criterion": "rqth", "evidence_kind": "mdph", "evidence_date": future},
            {"criterion": "inconnu", "evidence_kind": "caf"},
            {"criterion": "rqth", "evidence_kind": "mdph"},
            {"criterion": "other_reasoned", "evidence_kind": "prescriber"},
        ],
    }
    response = api_as(world_a.users["prescriber"]).post("/api/v1/candidacies", bad)
    assert set(fields(response)) == {
        "body.first_name",
        "body.birth_date",
        "body.email",
        "body.postal_code",
        "body.commune",
        "body.qualification_level",
        "body.wished_jobs.1",
        "body.informed",
        "body.criteria.0.evidence_date",
        "body.criteria.1.criterion",
        "body.criteria.2.criterion",
        "body.prescriber_opinion",
    }
    assert state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sex": "X"}, "body.sex"),
        ({"birth_date": "12/09/1988"}, "body.birth_date"),
        ({"situation": "astronaut"}, "body.situation"),
        ({"criteria": [{"criterion": "rqth", "evidence_kind": "photo"}]}, "body.criteria.0.evidence_kind"),
        ({"nationality": "FR"}, "body.nationality"),
        ({"first_name": "x" * 121}, "body.first_name"),
    ],
)
def test_malformed_input_is_a_422_on_the_field(change, field, world_a, candidate):
    before = state()
    response = api_as(world_a.users["prescriber"]).post("/api/v1/candidacies", {**candidate, **change})
    assert field in fields(response)
    assert state() == before


def test_missing_fields_are_named(world_a, candidate):
    body = {k: v for k, v in candidate.items() if k not in {"last_name", "informed"}}
    response = api_as(world_a.users["prescriber"]).post("/api/v1/candidacies", body)
    assert {"body.last_name", "body.informed"} <= set(fields(response))


@pytest.mark.parametrize("role", ["company", "structure", "facilitator_admin", "buyer"])
def test_only_a_prescriber_proposes(role, world_a, candidate):
    before = state()
    response = api_as(world_a.users[role]).post("/api/v1/candidacies", candidate)
    assert response.status_code == 403
    assert state() == before


def test_a_token_without_the_candidacies_scope_is_refused(world_a, candidate):
    scopes = [s for s in ALL_SCOPES if s != "candidatures:ecriture"]
    client = api_as(world_a.users["prescriber"], scopes=scopes)
    before = state()
    response = client.post("/api/v1/candidacies", candidate)
    assert response.status_code == 403
    assert "candidatures" in response.json()["detail"].lower()
    assert state() == before
    assert client.get("/api/v1/candidacies").status_code == 200  # it still reads


def test_a_reasoned_criterion_with_an_opinion_is_accepted(world_a, candidate):
    body = {
        **candidate,
        "criteria": [{"criterion": "other_reasoned", "evidence_kind": "prescriber"}],
        "prescriber_opinion": "Parcours suivi depuis deux ans, motivation confirmée.",
    }
    response = api_as(world_a.users["prescriber"]).post("/api/v1/candidacies", body)
    assert response.status_code == 201, response.content
    candidacy = Candidacy.objects.get(uuid=response.json()["id"])
    assert candidacy.prescriber_opinion.startswith("Parcours suivi")


def test_a_participant_of_the_prescriber_is_unaffected_by_a_proposal(world_a, candidate):
    """Proposing never creates a participant record: the facilitator validates in its pages."""
    ParticipantFactory(facilitator=world_a.facilitator, prescriber=world_a.orgs["prescriber"])
    count = Participant.objects.count()
    assert api_as(world_a.users["prescriber"]).post("/api/v1/candidacies", candidate).status_code == 201
    assert Participant.objects.count() == count
