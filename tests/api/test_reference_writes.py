"""Reference-data writes through the API (issue 16): operations, a lot's clause, awards — through the pages'
actions (same checks, same audit entries), with optimistic locking, `Idempotency-Key`, and 409 conflicts."""

import threading

import pytest
from django.db import connection, connections

from clausier.accounts.models import ApiScope
from clausier.audit.models import Action, AuditEntry
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis
from tests.api.helpers import ApiClient, api_as, make_token
from tests.factories import ClauseFactory, ref

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def _staff(w, **kwargs):
    return api_as(w.users["facilitator_member"], name="Outil achats", **kwargs)


def _new_lot(w, number="99"):
    return Lot.objects.create(
        facilitator=w.facilitator, market=w.objects["market"], number=number, title="Lot nu"
    )


def _delete(client, path):  # the helpers' client has no DELETE: through its Django client, with its token
    return client.client.delete(path, headers=client.headers)


def _audited(obj, action) -> AuditEntry:
    return AuditEntry.objects.get(object_id=str(obj.uuid), action=action)


# --- Operations ---------------------------------------------------------------------------------------------


def test_staff_create_and_update_an_operation_audited_with_the_token(world_a):
    client = _staff(world_a)
    created = client.post(
        "/api/v1/operations", {"buyer": str(world_a.orgs["buyer"].uuid), "name": "NPNRU Bellefontaine"}
    )
    assert created.status_code == 201, created.content
    operation = Operation.objects.get(uuid=created.json()["id"])
    assert operation.facilitator == world_a.facilitator
    assert _audited(operation, Action.CREATE).channel == "API, jeton « Outil achats »"
    version = created.json()["version"]
    patched = client.patch(f"/api/v1/operations/{operation.uuid}", {"version": version, "kind": "anru"})
    assert patched.status_code == 200 and patched.json()["version"] == version + 1
    assert _audited(operation, Action.UPDATE).changes["kind"] == ["building", "anru"]
    stale = client.patch(f"/api/v1/operations/{operation.uuid}", {"version": version, "name": "Autre"})
    assert stale.status_code == 409 and stale["Content-Type"] == PROBLEM
    operation.refresh_from_db()
    assert operation.name == "NPNRU Bellefontaine"


def test_an_unknown_commune_names_the_field_and_writes_nothing(world_a):
    before = Operation.objects.count()
    response = _staff(world_a).post(
        "/api/v1/operations",
        {"buyer": str(world_a.orgs["buyer"].uuid), "name": "Opération", "commune": "00000"},
    )
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["body.commune"]
    assert Operation.objects.count() == before


def test_another_facilitators_buyer_is_not_found(world_a, world_b):
    response = _staff(world_a).post(
        "/api/v1/operations", {"buyer": str(world_b.orgs["buyer"].uuid), "name": "Opération"}
    )
    assert response.status_code == 404


# --- The lot's clause ---------------------------------------------------------------------------------------


def test_create_a_lots_clause_sized_as_on_the_clause_page(world_a):
    lot = _new_lot(world_a)
    client = _staff(world_a)
    body = {
        "legal_basis": "ccp_l2112_2",
        "method": "formula",
        "amount_ht": "600000",
        "labour_share": "0.4",
        "insertion_rate": "0.05",
        "hourly_cost": "30",
    }
    response = client.post(f"/api/v1/lots/{lot.uuid}/clause", body)
    assert response.status_code == 201, response.content
    clause = Clause.objects.get(lot=lot)
    assert clause.hours_target == 400 == clause.computed_hours  # 600 000 × 0,4 × 0,05 ÷ 30
    assert response.json()["legal_basis"] == "ccp_l2112_2"
    assert _audited(clause, Action.CREATE).channel == "API, jeton « Outil achats »"
    again = client.post(f"/api/v1/lots/{lot.uuid}/clause", body)
    assert again.status_code == 409 and "déjà une clause" in again.json()["detail"]


def test_a_clause_update_recomputes_takes_its_version_and_a_stale_one_is_a_409(world_a):
    lot, clause = world_a.objects["lot"], world_a.objects["clause"]
    client = _staff(world_a)
    version = Clause.objects.get(pk=clause.pk).version
    # Half the amount: the target follows the computation (it was not typed over it).
    response = client.patch(f"/api/v1/lots/{lot.uuid}/clause", {"version": version, "amount_ht": "500000"})
    assert response.status_code == 200, response.content
    assert float(response.json()["hours_target"]) == 416.0  # 500 000 × 0,5 × 0,05 ÷ 30, rounded down
    assert response.json()["version"] == version + 1
    assert "amount_ht" in _audited(clause, Action.UPDATE).changes
    stale = client.patch(f"/api/v1/lots/{lot.uuid}/clause", {"version": version, "notes": "Trop tard"})
    assert stale.status_code == 409 and stale["Content-Type"] == PROBLEM
    assert Clause.objects.get(pk=clause.pk).notes == ""


def test_a_typed_target_needs_its_reason_and_an_unknown_basis_is_refused(world_a):
    lot, clause = world_a.objects["lot"], world_a.objects["clause"]
    client = _staff(world_a)
    typed = client.patch(
        f"/api/v1/lots/{lot.uuid}/clause", {"version": clause.version, "hours_target": "900"}
    )
    assert typed.status_code == 422
    assert [e["field"] for e in typed.json()["errors"]] == ["body.override_reason"]
    unknown = client.patch(
        f"/api/v1/lots/{lot.uuid}/clause", {"version": clause.version, "legal_basis": "inconnue"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.legal_basis"
    assert Clause.objects.get(pk=clause.pk).version == clause.version


def test_a_repealed_basis_is_refused_for_a_new_clause_but_kept_by_a_clause_that_has_it(world_a):
    client = _staff(world_a)
    lot = _new_lot(world_a)  # a market notified in 2023: ord2015_38 was repealed on 31/03/2019
    body = {"legal_basis": "ord2015_38", "method": "fixed", "hours_target": "250"}
    refused = client.post(f"/api/v1/lots/{lot.uuid}/clause", body)
    assert refused.status_code == 422 and refused["Content-Type"] == PROBLEM
    assert refused.json()["detail"].startswith("Données invalides : body.legal_basis : Art. 38")
    assert "abrogé" in refused.json()["detail"]
    assert [e["field"] for e in refused.json()["errors"]] == ["body.legal_basis"]
    assert not Clause.objects.filter(lot=lot).exists()
    # A clause already under that text keeps it (named again or not), and may not come back to it once left.
    old = ClauseFactory(lot=_new_lot(world_a, "96"), old_text=True)
    path = f"/api/v1/lots/{old.lot.uuid}/clause"
    kept = client.patch(path, {"version": old.version, "legal_basis": "ord2015_38", "notes": "Marché ancien"})
    assert kept.status_code == 200, kept.content
    assert kept.json()["legal_basis"] == "ord2015_38"
    left = client.patch(path, {"version": kept.json()["version"], "legal_basis": "ccp_l2112_2"})
    assert left.status_code == 200, left.content
    back = client.patch(path, {"version": left.json()["version"], "legal_basis": "ord2015_38"})
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "body.legal_basis"
    assert Clause.objects.get(pk=old.pk).legal_basis == ref(LegalBasis, "ccp_l2112_2")


def test_patching_a_fixed_clause_keeps_its_number_of_hours(world_a):
    clause = ClauseFactory(lot=_new_lot(world_a), fixed=True)
    response = _staff(world_a).patch(
        f"/api/v1/lots/{clause.lot.uuid}/clause", {"version": clause.version, "notes": "Relance"}
    )
    assert response.status_code == 200, response.content
    assert float(response.json()["hours_target"]) == 500.0


def test_patching_a_lot_without_clause_is_a_404(world_a):
    lot = _new_lot(world_a)
    response = _staff(world_a).patch(f"/api/v1/lots/{lot.uuid}/clause", {"version": 1, "notes": "x"})
    assert response.status_code == 404 and "pas encore de clause" in response.json()["detail"]


# --- Awards -------------------------------------------------------------------------------------------------


def test_award_a_lot_to_a_partner_then_again_is_a_409(world_a):
    lot = _new_lot(world_a)
    client = _staff(world_a)
    body = {"lot": str(lot.uuid), "company": str(world_a.orgs["company"].uuid), "amount_ht": "120000"}
    response = client.post("/api/v1/awards", body)
    assert response.status_code == 201, response.content
    award = Award.objects.get(uuid=response.json()["id"])
    assert award.lot == lot and award.role == "holder"
    assert _audited(award, Action.CREATE).channel == "API, jeton « Outil achats »"
    again = client.post("/api/v1/awards", body)
    assert again.status_code == 409 and again["Content-Type"] == PROBLEM
    assert again.json()["detail"] == "Cette entreprise est déjà attributaire de ce lot dans ce rôle."
    assert Award.objects.filter(lot=lot).count() == 1


def test_award_by_siret_creates_the_partner_company(world_a):
    lot = _new_lot(world_a)
    body = {"lot": str(lot.uuid), "siret": "73282932000074", "name": "Maçonnerie Nouvelle", "role": "sub"}
    response = _staff(world_a).post("/api/v1/awards", body)
    assert response.status_code == 201, response.content
    assert response.json()["company_siret"] == "73282932000074"
    assert response.json()["company_name"] == "Maçonnerie Nouvelle"


def test_company_and_siret_are_one_or_the_other(world_a):
    lot = _new_lot(world_a)
    response = _staff(world_a).post("/api/v1/awards", {"lot": str(lot.uuid)})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.company"
    assert not Award.objects.filter(lot=lot).exists()


def test_two_simultaneous_awards_give_one_award_and_a_409(world_a, monkeypatch):
    """The race: the other request inserts the same award between `award_lot`'s check and its save; the unique
    constraint refuses ours (IntegrityError, in a savepoint): a 409, not a 500, and the database still usable."""
    lot, company = _new_lot(world_a), world_a.orgs["company"]
    validate = Award.full_clean

    def the_other_request_commits_first(self, *args, **kwargs):
        validate(self, *args, **kwargs)
        Award.objects.bulk_create([Award(facilitator=world_a.facilitator, lot=lot, company=company)])

    monkeypatch.setattr(Award, "full_clean", the_other_request_commits_first)
    response = _staff(world_a).post("/api/v1/awards", {"lot": str(lot.uuid), "company": str(company.uuid)})
    assert response.status_code == 409, response.content
    assert "déjà attributaire" in response.json()["detail"]
    # The database still answers (the savepoint was rolled back, not the test's transaction). Here the "other"
    # row was inserted in our savepoint and went with it; in production it is committed by the other request.
    assert not Award.objects.filter(lot=lot).exists()


def test_an_award_committed_just_before_our_validation_is_a_409(world_a, monkeypatch):
    """The other window: the other request commits the same award after `award_lot`'s check but before our
    `full_clean`, whose unique check then refuses ours: a 409 too, not a 422."""
    lot, company = _new_lot(world_a), world_a.orgs["company"]
    validate = Award.full_clean

    def the_other_request_committed_before(self, *args, **kwargs):
        if not Award.objects.filter(lot=lot, company=company).exists():
            Award.objects.bulk_create([Award(facilitator=world_a.facilitator, lot=lot, company=company)])
        validate(self, *args, **kwargs)

    monkeypatch.setattr(Award, "full_clean", the_other_request_committed_before)
    response = _staff(world_a).post("/api/v1/awards", {"lot": str(lot.uuid), "company": str(company.uuid)})
    assert response.status_code == 409, response.content
    assert "déjà attributaire" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two concurrent transactions (a connection per thread): SQLite serialises its writers",
)
@pytest.mark.parametrize("kind", ["award", "clause"])
def test_two_concurrent_creations_on_postgresql_give_one_201_and_one_409(world_a, monkeypatch, kind):
    """For real: two threads (two connections) both pass the "already exists?" checks (the action's, and the
    model's validation), then both insert: the unique index makes the second wait for the first's commit, then
    refuses it (IntegrityError, in its savepoint): one 201, one 409, one row."""
    lot = _new_lot(world_a)
    if kind == "award":
        model, path = Award, "/api/v1/awards"
        body = {"lot": str(lot.uuid), "company": str(world_a.orgs["company"].uuid)}
    else:
        model, path = Clause, f"/api/v1/lots/{lot.uuid}/clause"
        body = {"legal_basis": "ccp_l2112_2", "method": "fixed", "hours_target": "250"}
    raw = make_token(world_a.users["facilitator_member"], name="Outil achats")[1]
    barrier = threading.Barrier(2, timeout=10)
    validate = model.full_clean

    def then_wait_for_the_other(self, *args, **kwargs):
        validate(self, *args, **kwargs)  # checked: no such row (the other request's is not inserted yet)
        barrier.wait()

    monkeypatch.setattr(model, "full_clean", then_wait_for_the_other)
    answers = []

    def send():
        try:
            answers.append(ApiClient(raw).post(path, body))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not barrier.broken  # both requests were past their checks at the same time
    assert sorted(a.status_code for a in answers) == [201, 409], [a.content for a in answers]
    conflict = next(a for a in answers if a.status_code == 409)
    assert conflict["Content-Type"] == PROBLEM and "déjà" in conflict.json()["detail"]
    assert model.objects.filter(lot=lot).count() == 1
    created = model.objects.get(lot=lot)
    assert AuditEntry.objects.filter(action=Action.CREATE, object_id=str(created.uuid)).count() == 1


def test_remove_an_award_audited_with_the_token(world_a):
    award = Award.objects.create(
        facilitator=world_a.facilitator,
        lot=world_a.objects["lot"],
        company=world_a.orgs["company"],
        role="co",
    )
    response = _delete(_staff(world_a), f"/api/v1/awards/{award.uuid}")
    assert response.status_code == 204, response.content
    assert not Award.objects.filter(pk=award.pk).exists()
    assert _audited(award, Action.DELETE).channel == "API, jeton « Outil achats »"


def test_an_award_contracts_rest_on_is_not_removed(world_a):
    award = world_a.objects["award"]
    response = _delete(_staff(world_a), f"/api/v1/awards/{award.uuid}")
    assert response.status_code == 409 and response["Content-Type"] == PROBLEM
    assert "ne peut pas être retirée" in response.json()["detail"]
    assert Award.objects.filter(pk=award.pk).exists()
    assert not AuditEntry.objects.filter(object_id=str(award.uuid), action=Action.DELETE).exists()


def test_writes_need_the_reference_scope(world_a):
    client = _staff(world_a, scopes=[ApiScope.READ])
    lot = _new_lot(world_a)
    body = {"lot": str(lot.uuid), "company": str(world_a.orgs["company"].uuid)}
    assert client.post("/api/v1/awards", body).status_code == 403
    assert _delete(client, f"/api/v1/awards/{world_a.objects['award'].uuid}").status_code == 403
    assert not Award.objects.filter(lot=lot).exists()


# --- Idempotency-Key on every creation ----------------------------------------------------------------------


def _creations(w):
    """(path, body, model) of each POST of the reference data."""
    market, company = w.objects["market"], w.orgs["company"]
    return {
        "markets": (
            "/api/v1/markets",
            {"buyer": str(w.orgs["buyer"].uuid), "reference": "2026-IDEM", "title": "Voirie"},
            Market,
        ),
        "lots": (f"/api/v1/markets/{market.uuid}/lots", {"number": "42", "title": "Peinture"}, Lot),
        "operations": (
            "/api/v1/operations",
            {"buyer": str(w.orgs["buyer"].uuid), "name": "Opération rejouée"},
            Operation,
        ),
        "clause": (
            f"/api/v1/lots/{_new_lot(w, '98').uuid}/clause",
            {"legal_basis": "ccp_l2112_2", "method": "fixed", "hours_target": "250"},
            Clause,
        ),
        "awards": (
            "/api/v1/awards",
            {"lot": str(_new_lot(w, "97").uuid), "company": str(company.uuid)},
            Award,
        ),
    }


@pytest.mark.parametrize("kind", ["markets", "lots", "operations", "clause", "awards"])
def test_a_retried_creation_with_its_key_is_made_once(world_a, kind):
    path, body, model = _creations(world_a)[kind]
    client = _staff(world_a)
    before = model.objects.count()
    first = client.post(path, body, **{"Idempotency-Key": f"essai-{kind}"})
    assert first.status_code == 201, first.content
    replay = client.post(path, body, **{"Idempotency-Key": f"essai-{kind}"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert model.objects.count() == before + 1
