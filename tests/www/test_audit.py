"""The audit log page: the facilitator's administrators read their own entries (never another tenant's),
filtered by action, object type, author, dates and object label, paginated with a constant number of
queries, before/after values readable in the row; read-only; everyone else gets a 404."""

import datetime
import html
import re

import pytest
from django.db import connection, models
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action, AuditEntry
from clausier.www.kit.navigation import menu_for
from tests.factories import ParticipantFactory, acting

pytestmark = pytest.mark.django_db

URL = reverse("www:audit_list")


def rows(response) -> list[str]:
    return re.findall(r'<tr data-testid="row">(.*?)</tr>', response.content.decode(), re.S)


def text(response) -> str:
    return html.unescape(response.content.decode())


def log(world, obj, *, role="facilitator_member", action=Action.UPDATE, changes=None, detail="", at=None):
    entry = record(action=action, obj=obj, by=acting(world.users[role]), changes=changes, detail=detail)
    if at is not None:  # the application never rewrites an entry; the test dates it with the base queryset
        models.QuerySet.update(AuditEntry.objects.filter(pk=entry.pk), at=at)
    return entry


def aware(year, month, day, hour=12):
    return timezone.make_aware(datetime.datetime(year, month, day, hour))


def test_admins_read_their_own_entries_only(worlds, client_for):
    a, b = worlds
    log(a, a.objects["participant"], detail="fiche de A modifiée")
    log(b, b.objects["participant"], detail="fiche de B modifiée")
    log(a, a.objects["participant"], role="company", action=Action.VIEW, detail="vue par l'entreprise")
    response = client_for(a.users["facilitator_admin"]).get(URL)
    assert response.status_code == 200
    page = text(response)
    assert "fiche de A modifiée" in page and "vue par l'entreprise" in page, "partners' entries are shown"
    assert "fiche de B modifiée" not in page and str(b.objects["participant"]) not in page
    assert f"au titre de {a.orgs['company'].name}" in page


@pytest.mark.parametrize(
    "role", ["facilitator_member", "buyer", "company", "structure", "prescriber", "other_company"]
)
def test_everyone_but_the_admins_gets_404(role, world_a, client_for):
    log(world_a, world_a.objects["participant"])
    assert client_for(world_a.users[role]).get(URL).status_code == 404


def test_read_only(world_a, facilitator_admin_client):
    entry = log(world_a, world_a.objects["participant"], detail="intact")
    for method in ("post", "put", "patch", "delete"):
        assert getattr(facilitator_admin_client, method)(URL).status_code == 405, method
    assert AuditEntry.objects.get(pk=entry.pk).detail == "intact"
    # No other page of the area: the list is the only URL under the log's path.
    from tests.test_access_probe import APP_ROUTES

    assert [r.name for r in APP_ROUTES if r.pattern.startswith("journal-d-audit/")] == ["www:audit_list"]
    assert "?format=" not in facilitator_admin_client.get(URL).content.decode(), "no export from here"


def test_before_and_after_values_are_readable(world_a, facilitator_admin_client):
    participant = world_a.objects["participant"]
    log(
        world_a,
        participant,
        changes={
            "last_name": ["Dupont", "Durand"],
            "email": ["", "x@example.org"],
            "informed_on": [None, "2024-03-02"],
        },
    )
    response = facilitator_admin_client.get(URL)
    [row] = [r for r in rows(response) if "Durand" in r]
    row = html.unescape(row)
    assert 'data-testid="changes"' in row
    assert "Valeurs avant / après (3)" in row
    assert re.search(r"<dt[^>]*>Nom d.usage</dt>\s*<dd[^>]*>Dupont → Durand</dd>", row)
    assert "(vide) → x@example.org" in row and "— → 2024-03-02" in row
    assert "Participant" in row and str(participant) in row  # the object type in French, and its label


def test_filters(world_a, facilitator_admin_client):
    participant, market = world_a.objects["participant"], world_a.objects["market"]
    log(world_a, participant, action=Action.VIEW, detail="vue-1", at=aware(2024, 1, 10))
    log(
        world_a, market, action=Action.UPDATE, detail="maj-2", role="facilitator_admin", at=aware(2024, 2, 10)
    )
    other = ParticipantFactory(facilitator=world_a.facilitator, last_name="Zorglub")
    log(world_a, other, action=Action.UPDATE, detail="maj-3", at=aware(2024, 3, 10))

    def shown(**params):
        page = text(facilitator_admin_client.get(URL, params))
        return {d for d in ("vue-1", "maj-2", "maj-3") if d in page}

    assert shown() == {"vue-1", "maj-2", "maj-3"}
    assert shown(action="view") == {"vue-1"}
    assert shown(object_type="procurement.market") == {"maj-2"}
    assert shown(actor=world_a.users["facilitator_admin"].email) == {"maj-2"}
    assert shown(start="01/02/2024") == {"maj-2", "maj-3"}
    assert shown(end="10/02/2024") == {"vue-1", "maj-2"}, "the end day is included"
    assert shown(start="01/02/2024", end="29/02/2024") == {"maj-2"}
    assert shown(q="zorglub") == {"maj-3"}, "search on the object label"
    assert shown(action="view", q="zorglub") == set()
    # A user of another facilitator is not even a choice (the filter is then ignored as invalid).
    page = text(facilitator_admin_client.get(URL))
    assert world_a.users["facilitator_member"].email in page
    assert "membre-b@clausier.example" not in page


def test_newest_first_and_paginated(world_a, facilitator_admin_client):
    participant = world_a.objects["participant"]
    for i in range(55):
        log(world_a, participant, detail=f"entrée {i:02d}")
    first = facilitator_admin_client.get(URL)
    assert len(rows(first)) == 50
    assert "entrée 54" in rows(first)[0]
    assert "55 résultats" in text(first)
    second = facilitator_admin_client.get(URL, {"page": 2})
    assert len(rows(second)) == 5 and "entrée 00" in rows(second)[-1]
    oldest_first = facilitator_admin_client.get(URL, {"tri": "date"})
    assert "entrée 00" in rows(oldest_first)[0]


def test_constant_number_of_queries(world_a, facilitator_admin_client):
    def page_queries(n):
        for i in range(n):
            who = ("facilitator_member", "facilitator_admin", "company")[i % 3]
            log(world_a, world_a.objects["participant"], role=who, changes={"phone": ["1", str(i)]})
        with CaptureQueriesContext(connection) as queries:
            response = facilitator_admin_client.get(URL, {"action": "update", "q": "a"})
        assert response.status_code == 200
        return len(queries)

    few = page_queries(3)
    many = page_queries(60)
    assert few == many, f"{few} requêtes pour 3 entrées, {many} pour 63"


def test_htmx_partial_shows_the_same_rows(world_a, facilitator_admin_client):
    for i in range(3):
        log(world_a, world_a.objects["participant"], detail=f"entrée {i}")
    # Searched on the person's name (the label of the entries): a fixed letter missed random Faker names.
    query = {"q": str(world_a.objects["participant"])}
    full = facilitator_admin_client.get(URL, query)
    partial = facilitator_admin_client.get(URL, query, headers={"HX-Request": "true"})
    assert rows(full) == rows(partial) and len(rows(full)) == 3
    assert "<html" not in partial.content.decode()


def test_the_menu_entry_is_for_admins_only(world_a):
    def labels(role):
        user = acting(world_a.users[role])
        request = RequestFactory().get("/")
        request.user, request.organization = user, user.current_organization
        return {item["label"] for item in menu_for(request)}

    assert "Journal d'audit" in labels("facilitator_admin")
    assert "Journal d'audit" not in labels("facilitator_member")
    assert "Journal d'audit" not in labels("company")
