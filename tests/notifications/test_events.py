"""Notifications on events: a returned statement (hooked in `change_statement_status`), and `notify` for
the other apps (the matching app's candidate_proposed / offer_answered)."""

import pytest
from django.db import transaction
from django.urls import reverse

from clausier.employment.actions import change_statement_status
from clausier.employment.models import StatementStatus
from clausier.notifications import delivery
from clausier.notifications.delivery import notify
from clausier.notifications.models import Category, NotificationPreference, SentNotification
from clausier.organizations.models import Membership
from tests.factories import UserFactory, acting

pytestmark = pytest.mark.django_db


def return_statement(world, comment="Les heures de mars du contrat de M. X manquent."):
    statement = world.objects["hours"].statement  # the structure's February 2024 statement, validated
    return change_statement_status(
        statement=statement,
        to=StatementStatus.RETURNED,
        by=acting(world.users["facilitator_member"]),
        comment=comment,
    )


def test_a_returned_statement_emails_the_employer_once_on_commit(
    worlds, mailoutbox, django_capture_on_commit_callbacks
):
    a, _b = worlds
    with django_capture_on_commit_callbacks() as callbacks:
        statement = return_statement(a)
        assert mailoutbox == []  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert [m.to for m in mailoutbox] == [
        [a.users["structure"].email]
    ]  # not the staff, not other organizations
    mail = mailoutbox[0]
    assert mail.subject == "Clausier : relevé d'heures de février 2024 renvoyé pour correction"
    assert (
        "Cellule clause A a renvoyé pour correction le relevé d'heures de février 2024 de structure A"
        in mail.body
    )
    assert "« Les heures de mars du contrat de M. X manquent. »" in mail.body
    assert reverse("www:statement_detail", kwargs={"uuid": statement.uuid}) in mail.body
    callbacks[0]()  # replayed: the transition's key is logged, nothing is sent twice
    assert len(mailoutbox) == 1 and SentNotification.objects.count() == 1


def test_nothing_is_sent_when_the_transaction_rolls_back(
    world_a, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        return_statement(world_a)
        raise RuntimeError
    assert callbacks == [] and mailoutbox == []


def test_returning_through_the_page_notifies_and_validating_does_not(
    world_a, facilitator_member_client, mailoutbox, django_capture_on_commit_callbacks
):
    statement = world_a.objects["hours"].statement
    url = reverse("www:statement_transition", kwargs={"uuid": statement.uuid})
    with django_capture_on_commit_callbacks(execute=True):
        response = facilitator_member_client.post(url, {"vers": "returned", "commentaire": "Heures à revoir"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and "Heures à revoir" in mailoutbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        facilitator_member_client.post(url, {"vers": "validated"})
    statement.refresh_from_db()
    assert statement.status == StatementStatus.VALIDATED and len(mailoutbox) == 1


def test_a_member_who_switched_returns_off_gets_nothing(
    world_a, mailoutbox, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=world_a.users["structure"], category=Category.STATEMENT_RETURNED, enabled=False
    )
    colleague = UserFactory(member_of=world_a.orgs["structure"])
    with django_capture_on_commit_callbacks(execute=True):
        return_statement(world_a)
    assert [m.to for m in mailoutbox] == [[colleague.email]]


# --- notify(), for the other apps ---------------------------------------------------------------------------


def test_notify_emails_the_active_members_of_the_organization_only(
    worlds, mailoutbox, django_capture_on_commit_callbacks
):
    a, b = worlds
    company = a.orgs["company"]
    colleague = UserFactory(member_of=company)
    former = UserFactory(member_of=company)
    Membership.objects.filter(user=former).update(is_active=False)
    NotificationPreference.objects.create(user=colleague, category=Category.OFFER_ANSWERED, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            category=Category.CANDIDATE_PROPOSED,
            organization=company,
            subject="Clausier : une candidature vous est proposée",
            body="La Mission locale vous propose une candidature pour le lot 1.",
            url="/participants/",
            key="proposal:1",
        )
    assert recipients_of(mailoutbox) == sorted([a.users["company"].email, colleague.email])
    assert "La Mission locale vous propose une candidature pour le lot 1." in mailoutbox[0].body
    assert "Vous recevez ce message en tant que membre de company A." in mailoutbox[0].body
    assert "« Candidature proposée »" in mailoutbox[0].body
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify(  # the same key: never twice; another category switched off by the colleague
            category=Category.CANDIDATE_PROPOSED,
            organization=company,
            subject="s",
            body="b",
            key="proposal:1",
        )
        notify(category=Category.OFFER_ANSWERED, organization=company, subject="Réponse", body="Oui.")
    assert recipients_of(mailoutbox) == [a.users["company"].email]
    assert b.users["company"].email not in recipients_of(mailoutbox)


def test_notify_without_key_sends_each_call_and_survives_a_mail_server_down(
    world_a, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    company = world_a.orgs["company"]
    with django_capture_on_commit_callbacks(execute=True):
        notify(category=Category.OFFER_ANSWERED, organization=company, subject="Un", body="1")
        notify(category=Category.OFFER_ANSWERED, organization=company, subject="Deux", body="2")
    assert [m.subject for m in mailoutbox] == ["Un", "Deux"]

    class Down:
        def send_messages(self, messages):
            raise ConnectionRefusedError

    monkeypatch.setattr(delivery, "mailers", type("Mailers", (), {"default": Down()})())
    logged = SentNotification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        notify(category=Category.OFFER_ANSWERED, organization=company, subject="Trois", body="3")
    assert len(mailoutbox) == 2 and SentNotification.objects.count() == logged  # not logged as sent
    with pytest.raises(ValueError):
        notify(category="pas_une_categorie", organization=company, subject="s", body="b")


def recipients_of(mails):
    return sorted(address for mail in mails for address in mail.to)
