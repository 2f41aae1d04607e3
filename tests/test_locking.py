"""Optimistic locking: edit forms carry the version, a stale submit is refused (nothing saved, input kept),
and two simultaneous updates from the same version cannot both win (PostgreSQL, real threads). Records
without a `version` column (outcomes, globalisation agreements, the public site's texts, documents and
partners) are versioned by their `updated_at` stamp, with the same behaviour."""

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
from clausier.publicsite import actions as site_actions
from clausier.publicsite.models import PublicProfile
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


# --- Records without a `version` column: outcomes, globalisation agreements, the public site's staff edits ----
# The form carries the record's `updated_at` stamp (or "absent" when there was no record yet); the action
# compares it under a row lock before saving.


def _second_admin(world):
    from clausier.organizations.models import Role

    return UserFactory(
        email=f"admin2-{world.label.lower()}@clausier.example",
        member_of=world.facilitator,
        member_of__role=Role.ADMIN,
    )


def _agreement(world):
    from tests.factories import AwardFactory, LotFactory

    company = world.orgs["company"]
    second = LotFactory(market=world.objects["market"])
    AwardFactory(lot=second, company=company)
    return actions.create_globalisation(
        facilitator=world.facilitator,
        by=acting(world.users["facilitator_admin"]),
        company=company,
        name="Convention 2024",
        lots=[world.objects["lot"], second],
    )


def _document(world):
    from clausier.publicsite.models import PublicDocument

    return PublicDocument.objects.create(
        facilitator=world.facilitator,
        title="Guide",
        audience="buyers",
        file="guide.pdf",
        original_name="guide.pdf",
        content_type="application/pdf",
        size=9,
    )


def _partner(world):
    from clausier.publicsite.models import Partner

    return Partner.objects.create(facilitator=world.facilitator, name="Partenaire")


def _record_outcome(world, timing, by, category="cdi", observed_on=None):
    import datetime

    from clausier.participants.outcomes import record_outcome
    from clausier.reference.models import OutcomeCategory

    return record_outcome(
        contract=world.objects["contract"],
        timing=timing,
        category=OutcomeCategory.objects.get(code=category),
        observed_on=observed_on or datetime.date(2025, 2, 15),
        detail="changée ailleurs",
        by=by,
    )


def _stored_outcome(world, timing):
    from clausier.participants.models import Outcome

    return Outcome.objects.filter(contract=world.objects["contract"], timing=timing).first()


STAMPED = {
    # url name: (target(world) for the URL, editor: "member" or "admin2", field changed in the form,
    #            concurrent change(world, other user), stored value of the field(world, target))
    "www:outcome_end": (
        lambda w: w.objects["contract"],
        "member",
        "detail",
        lambda w, t, by: _record_outcome(w, "end", by, observed_on=w.objects["contract"].end_date),
        lambda w, t: _stored_outcome(w, "end").detail,
    ),
    "www:outcome_six_months": (  # no 6-month outcome yet: the form carries "absent"
        lambda w: w.objects["contract"],
        "member",
        "detail",
        lambda w, t, by: _record_outcome(w, "6m", by),
        lambda w, t: _stored_outcome(w, "6m").detail,
    ),
    "www:pool_edit": (
        _agreement,
        "member",
        "name",
        lambda w, t, by: actions.update_globalisation(agreement=t, by=by, name="Changée ailleurs"),
        lambda w, t: type(t).objects.get(pk=t.pk).name,
    ),
    "publicsite:texts": (  # never written yet: the form carries "absent"
        None,
        "admin2",
        "role_text",
        lambda w, t, by: site_actions.set_public_texts(
            facilitator=w.facilitator, by=by, role_text="Changé ailleurs", history_text=""
        ),
        lambda w, t: PublicProfile.objects.get(facilitator=w.facilitator).role_text,
    ),
    "publicsite:document_edit": (
        _document,
        "admin2",
        "title",
        lambda w, t, by: site_actions.update_document(document=t, by=by, title="Changé ailleurs"),
        lambda w, t: type(t).objects.get(pk=t.pk).title,
    ),
    "publicsite:partner_edit": (
        _partner,
        "admin2",
        "name",
        lambda w, t, by: site_actions.update_partner(partner=t, by=by, name="Changé ailleurs"),
        lambda w, t: type(t).objects.get(pk=t.pk).name,
    ),
}


def _stamped_form(client, url, world, name):
    data = form_values(client.get(url))
    if name == "www:pool_edit":  # several lots checked: the parser keeps one value per name
        data["lots"] = [str(lot.uuid) for lot in world.objects["pool"].lots.all()]
    if name.startswith("www:outcome"):
        data["category"] = "cdi"
        if name == "www:outcome_six_months":
            data["observed_on"] = "15/02/2025"
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(STAMPED))
def test_stale_submit_of_a_stamped_record_is_refused(name, world_a, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    target_of, editor_role, field, change, stored = STAMPED[name]
    target = target_of(world_a) if target_of else None
    world_a.objects["pool"] = target
    editor = world_a.users["facilitator_member"] if editor_role == "member" else _second_admin(world_a)
    client = client_for(editor)
    url = reverse(name, kwargs={"uuid": target.uuid} if target is not None else None)
    data = _stamped_form(client, url, world_a, name)
    absent = name in ("www:outcome_six_months", "publicsite:texts")
    assert data["version"] == "absent" if absent else data["version"] not in ("", "absent")
    data[field] = "Ma saisie à conserver"

    change(world_a, target, acting(world_a.users["facilitator_admin"]))

    response = client.post(url, data)
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    author = world_a.users["facilitator_admin"].get_full_name()
    assert f"Cette fiche a été modifiée entre-temps par {author} le " in text
    assert "Ma saisie à conserver" in text, "the user's input is kept"
    assert stored(world_a, target) != "Ma saisie à conserver", "nothing saved"

    # Reloading gives the new stamp; submitting again succeeds.
    data = _stamped_form(client, url, world_a, name)
    assert data["version"] not in ("", "absent")
    data[field] = "Ma saisie à conserver"
    assert client.post(url, data).status_code == 302
    assert stored(world_a, target) == "Ma saisie à conserver"


@pytest.mark.django_db
def test_the_stamp_moves_on_each_save_and_absent_means_not_yet_created(world_a):
    from clausier.utils.locking import ABSENT, check_version, version_of

    partner = _partner(world_a)
    read = version_of(partner)
    assert isinstance(read, str) and read.endswith("+00:00")
    check_version(partner, read)  # unchanged: accepted
    check_version(partner, None)  # no version sent (scripts, imports): no check
    check_version(partner, "")  # a form without the hidden field: no check
    partner.name = "Autre"
    partner.save()
    assert version_of(partner) != read
    with pytest.raises(EditConflict):
        check_version(partner, read)
    with pytest.raises(EditConflict):
        check_version(partner, ABSENT)  # created meanwhile
    check_version(None, ABSENT)
    with pytest.raises(EditConflict) as error:
        check_version(None, read)  # deleted meanwhile
    assert error.value.text == STALE_UNKNOWN
    assert version_of(world_a.objects["market"]) == 1, "records with a version column keep it"
