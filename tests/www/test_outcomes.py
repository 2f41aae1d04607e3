"""The outcomes area: "Sorties à renseigner" and the outcome form — staff only, constant queries, French errors."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.participants.models import Outcome
from tests.factories import ContractFactory

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2025, 3, 10)
LIST = reverse("www:outcome_followup")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr("clausier.www.outcomes.views.today", lambda: TODAY)


def rows(response):
    """(timing, contract uuid) of each row, in order."""
    html = response.content.decode()
    return re.findall(r'data-timing="(end|6m)".*?/contrats/([0-9a-f-]{36})/sortie/', html, flags=re.S)


def test_follow_up_lists_the_world_sorted_by_due_date(world_a, facilitator_member_client):
    # World A (today 10/03/2025): the structure's contract ended 31/07/2024 with its end outcome,
    # the company's direct contract ended 31/07/2024 without any; the neighbour's like the first.
    response = facilitator_member_client.get(LIST)
    assert response.status_code == 200
    contract, direct, other = (world_a.objects[k] for k in ("contract", "direct_contract", "other_contract"))
    found = rows(response)
    assert found[0] == ("end", str(direct.uuid))  # due 31/07/2024
    assert sorted(found[1:]) == sorted(("6m", str(c.uuid)) for c in (contract, direct, other))  # 31/01/2025
    assert "Sorties à renseigner" in response.content.decode()

    only_end = facilitator_member_client.get(LIST, {"timing": "end"})
    assert rows(only_end) == [("end", str(direct.uuid))]
    by_employer = facilitator_member_client.get(LIST, {"employer": str(world_a.orgs["structure"].uuid)})
    assert rows(by_employer) == [("6m", str(contract.uuid))]
    by_name = facilitator_member_client.get(LIST, {"q": direct.participant.last_name})
    assert {uuid for _, uuid in rows(by_name)} >= {str(direct.uuid)}
    by_participant = facilitator_member_client.get(LIST, {"tri": "participant"})
    assert by_participant.status_code == 200 and len(rows(by_participant)) == 4


def test_htmx_partial_shows_the_same_rows(world_a, facilitator_member_client):
    full = facilitator_member_client.get(LIST, {"timing": "6m"})
    partial = facilitator_member_client.get(LIST, {"timing": "6m"}, headers={"HX-Request": "true"})
    assert rows(full) == rows(partial) and len(rows(partial)) == 3
    assert "<html" not in partial.content.decode()


@pytest.mark.parametrize("role", ["buyer", "company", "structure", "prescriber"])
def test_non_staff_get_404(world_a, client_for, role):
    assert client_for(world_a.users[role]).get(LIST).status_code == 404


def test_follow_up_costs_constant_queries(world_a, facilitator_member_client):
    facilitator_member_client.get(LIST)  # warm up (session, reference data)
    with CaptureQueriesContext(connection) as few:
        facilitator_member_client.get(LIST)
    for _ in range(8):
        ContractFactory(
            lot=world_a.objects["lot"], company=world_a.orgs["company"], end_date=D(2024, 8, 31)
        )  # 6 months: 28/02/2025
    with CaptureQueriesContext(connection) as many:
        response = facilitator_member_client.get(LIST)
    assert len(rows(response)) == 4 + 16
    assert len(many) == len(few)


def test_other_tenant_rows_are_not_listed(worlds, client_for):
    a, b = worlds
    response = client_for(b.users["facilitator_member"]).get(LIST)
    listed = {uuid for _, uuid in rows(response)}
    assert listed and not listed & {str(a.objects[k].uuid) for k in ("contract", "direct_contract")}


# --- The form ---------------------------------------------------------------------------------------------------


def test_recording_an_end_outcome(world_a, facilitator_member_client):
    contract = world_a.objects["direct_contract"]
    url = reverse("www:outcome_end", kwargs={"uuid": contract.uuid})
    page = facilitator_member_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<optgroup label="Emploi durable">' in html and '<optgroup label="Sortie positive">' in html
    assert 'value="2024-07-31"' in html  # defaults to the contract's end

    response = facilitator_member_client.post(
        url, {"category": "cdi", "detail": "CDI chez l'attributaire", "observed_on": "01/08/2024"}
    )
    assert response.status_code == 302 and response["Location"] == LIST
    outcome = Outcome.objects.get(contract=contract, timing="end")
    assert (outcome.category.code, outcome.observed_on, outcome.participant_id) == (
        "cdi",
        D(2024, 8, 1),
        contract.participant_id,
    )
    entry = AuditEntry.objects.get(object_id=str(outcome.uuid))
    assert entry.action == Action.CREATE and entry.actor == world_a.users["facilitator_member"]
    # Gone from the follow-up; the 6-month one stays.
    assert ("end", str(contract.uuid)) not in rows(facilitator_member_client.get(LIST))
    assert "Sortie déjà renseignée" in facilitator_member_client.get(url).content.decode()


@pytest.mark.parametrize(
    ("timing_url", "payload", "message"),
    [
        (
            "www:outcome_end",
            {"category": "cdi", "observed_on": "30/07/2024"},
            "ne peut pas être antérieure à la fin du contrat (31/07/2024)",
        ),
        (
            "www:outcome_six_months",
            {"category": "cdi", "observed_on": "15/01/2025"},
            "La situation à 6 mois se constate au plus tôt le 16/01/2025",
        ),
        ("www:outcome_end", {"category": "", "observed_on": "01/08/2024"}, "Ce champ est obligatoire"),
        (
            "www:outcome_end",
            {"category": "pas-une-sortie", "observed_on": "01/08/2024"},
            "Sélectionnez un choix valide",
        ),
        ("www:outcome_end", {"category": "cdi", "observed_on": "31/02/2024"}, "Saisissez une date valide"),
        (
            "www:outcome_end",
            {"category": "cdi", "observed_on": "01/01/2099"},
            "ne peut pas être dans le futur",
        ),
    ],
)
def test_invalid_outcomes_are_refused_in_french(
    world_a, facilitator_member_client, timing_url, payload, message
):
    contract = world_a.objects["direct_contract"]
    url = reverse(timing_url, kwargs={"uuid": contract.uuid})
    response = facilitator_member_client.post(url, payload)
    assert response.status_code == 200
    html = response.content.decode().replace("&#x27;", "'")
    assert message in html and "rien n'a été enregistré" in html
    assert not Outcome.objects.filter(contract=contract).exists()


def test_six_month_outcome_and_correction(world_a, facilitator_admin_client):
    contract = world_a.objects["contract"]  # ended 31/07/2024, end outcome already recorded
    url = reverse("www:outcome_six_months", kwargs={"uuid": contract.uuid})
    assert 'value="2025-01-31"' in facilitator_admin_client.get(url).content.decode()
    facilitator_admin_client.post(url, {"category": "qualifying_training", "observed_on": "16/01/2025"})
    six = Outcome.objects.get(contract=contract, timing="6m")
    assert six.category.group == "positive"
    # Correcting the end outcome keeps one row per contract and timing.
    end_url = reverse("www:outcome_end", kwargs={"uuid": contract.uuid})
    facilitator_admin_client.post(end_url, {"category": "job_seeking", "observed_on": "31/07/2024"})
    assert Outcome.objects.filter(contract=contract).count() == 2
    assert Outcome.objects.get(contract=contract, timing="end").category.code == "job_seeking"


def test_an_open_ended_contract_has_no_outcome_yet(world_a, facilitator_member_client):
    contract = ContractFactory(lot=world_a.objects["lot"], company=world_a.orgs["company"], durable=True)
    url = reverse("www:outcome_end", kwargs={"uuid": contract.uuid})
    response = facilitator_member_client.post(url, {"category": "cdi", "observed_on": "01/08/2024"})
    assert "n'a pas de date de fin" in response.content.decode().replace("&#x27;", "'")
    assert not Outcome.objects.filter(contract=contract).exists()


def test_contract_page_links_to_outcome_forms_for_staff_only(world_a, client_for):
    contract = world_a.objects["contract"]
    url = reverse("www:contract_detail", kwargs={"uuid": contract.uuid})
    staff_page = client_for(world_a.users["facilitator_member"]).get(url).content.decode()
    assert reverse("www:outcome_six_months", kwargs={"uuid": contract.uuid}) in staff_page
    company_page = client_for(world_a.users["structure"]).get(url).content.decode()
    assert "sortie/6-mois" not in company_page and "Sorties" not in company_page
