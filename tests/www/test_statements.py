"""Monthly statements: lists per role, the statement page, lifecycle buttons (POST only, French refusals)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.employment.models import MonthlyStatement, StatementStatus, StatementTransition
from tests.factories import ContractFactory, HoursRecordFactory

pytestmark = pytest.mark.django_db
FEB = datetime.date(2024, 2, 1)


def statement_of(world, month=FEB):
    return MonthlyStatement.objects.get(employer=world.orgs["structure"], month=month)


def detail(statement):
    return reverse("www:statement_detail", kwargs={"uuid": statement.uuid})


def move(statement):
    return reverse("www:statement_transition", kwargs={"uuid": statement.uuid})


def test_staff_list_with_filters(world_a, world_b, facilitator_member_client):
    url = reverse("www:statement_list")
    html = facilitator_member_client.get(url).content.decode()
    assert html.count('data-testid="row"') == 6  # A: 3 months × (structure, other structure); none of B
    assert world_b.orgs["structure"].name not in html
    html = facilitator_member_client.get(url, {"month": "2024-03"}).content.decode()
    assert html.count('data-testid="row"') == 2
    html = facilitator_member_client.get(url, {"status": "draft"}).content.decode()
    assert 'data-testid="no-results"' in html
    html = facilitator_member_client.get(url, {"q": "other_structure", "month": "zzz"}).content
    assert html.decode().count('data-testid="row"') == 3  # a garbage month is ignored
    assert facilitator_member_client.get(url, {"status": "nimporte", "tri": "x"}).status_code == 200


def test_an_employer_sees_only_its_own_statements(world_a, client_for):
    url = reverse("www:statement_list")
    html = client_for(world_a.users["structure"]).get(url).content.decode()
    assert html.count('data-testid="row"') == 3
    assert world_a.orgs["other_structure"].name not in html
    # The company's employees are placed by the structure: the statements are the structure's, not its own.
    assert 'data-testid="no-results"' in client_for(world_a.users["company"]).get(url).content.decode()
    assert client_for(world_a.users["company"]).get(detail(statement_of(world_a))).status_code == 404
    assert client_for(world_a.users["other_structure"]).get(detail(statement_of(world_a))).status_code == 404


def test_statement_list_queries_do_not_grow(world_a, facilitator_member_client):
    url = reverse("www:statement_list")
    facilitator_member_client.get(url)
    counts = []
    for extra in (3, 12):
        for i in range(extra):
            HoursRecordFactory(
                contract=ContractFactory(lot=world_a.objects["lot"]), month=datetime.date(2024, 2 + i % 5, 1)
            )
        with CaptureQueriesContext(connection) as queries:
            assert facilitator_member_client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_statement_page_shows_records_and_buttons(world_a, facilitator_member_client, client_for):
    statement = statement_of(world_a)
    html = facilitator_member_client.get(detail(statement)).content.decode()
    assert html.count('data-testid="record-row"') == 1
    assert 'data-testid="statement-counted">120 h<' in html
    assert "Renvoyer pour correction" in html and "Valider le relevé" not in html  # already validated
    employer = client_for(world_a.users["structure"]).get(detail(statement)).content.decode()
    assert 'data-testid="statement-actions"' not in employer  # a validated statement: nothing to do for it
    assert "Saisir ou corriger" not in employer


def test_the_lifecycle_with_comments_and_log(world_a, facilitator_member_client, client_for):
    statement = statement_of(world_a)
    staff, structure = world_a.users["facilitator_member"], client_for(world_a.users["structure"])
    # Returning needs a comment: refused in French, nothing changes.
    response = facilitator_member_client.post(
        move(statement), {"vers": "returned", "commentaire": " "}, follow=True
    )
    assert "le commentaire est obligatoire" in response.content.decode()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED and not StatementTransition.objects.exists()
    # Returned with a comment, then submitted again by the employer, then validated by the staff.
    response = facilitator_member_client.post(
        move(statement), {"vers": "returned", "commentaire": "Il manque les heures de M. Dupont."}
    )
    assert response.status_code == 302 and response["Location"] == detail(statement)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.RETURNED
    # The employer cannot validate its own statement.
    html = structure.post(move(statement), {"vers": "validated"}, follow=True).content.decode()
    assert "Vous n&#x27;avez pas le droit" in html
    structure.post(move(statement), {"vers": "submitted"})
    facilitator_member_client.post(move(statement), {"vers": "validated"})
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED
    log = list(statement.transitions.values_list("from_status", "to_status", "by"))
    assert log == [
        ("validated", "returned", staff.pk),
        ("returned", "submitted", world_a.users["structure"].pk),
        ("submitted", "validated", staff.pk),
    ]
    html = facilitator_member_client.get(detail(statement)).content.decode()
    assert "Il manque les heures de M. Dupont." in html
    assert html.count("<li>") >= 3 and 'data-testid="transitions"' in html


@pytest.mark.parametrize("to", ["draft", "nimporte", "", "validated"])
def test_impossible_or_garbage_transitions_are_messages(to, world_a, facilitator_member_client):
    statement = statement_of(world_a)  # validated: validated → validated is not a move
    response = facilitator_member_client.post(move(statement), {"vers": to}, follow=True)
    assert response.status_code == 200
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED
    assert "fr-alert--error" in response.content.decode()


def test_get_on_the_transition_url_only_redirects(world_a, facilitator_member_client):
    statement = statement_of(world_a)
    response = facilitator_member_client.get(move(statement))
    assert response.status_code == 302 and response["Location"] == detail(statement)
    assert not StatementTransition.objects.exists()


def test_staff_of_another_facilitator_get_404(world_a, world_b, client_for):
    client = client_for(world_b.users["facilitator_admin"])
    statement = statement_of(world_a)
    assert client.get(detail(statement)).status_code == 404
    assert client.post(move(statement), {"vers": "returned", "commentaire": "x"}).status_code == 404
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED
