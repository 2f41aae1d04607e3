"""Optimistic locking: edit forms carry the version, a stale submit is refused (nothing saved, input kept),
and two simultaneous updates from the same version cannot both win (PostgreSQL, real threads)."""

import html
import threading
from html.parser import HTMLParser

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from clausier.organizations.actions import update_buyer
from clausier.participants.actions import update_participant
from clausier.procurement import actions
from clausier.procurement.models import Market, Operation
from clausier.utils.locking import STALE_UNKNOWN, EditConflict, claim
from tests.factories import MarketFactory, UserFactory, acting


class FormValues(HTMLParser):
    """The values a browser would submit for the page's POST form (inputs, selected options, textareas)."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea, self._in_form = {}, None, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.data[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_values(response, obj=None) -> dict:
    parser = FormValues()
    parser.feed(response.content.decode())
    data = {k: v[1:] if v.startswith("\n") else v for k, v in parser.data.items()}  # <textarea>\n…
    # The edit forms of operations, markets and clauses do not preselect their UUID/code choices
    # (ModelForm initial is the pk): fill them in as the user would.
    if obj is not None:
        for name, value in (
            ("buyer", lambda o: o.buyer.uuid),
            ("operation", lambda o: o.operation.uuid if o.operation_id else ""),
            ("legal_basis", lambda o: o.clause.legal_basis.code),
        ):
            if data.get(name) == "":
                data[name] = str(value(obj))
    return data


EDITS = {
    # url name, object in the world, the text field to change
    "buyer_edit": ("buyer", "name"),
    "operation_edit": ("operation", "name"),
    "market_edit": ("market", "title"),
    "lot_edit": ("lot", "title"),
    "clause_edit": ("lot", "notes"),
    "participant_edit": ("participant", "referent"),
}


def _concurrent_change(world, url_name):
    """Another member saves the same record meanwhile (through the action, as the UI would)."""
    other = acting(world.users["facilitator_admin"])
    obj = getattr(world, EDITS[url_name][0])
    obj.refresh_from_db()
    if url_name == "buyer_edit":
        update_buyer(buyer=obj, facilitator=world.facilitator, by=other, phone="0102030405")
    elif url_name == "operation_edit":
        actions.update_operation(operation=obj, by=other, description="changée ailleurs")
    elif url_name == "market_edit":
        actions.update_market(market=obj, by=other, title="Changé ailleurs")
    elif url_name == "lot_edit":
        actions.update_lot(lot=obj, by=other, title="Changé ailleurs")
    elif url_name == "clause_edit":
        clause = obj.clause
        actions.set_clause(
            lot=obj,
            by=other,
            legal_basis=clause.legal_basis,
            method="fixed",
            hours_target=clause.hours_target,
        )
    else:
        update_participant(participant=obj, by=other, phone="0102030405")


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(EDITS))
def test_stale_submit_is_refused_with_who_and_when(url_name, world_a, facilitator_member_client):
    attr, field = EDITS[url_name]
    obj = getattr(world_a, attr)
    url = reverse(f"www:{url_name}", kwargs={"uuid": obj.uuid})
    page = facilitator_member_client.get(url)
    assert page.status_code == 200
    data = form_values(page, obj)
    assert data["version"] == "1", "the edit form carries the version it was read at"
    data[field] = "Ma saisie à conserver"

    _concurrent_change(world_a, url_name)

    response = facilitator_member_client.post(url, data)
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    author = world_a.users["facilitator_admin"].get_full_name()
    assert f"Cette fiche a été modifiée entre-temps par {author} le " in text
    assert ": rechargez la page" in text
    assert "Ma saisie à conserver" in text, "the user's input is kept"
    locked = obj.clause if url_name == "clause_edit" else obj
    locked.refresh_from_db()
    assert getattr(locked, field) != "Ma saisie à conserver", "nothing saved"
    assert locked.version == 2

    # Reloading gives the new version; submitting again succeeds and takes the next version.
    data = form_values(facilitator_member_client.get(url), obj)
    assert data["version"] == "2"
    data[field] = "Ma saisie à conserver"
    assert facilitator_member_client.post(url, data).status_code == 302
    locked.refresh_from_db()
    assert getattr(locked, field) == "Ma saisie à conserver"
    assert locked.version == 3


@pytest.mark.django_db
def test_create_forms_carry_no_version(world_a, facilitator_member_client):
    for url in (
        reverse("www:operation_create"),
        reverse("www:participant_create"),
        reverse("www:lot_create", kwargs={"uuid": world_a.market.uuid}),
    ):
        assert 'name="version"' not in facilitator_member_client.get(url).content.decode(), url


@pytest.mark.django_db
def test_actions_without_version_still_increment(world_a):
    user = acting(world_a.users["facilitator_member"])
    operation = world_a.operation
    actions.update_operation(operation=operation, by=user, name="Un")
    actions.update_operation(operation=operation, by=user, name="Deux")
    assert Operation.objects.get(pk=operation.pk).version == 3
    with pytest.raises(EditConflict):
        actions.update_operation(operation=operation, by=user, expected_version=2, name="Trois")
    assert Operation.objects.get(pk=operation.pk).name == "Deux"


@pytest.mark.django_db
def test_conflict_without_audit_entry_has_a_plain_message(world_a):
    market = world_a.market
    Market.objects.filter(pk=market.pk).update(version=5)
    from clausier.audit.models import AuditEntry

    assert not AuditEntry.objects.filter(object_id=str(market.uuid)).exists()
    with pytest.raises(EditConflict) as error:
        claim(market, 1)
    assert error.value.text == STALE_UNKNOWN


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are exercised on PostgreSQL")
def test_simultaneous_updates_from_the_same_version_one_wins():
    market = MarketFactory()
    users = [acting(UserFactory(member_of=market.facilitator)) for _ in range(6)]
    barrier = threading.Barrier(len(users))
    won, refused, errors = [], [], []

    def save(i, user):
        try:
            row = Market.objects.get(pk=market.pk)  # each edit form read version 1
            barrier.wait()
            actions.update_market(market=row, by=user, expected_version=1, title=f"Titre {i}")
            won.append(i)
        except EditConflict:
            refused.append(i)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=save, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(won) == 1 and len(refused) == len(users) - 1
    row = Market.objects.get(pk=market.pk)
    assert row.version == 2
    assert row.title == f"Titre {won[0]}", "the winner's update is the one stored (no lost update)"
