"""The API's contracts, hours and statements: what each employer reads, the bulk declaration of a month (all or
nothing, idempotent on demand) and the statement's submission."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clausier.accounts.models import IdempotentRequest
from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.participants.models import AssessmentCriterion
from clausier.procurement.followup import add_months, month_start
from tests.api.helpers import ApiClient, api_as, make_token
from tests.factories import (
    ContractFactory,
    CountingRuleFactory,
    EligibilityAssessmentFactory,
    LotFactory,
    MarketFactory,
)

pytestmark = pytest.mark.django_db

MAY = "2024-05"
MAY_DATE = datetime.date(2024, 5, 1)


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


def keys_of(value) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def company_contracts(world, n=2):
    """`n` more direct-hire contracts of the world's company (its own employees), running in 2024."""
    return [ContractFactory(lot=world.lot, company=world.company) for _ in range(n)]


def declaration(*rows):
    return {
        "entries": [{"contract": str(c.uuid), "hours": str(h), "training_hours": str(t)} for c, h, t in rows]
    }


# --- Contracts ----------------------------------------------------------------------------------------------


def test_a_company_sees_the_contracts_of_its_obligations_and_never_the_criteria(world_a):
    contract, direct = world_a.objects["contract"], world_a.objects["direct_contract"]
    EligibilityAssessmentFactory(participant=direct.participant, criteria=["rsa", "rqth"])
    response = api_as(world_a.users["company"]).get("/api/v1/contracts")
    assert response.status_code == 200
    # Its own employee and the person a structure places on its lot; not the neighbour company's.
    assert ids(response) == {str(contract.uuid), str(direct.uuid)}
    row = next(r for r in response.json()["results"] if r["id"] == str(contract.uuid))
    participant = contract.participant
    assert row == {
        "id": str(contract.uuid),
        "participant": str(participant.uuid),
        "participant_name": str(participant),
        "lot": str(world_a.lot.uuid),
        "market": str(world_a.market.uuid),
        "company": str(world_a.company.uuid),
        "employer": str(world_a.structure.uuid),
        "modality": "provision",
        "contract_type": "ctti",
        "rome_code": contract.rome_code,
        "job_title": contract.job_title,
        "start_date": "2024-02-01",
        "end_date": "2024-07-31",
        "weekly_hours": "35.00",
        "updated_at": row["updated_at"],
    }
    assert (
        participant.first_name in row["participant_name"]
        and participant.last_name.upper() in row["participant_name"]
    )
    assert not {k for k in keys_of(response.json()) if "criteri" in k or "eligib" in k}
    lines = AssessmentCriterion.objects.filter(
        assessment__participant__in=[contract.participant, direct.participant]
    ).select_related("criterion")
    codes = {line.criterion.code for line in lines}
    assert {"deld", "rsa", "rqth"} <= codes
    text = response.content.decode()
    for line in lines:
        assert f'"{line.criterion.code}"' not in text
        assert line.criterion.label not in text
    assert "birth_date" not in text and str(participant.birth_date) not in text


def test_a_structure_sees_the_contracts_it_employs_and_the_staff_all_theirs(world_a):
    structure = api_as(world_a.users["structure"]).get("/api/v1/contracts")
    assert ids(structure) == {str(world_a.objects["contract"].uuid)}
    staff = api_as(world_a.users["facilitator_member"]).get("/api/v1/contracts")
    assert ids(staff) == {
        str(world_a.objects[k].uuid) for k in ("contract", "other_contract", "direct_contract")
    }


@pytest.mark.parametrize("role", ["buyer", "prescriber"])
def test_buyers_and_prescribers_have_no_contracts(world_a, role):
    response = api_as(world_a.users[role]).get("/api/v1/contracts")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_one_contract_writes_a_view_entry_with_the_token_channel(world_a):
    contract = world_a.objects["contract"]
    token, raw = make_token(world_a.users["company"], name="Logiciel de paie")
    response = ApiClient(raw).get(f"/api/v1/contracts/{contract.uuid}")
    assert response.status_code == 200
    assert response.json()["id"] == str(contract.uuid)
    assert "criteria" not in response.content.decode()
    entry = AuditEntry.objects.filter(action=Action.VIEW).latest("pk")
    # Like the contract page: the person whose data was shown, the contract in the detail.
    assert entry.object_type == "participants.participant"
    assert entry.object_id == str(contract.participant.uuid)
    assert str(contract.uuid) in entry.detail
    assert entry.actor == world_a.users["company"]
    assert entry.organization == world_a.company
    assert entry.facilitator_id == world_a.facilitator.pk
    assert entry.channel == "API, jeton « Logiciel de paie »"


def test_another_tenants_or_the_neighbours_contract_is_a_404(world_a, world_b):
    contract = world_a.objects["contract"]
    views = AuditEntry.objects.filter(action=Action.VIEW).count()
    for user in (
        world_b.users["facilitator_admin"],
        world_b.users["company"],
        world_a.users["other_company"],
    ):
        response = api_as(user).get(f"/api/v1/contracts/{contract.uuid}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    assert AuditEntry.objects.filter(action=Action.VIEW).count() == views  # nothing shown, nothing logged
    assert ids(api_as(world_b.users["facilitator_admin"]).get("/api/v1/contracts")).isdisjoint(
        {str(contract.uuid)}
    )


def test_the_contract_list_costs_the_same_queries_whatever_the_page_size(world_a):
    for _ in range(25):
        ContractFactory(lot=world_a.lot, company=world_a.company, provision=True)
    client = api_as(world_a.users["facilitator_admin"])
    assert client.get("/api/v1/contracts").status_code == 200  # the token's last use is stamped once
    counts = {}
    for size in (1, 20):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/contracts", {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
        cache = [q for q in queries if "clausier_cache" in q["sql"]]
        assert len(cache) <= 4  # the token's rate-limit window in the shared cache: read, then written
    assert counts[1] == counts[20]
    assert counts[20] - len(cache) <= 5  # the token, its creator's membership, the page


# --- Hours and statements -----------------------------------------------------------------------------------


def test_hours_lists_the_visible_records_with_their_statement(world_a, world_b):
    contract = world_a.objects["contract"]
    records = HoursRecord.objects.filter(contract=contract).select_related("statement")
    client = api_as(world_a.users["structure"])
    response = client.get("/api/v1/hours")
    assert response.status_code == 200
    assert ids(response) == {str(r.uuid) for r in records}
    march = next(r for r in records if r.month == datetime.date(2024, 3, 1))
    rows = client.get("/api/v1/hours", {"month": "2024-03-01"}).json()["results"]
    assert rows == [
        {
            "id": str(march.uuid),
            "contract": str(contract.uuid),
            "month": "2024-03-01",
            "hours": "140.00",
            "training_hours": "0.00",
            "counted_hours": "140.00",
            "statement": str(march.statement.uuid),
            "statement_status": "validated",
            "updated_at": rows[0]["updated_at"],
        }
    ]
    assert ids(client.get("/api/v1/hours", {"contract": str(contract.uuid)})) == {
        str(r.uuid) for r in records
    }
    direct = world_a.objects["direct_contract"]
    assert ids(client.get("/api/v1/hours", {"contract": str(direct.uuid)})) == set()
    assert ids(api_as(world_a.users["company"]).get("/api/v1/hours")) == {str(r.uuid) for r in records}
    assert ids(api_as(world_a.users["other_structure"]).get("/api/v1/hours")).isdisjoint(
        {str(r.uuid) for r in records}
    )
    assert ids(api_as(world_b.users["facilitator_admin"]).get("/api/v1/hours")).isdisjoint(
        {str(r.uuid) for r in records}
    )


def test_statements_are_the_employers_own(world_a):
    mine = MonthlyStatement.objects.filter(employer=world_a.structure)
    assert mine.count() == 3
    client = api_as(world_a.users["structure"])
    response = client.get("/api/v1/statements")
    assert response.status_code == 200
    assert ids(response) == {str(s.uuid) for s in mine}
    row = response.json()["results"][0]
    assert set(row) == {"id", "facilitator", "employer", "employer_name", "month", "status", "updated_at"}
    assert row["employer_name"] == world_a.structure.name
    assert row["facilitator"] == str(world_a.facilitator.uuid)
    assert len(client.get("/api/v1/statements", {"month": "2024-02-01"}).json()["results"]) == 1
    assert client.get("/api/v1/statements", {"status": "draft"}).json()["results"] == []
    # The company for which the structure works does not see the structure's statements.
    assert ids(api_as(world_a.users["company"]).get("/api/v1/statements")).isdisjoint(
        {str(s.uuid) for s in mine}
    )


# --- Declaring a month --------------------------------------------------------------------------------------


def test_a_company_declares_a_month_in_one_request(world_a):
    CountingRuleFactory(
        facilitator=world_a.facilitator,
        coefficient=Decimal("1.5"),
        count_training=False,
        valid_from=datetime.date(2024, 1, 1),
    )
    first, second = company_contracts(world_a)
    direct = world_a.objects["direct_contract"]
    _, raw = make_token(world_a.users["company"], name="Paie Silae")
    client = ApiClient(raw)
    response = client.put(
        f"/api/v1/statements/{MAY}/hours",
        declaration((first, "151.66", "0"), (second, 100, 20), (direct, "35.5", "35.5")),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["month"] == "2024-05-01"
    assert (body["created"], body["updated"], body["unchanged"]) == (3, 0, 0)
    records = {
        r.contract_id: r
        for r in HoursRecord.objects.filter(month=MAY_DATE, contract__company=world_a.company)
    }
    assert set(records) == {first.pk, second.pk, direct.pk}
    # Counted by hand: 1.5 × worked hours, training excluded.
    assert records[first.pk].counted_hours == Decimal("227.49")  # 151.66 × 1.5
    assert records[second.pk].counted_hours == Decimal("120.00")  # (100 − 20) × 1.5
    assert records[direct.pk].counted_hours == Decimal("0.00")  # (35.5 − 35.5) × 1.5
    assert records[second.pk].training_hours == Decimal("20")
    statement = MonthlyStatement.objects.get(employer=world_a.company, month=MAY_DATE)
    assert statement.status == StatementStatus.DRAFT
    assert {r.statement_id for r in records.values()} == {statement.pk}
    rows = body["records"]
    assert [r["contract"] for r in rows] == [str(first.uuid), str(second.uuid), str(direct.uuid)]
    assert [r["counted_hours"] for r in rows] == ["227.49", "120.00", "0.00"]
    assert {r["id"] for r in rows} == {str(r.uuid) for r in records.values()}
    assert {(r["statement"], r["statement_status"]) for r in rows} == {(str(statement.uuid), "draft")}
    entry = AuditEntry.objects.get(action=Action.UPDATE, object_id=str(statement.uuid))
    assert entry.channel == "API, jeton « Paie Silae »"
    assert entry.actor == world_a.users["company"]
    assert set(entry.changes) == {str(first.uuid), str(second.uuid), str(direct.uuid)}


def test_declaring_again_updates_the_same_records(world_a):
    first, second = company_contracts(world_a)
    client = api_as(world_a.users["company"])
    assert (
        client.put(
            f"/api/v1/statements/{MAY}/hours", declaration((first, 100, 0), (second, 80, 0))
        ).status_code
        == 200
    )
    before = {r.contract_id: r.pk for r in HoursRecord.objects.filter(month=MAY_DATE)}
    response = client.put(
        f"/api/v1/statements/{MAY}-01/hours", declaration((first, 120, 10), (second, 80, 0))
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 1)
    assert len(body["records"]) == 2
    after = {r.contract_id: r for r in HoursRecord.objects.filter(month=MAY_DATE)}
    assert {k: r.pk for k, r in after.items()} == before  # one record per contract and month
    assert (after[first.pk].hours, after[first.pk].training_hours) == (Decimal("120"), Decimal("10"))
    assert after[first.pk].counted_hours == Decimal("120")


def test_one_bad_row_and_nothing_is_written(world_a, world_b):
    first, second, third = company_contracts(world_a, 3)
    structure_contract = world_a.objects["contract"]  # visible to the company, employed by the structure
    client = api_as(world_a.users["company"])
    body = declaration((first, 100, 0), (second, 300, 0), (first, 10, 0), (structure_contract, 10, 0))
    body["entries"].append({"contract": str(world_b.objects["direct_contract"].uuid), "hours": 10})
    body["entries"].append({"contract": str(third.uuid), "hours": "10.555"})
    audit = AuditEntry.objects.count()
    response = client.put(f"/api/v1/statements/{MAY}/hours", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    fields = [e["field"] for e in errors]
    assert "body.entries.1" in fields  # 300 h: over the plausible maximum
    assert "body.entries.0" not in fields and "body.entries.0.contract" not in fields
    by_field = {e["field"]: e["message"] for e in errors}
    assert "220" in by_field["body.entries.1"]
    assert "ligne 0" in by_field["body.entries.2.contract"]  # the same contract twice
    assert "employeur" in by_field["body.entries.3.contract"]  # not the company's own employee
    assert "introuvable" in by_field["body.entries.4.contract"]  # another tenant's: unknown, not forbidden
    assert "décimales" in by_field["body.entries.5.hours"]
    assert not HoursRecord.objects.filter(month=MAY_DATE).exists()
    assert not MonthlyStatement.objects.filter(month=MAY_DATE).exists()
    assert AuditEntry.objects.count() == audit


def test_schema_errors_name_the_row(world_a):
    first, _ = company_contracts(world_a)
    client = api_as(world_a.users["company"])
    response = client.put(
        f"/api/v1/statements/{MAY}/hours",
        {"entries": [{"contract": str(first.uuid), "hours": 10}, {"contract": "pas-un-uuid", "hours": "x"}]},
    )
    assert response.status_code == 422
    # ninja names the body parameter in its paths (`body.payload.entries.1.hours`): the row is named either way.
    fields = {e["field"] for e in response.json()["errors"]}
    assert {f for f in fields if f.startswith("body.") and f.endswith("entries.1.contract")}
    assert {f for f in fields if f.startswith("body.") and f.endswith("entries.1.hours")}
    assert not {f for f in fields if "entries.0" in f}
    assert client.put(f"/api/v1/statements/{MAY}/hours", {"entries": []}).status_code == 422
    too_many = {"entries": [{"contract": str(first.uuid), "hours": 1}] * 2001}
    assert client.put(f"/api/v1/statements/{MAY}/hours", too_many).status_code == 422
    assert not HoursRecord.objects.filter(month=MAY_DATE).exists()


@pytest.mark.parametrize("month", ["2024-5", "mai-2024", "2024-05-15", "2024-13"])
def test_a_bad_month_is_a_422_naming_the_path(world_a, month):
    first, _ = company_contracts(world_a)
    response = api_as(world_a.users["company"]).put(
        f"/api/v1/statements/{month}/hours", declaration((first, 10, 0))
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.month"


def test_a_month_not_started_yet_is_refused(world_a):
    contract = ContractFactory(
        lot=world_a.lot, company=world_a.company, start_date=datetime.date(2024, 1, 1), end_date=None
    )
    next_month = add_months(month_start(timezone.localdate()), 1)
    client = api_as(world_a.users["company"])
    response = client.put(f"/api/v1/statements/{next_month:%Y-%m}/hours", declaration((contract, 10, 0)))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.month"
    assert "pas encore commencé" in response.json()["detail"]
    assert not HoursRecord.objects.filter(contract=contract).exists()
    # The month in progress is open (payroll closes before its end).
    this_month = f"{month_start(timezone.localdate()):%Y-%m}"
    assert (
        client.put(f"/api/v1/statements/{this_month}/hours", declaration((contract, 10, 0))).status_code
        == 200
    )


def test_a_month_outside_the_contract_names_the_row(world_a):
    first, _ = company_contracts(world_a)  # February to July 2024
    response = api_as(world_a.users["company"]).put(
        "/api/v1/statements/2024-09/hours", declaration((first, 10, 0))
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.entries.0"]
    assert "dates du contrat" in response.json()["errors"][0]["message"]


def test_the_staff_declare_for_any_of_their_employers(world_a, world_b):
    contract, direct = world_a.objects["contract"], world_a.objects["direct_contract"]
    client = api_as(world_a.users["facilitator_member"])
    response = client.put(f"/api/v1/statements/{MAY}/hours", declaration((contract, 70, 0), (direct, 80, 0)))
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    statements = MonthlyStatement.objects.filter(month=MAY_DATE, facilitator=world_a.facilitator)
    assert {s.employer_id for s in statements} == {world_a.structure.pk, world_a.company.pk}
    other = api_as(world_b.users["facilitator_admin"]).put(
        f"/api/v1/statements/{MAY}/hours", declaration((contract, 1, 0))
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "body.entries.0.contract"


def test_an_employer_of_two_facilitators_declares_and_submits_both_at_once(world_a, world_b):
    company = world_a.company
    mine = ContractFactory(lot=world_a.lot, company=company)
    lot_b = LotFactory(market=MarketFactory(facilitator=world_b.facilitator))
    elsewhere = ContractFactory(lot=lot_b, company=company)
    client = api_as(world_a.users["company"])
    response = client.put(f"/api/v1/statements/{MAY}/hours", declaration((mine, 50, 0), (elsewhere, 60, 0)))
    assert response.status_code == 200, response.content
    statements = MonthlyStatement.objects.filter(employer=company, month=MAY_DATE)
    assert {s.facilitator_id for s in statements} == {world_a.facilitator.pk, world_b.facilitator.pk}
    only_b = client.post(f"/api/v1/statements/{MAY}/submit?facilitator={world_b.facilitator.uuid}")
    assert only_b.status_code == 200, only_b.content
    assert [(s["facilitator"], s["status"]) for s in only_b.json()] == [
        (str(world_b.facilitator.uuid), "submitted")
    ]
    both = client.post(f"/api/v1/statements/{MAY}/submit")
    assert both.status_code == 200, both.content
    assert {s["status"] for s in both.json()} == {"submitted"} and len(both.json()) == 2
    assert client.post(f"/api/v1/statements/{MAY}/submit").status_code == 422  # nothing left to send


def test_a_refusal_of_one_facilitator_undoes_the_others(world_a, world_b):
    company = world_a.company
    mine = ContractFactory(lot=world_a.lot, company=company)
    elsewhere = ContractFactory(
        lot=LotFactory(market=MarketFactory(facilitator=world_b.facilitator)), company=company
    )
    MonthlyStatement.objects.create(
        facilitator=world_b.facilitator, employer=company, month=MAY_DATE, status=StatementStatus.SUBMITTED
    )
    response = api_as(world_a.users["company"]).put(
        f"/api/v1/statements/{MAY}/hours", declaration((mine, 50, 0), (elsewhere, 60, 0))
    )
    assert response.status_code == 422
    assert "transmis" in response.json()["detail"]
    assert not HoursRecord.objects.filter(month=MAY_DATE).exists()


def test_submitting_then_declaring_again_is_refused(world_a):
    first, _ = company_contracts(world_a)
    _, raw = make_token(world_a.users["company"], name="Paie")
    client = ApiClient(raw)
    assert client.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 100, 0))).status_code == 200
    response = client.post(f"/api/v1/statements/{MAY}/submit")
    assert response.status_code == 200, response.content
    statement = MonthlyStatement.objects.get(employer=world_a.company, month=MAY_DATE)
    assert statement.status == StatementStatus.SUBMITTED
    assert response.json() == [
        {
            "id": str(statement.uuid),
            "facilitator": str(world_a.facilitator.uuid),
            "employer": str(world_a.company.uuid),
            "employer_name": world_a.company.name,
            "month": "2024-05-01",
            "status": "submitted",
            "updated_at": response.json()[0]["updated_at"],
        }
    ]
    entry = AuditEntry.objects.get(action=Action.TRANSITION, object_id=str(statement.uuid))
    assert entry.changes == {"status": ["draft", "submitted"]}
    assert entry.channel == "API, jeton « Paie »"
    again = client.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 110, 0)))
    assert again.status_code == 422
    assert "transmis" in again.json()["detail"]
    assert HoursRecord.objects.get(contract=first, month=MAY_DATE).hours == Decimal("100")


def test_submitting_a_month_without_a_statement_is_a_404_and_is_for_employers(world_a):
    assert api_as(world_a.users["company"]).post(f"/api/v1/statements/{MAY}/submit").status_code == 404
    staff = api_as(world_a.users["facilitator_admin"]).post("/api/v1/statements/2024-02/submit")
    assert staff.status_code == 403
    # The structure's February statement is validated: it cannot be sent again.
    validated = api_as(world_a.users["structure"]).post("/api/v1/statements/2024-02/submit")
    assert validated.status_code == 422
    assert "validé" in validated.json()["detail"].lower()


def test_the_hours_scope_is_needed_to_write_and_reading_to_read(world_a):
    first, _ = company_contracts(world_a)
    reader = api_as(world_a.users["company"], scopes=["lecture"])
    response = reader.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 10, 0)))
    assert response.status_code == 403
    assert "Déclaration des heures" in response.json()["detail"]
    assert reader.post(f"/api/v1/statements/{MAY}/submit").status_code == 403
    writer = api_as(world_a.users["company"], scopes=["heures:ecriture"])
    assert writer.get("/api/v1/contracts").status_code == 403
    assert writer.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 10, 0))).status_code == 200
    assert HoursRecord.objects.get(contract=first, month=MAY_DATE).hours == Decimal(10)


# --- Idempotency-Key ----------------------------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_first_answer_without_writing_again(world_a):
    first, second = company_contracts(world_a)
    token, raw = make_token(world_a.users["company"])
    client = ApiClient(raw)
    body = declaration((first, 100, 0), (second, 50, 0))
    one = client.put(f"/api/v1/statements/{MAY}/hours", body, **{"Idempotency-Key": "paie-2024-05"})
    assert one.status_code == 200
    assert one.json()["created"] == 2
    audit, stamps = AuditEntry.objects.count(), dict(HoursRecord.objects.values_list("pk", "updated_at"))
    # Meanwhile the staff change a record: a replay must not write it back.
    HoursRecord.objects.filter(contract=first, month=MAY_DATE).update(hours=Decimal(99))
    two = client.put(f"/api/v1/statements/{MAY}/hours", body, **{"Idempotency-Key": "paie-2024-05"})
    assert two.status_code == 200
    assert two.content == one.content
    assert two["Content-Type"] == one["Content-Type"]
    assert two["Idempotent-Replayed"] == "true"
    assert AuditEntry.objects.count() == audit
    assert HoursRecord.objects.get(contract=first, month=MAY_DATE).hours == Decimal(99)
    assert IdempotentRequest.objects.filter(token=token).count() == 1
    HoursRecord.objects.filter(contract=first, month=MAY_DATE).update(hours=Decimal(100))
    assert dict(HoursRecord.objects.values_list("pk", "updated_at")) == stamps
    # The same key for another body: refused, nothing written.
    other = client.put(
        f"/api/v1/statements/{MAY}/hours", declaration((first, 120, 0)), **{"Idempotency-Key": "paie-2024-05"}
    )
    assert other.status_code == 422
    assert other.json()["detail"] == "Cette clé d'idempotence a déjà servi pour une autre requête."
    assert HoursRecord.objects.get(contract=first, month=MAY_DATE).hours == Decimal(100)
    assert AuditEntry.objects.count() == audit
    # A new key runs the request.
    three = client.put(
        f"/api/v1/statements/{MAY}/hours", declaration((first, 120, 0)), **{"Idempotency-Key": "k2"}
    )
    assert three.status_code == 200 and three.json()["updated"] == 1


def test_a_failed_request_is_not_stored_and_keys_are_per_token(world_a):
    first, _ = company_contracts(world_a)
    _, raw = make_token(world_a.users["company"])
    client = ApiClient(raw)
    key = {"Idempotency-Key": "k"}
    bad = client.put("/api/v1/statements/2024-09/hours", declaration((first, 10, 0)), **key)
    assert bad.status_code == 422
    assert not IdempotentRequest.objects.exists()
    assert (
        client.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 10, 0)), **key).status_code == 200
    )
    # Another token of the same organization has its own keys.
    other = ApiClient(make_token(world_a.users["company"])[1])
    again = other.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 12, 0)), **key)
    assert again.status_code == 200 and again.json()["updated"] == 1


def test_the_submission_is_idempotent_too(world_a):
    first, _ = company_contracts(world_a)
    client = api_as(world_a.users["company"])
    assert client.put(f"/api/v1/statements/{MAY}/hours", declaration((first, 10, 0))).status_code == 200
    key = {"Idempotency-Key": "envoi-2024-05"}
    one = client.post(f"/api/v1/statements/{MAY}/submit", **key)
    two = client.post(f"/api/v1/statements/{MAY}/submit", **key)
    assert one.status_code == two.status_code == 200
    assert json.loads(two.content) == json.loads(one.content)
    assert AuditEntry.objects.filter(action=Action.TRANSITION).count() == 1


def test_the_session_ignores_the_idempotency_key(world_a, client):
    first, _ = company_contracts(world_a)
    client.force_login(world_a.users["company"])
    for hours in (10, 20):
        response = client.put(
            f"/api/v1/statements/{MAY}/hours",
            json.dumps(declaration((first, hours, 0))),
            content_type="application/json",
            headers={"Idempotency-Key": "same"},
        )
        assert response.status_code == 200, response.content
    assert HoursRecord.objects.get(contract=first, month=MAY_DATE).hours == Decimal(20)
    assert not IdempotentRequest.objects.exists()


def test_two_racing_requests_with_one_key_write_once(world_a, monkeypatch):
    """The second of two concurrent requests (it looked before the first stored its answer) runs, fails to
    store its answer on the unique key, rolls its write back and replays the first answer."""
    from clausier.api import idempotency

    first, _ = company_contracts(world_a)
    client = ApiClient(make_token(world_a.users["company"])[1])
    body, key = declaration((first, 100, 0)), {"Idempotency-Key": "course"}
    one = client.put(f"/api/v1/statements/{MAY}/hours", body, **key)
    assert one.status_code == 200
    HoursRecord.objects.filter(contract=first, month=MAY_DATE).update(hours=Decimal(99))
    audit = AuditEntry.objects.count()
    real, calls = idempotency.stored_answer, []

    def late(token, key):  # the first look finds nothing yet
        calls.append(key)
        return None if len(calls) == 1 else real(token, key)

    monkeypatch.setattr(idempotency, "stored_answer", late)
    two = client.put(f"/api/v1/statements/{MAY}/hours", body, **key)
    assert len(calls) == 2
    assert two.status_code == 200 and two.content == one.content
    assert two["Idempotent-Replayed"] == "true"
    assert HoursRecord.objects.get(contract=first, month=MAY_DATE).hours == Decimal(99)  # its write undone
    assert AuditEntry.objects.count() == audit


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions: PostgreSQL")
def test_two_concurrent_requests_with_one_key_on_postgresql(world_a, monkeypatch):
    """For real: two threads (two connections) both look the key up before either stores it."""
    import threading

    from django.db import connections

    from clausier.api import idempotency

    first, _ = company_contracts(world_a)
    raw = make_token(world_a.users["company"])[1]
    real, barrier, lock, calls = (
        idempotency.stored_answer,
        threading.Barrier(2, timeout=10),
        threading.Lock(),
        [],
    )

    def after_both_looked(token, key):
        found = real(token, key)
        with lock:
            calls.append(key)
            first_looks = len(calls) <= 2
        if first_looks:
            barrier.wait()  # each request's first look; the replay's look does not wait
        return found

    monkeypatch.setattr(idempotency, "stored_answer", after_both_looked)
    answers = []

    def send():
        try:
            answers.append(
                ApiClient(raw).put(
                    f"/api/v1/statements/{MAY}/hours",
                    declaration((first, 100, 0)),
                    **{"Idempotency-Key": "k"},
                )
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 3  # two first looks, and the loser's look for the answer to replay
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert IdempotentRequest.objects.count() == 1
    assert HoursRecord.objects.filter(contract=first, month=MAY_DATE).count() == 1
    assert AuditEntry.objects.filter(action=Action.UPDATE).count() == 1
