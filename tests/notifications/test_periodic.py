"""`clausier notify-due`: statements due (from the 1st) and overdue (from the 10th), eligibilities expiring.

Recipients are the active members of the organizations concerned (never another organization's), who did not
switch the category off; running twice sends nothing twice; the queries do not grow with the data.
"""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.employment.models import MonthlyStatement, StatementStatus
from clausier.notifications.models import Category, NotificationPreference, SentNotification
from clausier.notifications.periodic import send_due
from clausier.organizations.models import Membership
from tests.factories import (
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    FacilitatorSettingsFactory,
    InsertionStructureFactory,
    ParticipantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

JUNE_3 = datetime.date(2024, 6, 3)  # May 2024 is due: contracts run from February to July, hours until April
JUNE_10 = datetime.date(2024, 6, 10)
EMPLOYERS = ("structure", "other_structure", "company")  # `company` employs its direct-hire contract


def recipients(mails):
    return sorted(address for mail in mails for address in mail.to)


def users_of(world, roles):
    return sorted(world.users[role].email for role in roles)


def test_statement_due_goes_to_the_employers_to_chase_and_no_one_else(worlds, mailoutbox):
    a, b = worlds
    sent = send_due(JUNE_3)
    assert recipients(mailoutbox) == sorted(users_of(a, EMPLOYERS) + users_of(b, EMPLOYERS))
    assert {o.category for o in sent} == {Category.STATEMENT_DUE}
    mail = next(m for m in mailoutbox if m.to == [a.users["structure"].email])
    assert mail.subject == "Clausier : relevé d'heures de mai 2024 à transmettre"
    assert (
        "Le relevé d'heures de mai 2024 de structure A, suivi par Cellule clause A, n'a pas encore été transmis"
        in mail.body
    )
    assert "/releves/" in mail.body and "/compte/notifications/" in mail.body
    assert "Cellule clause B" not in mail.body


def test_an_employer_whose_statement_is_sent_is_not_chased(world_a, mailoutbox):
    # February 2024: the structure's statement is validated; the company (direct hire) sent none.
    send_due(datetime.date(2024, 3, 4))
    assert world_a.users["structure"].email not in recipients(mailoutbox)
    assert world_a.users["company"].email in recipients(mailoutbox)
    mailoutbox.clear()
    structure = world_a.orgs["structure"]
    MonthlyStatement.objects.create(
        facilitator=world_a.facilitator,
        employer=structure,
        month=datetime.date(2024, 5, 1),
        status=StatementStatus.SUBMITTED,
    )
    MonthlyStatement.objects.create(
        facilitator=world_a.facilitator,
        employer=world_a.orgs["company"],
        month=datetime.date(2024, 5, 1),
        status=StatementStatus.DRAFT,
    )
    send_due(JUNE_3)
    assert world_a.users["structure"].email not in recipients(mailoutbox)
    draft = next(m for m in mailoutbox if m.to == [world_a.users["company"].email])
    assert "(il est resté en brouillon)" in draft.body


def test_overdue_from_the_10th_and_each_sent_once(world_a, mailoutbox):
    structure_user = world_a.users["structure"].email
    send_due(JUNE_3)
    send_due(datetime.date(2024, 6, 4))  # the next day: nothing new
    assert [m.subject for m in mailoutbox if m.to == [structure_user]] == [
        "Clausier : relevé d'heures de mai 2024 à transmettre"
    ]
    send_due(JUNE_10)
    send_due(datetime.date(2024, 6, 11))
    assert [m.subject for m in mailoutbox if m.to == [structure_user]] == [
        "Clausier : relevé d'heures de mai 2024 à transmettre",
        "Clausier : relevé d'heures de mai 2024 en retard",
    ]
    overdue = [m for m in mailoutbox if m.to == [structure_user]][-1]
    assert "Le 10 du mois est passé" in overdue.body and "n'a toujours pas été transmis" in overdue.body


def test_a_first_run_after_the_10th_sends_only_the_overdue_one(world_a, mailoutbox):
    send_due(datetime.date(2024, 6, 12))
    subjects = {m.subject for m in mailoutbox}
    assert subjects == {"Clausier : relevé d'heures de mai 2024 en retard"}


def test_running_twice_sends_nothing_twice(worlds, mailoutbox):
    first = send_due(JUNE_3)
    count, logged = len(mailoutbox), SentNotification.objects.count()
    assert count == len(first) == logged > 0
    assert send_due(JUNE_3) == []
    out = StringIO()
    call_command("notify-due", "--date", "2024-06-03", stdout=out)
    assert len(mailoutbox) == count and SentNotification.objects.count() == logged
    assert "0 e-mail(s) envoyé(s) pour le 03/06/2024." in out.getvalue()


def test_preferences_deactivation_and_inactive_accounts_are_honoured(world_a, mailoutbox):
    structure_user = world_a.users["structure"]
    NotificationPreference.objects.create(user=structure_user, category=Category.STATEMENT_DUE, enabled=False)
    colleague = UserFactory(member_of=world_a.orgs["structure"])
    former = UserFactory(member_of=world_a.orgs["structure"])
    Membership.objects.filter(user=former).update(is_active=False)
    gone = UserFactory(member_of=world_a.orgs["structure"], is_active=False)
    send_due(JUNE_3)
    to = recipients(mailoutbox)
    assert colleague.email in to
    assert structure_user.email not in to and former.email not in to and gone.email not in to
    # Switched off for « à transmettre » only: the overdue one still comes.
    send_due(JUNE_10)
    assert structure_user.email in recipients(mailoutbox)


def test_statement_queries_do_not_grow_with_employers_and_statements(world_a, mailoutbox):
    def queries(day):
        with CaptureQueriesContext(connection) as ctx:
            send_due(day)
        return len(ctx)

    few = queries(JUNE_3)
    for n in range(4):
        structure = InsertionStructureFactory(partner_of=world_a.facilitator, name=f"Structure {n}")
        UserFactory(member_of=structure)
        for _ in range(3):
            ContractFactory(
                lot=world_a.objects["lot"],
                company=world_a.orgs["company"],
                employer=structure,
                participant__prescriber=world_a.orgs["prescriber"],
                facilitator=world_a.facilitator,
            )
    before = len(mailoutbox)
    many = queries(JUNE_10)
    assert len(mailoutbox) - before > 4
    assert many == few


# --- Eligibility --------------------------------------------------------------------------------------------

DEC_10 = datetime.date(2025, 12, 10)  # the worlds' assessments end on 31/12/2025


def test_expiring_eligibilities_go_to_the_facilitator_staff_in_one_email(worlds, mailoutbox):
    a, b = worlds
    send_due(DEC_10)
    eligibility = [m for m in mailoutbox if "éligibilit" in m.subject]
    assert recipients(eligibility) == sorted(
        users_of(a, ["facilitator_admin", "facilitator_member"])
        + users_of(b, ["facilitator_admin", "facilitator_member"])
    )
    mail = next(m for m in eligibility if m.to == [a.users["facilitator_member"].email])
    assert mail.subject == "Clausier : 2 éligibilités arrivent à échéance"
    assert str(a.objects["participant"]) in mail.body and str(a.objects["other_participant"]) in mail.body
    assert "valable jusqu'au 31/12/2025" in mail.body
    assert str(b.objects["participant"]) not in mail.body
    assert f"/participants/{a.objects['participant'].uuid}/" in mail.body


def test_expiring_eligibilities_are_reported_once_and_new_ones_later(world_a, mailoutbox):
    send_due(DEC_10)
    assert len(mailoutbox) == 2  # A's admin and member
    send_due(datetime.date(2025, 12, 11))
    assert len(mailoutbox) == 2
    newcomer = ParticipantFactory(facilitator=world_a.facilitator)
    EligibilityAssessmentFactory(
        participant=newcomer, assessed_on=datetime.date(2024, 1, 5)
    )  # ends 04/01/2026
    send_due(datetime.date(2025, 12, 12))
    assert len(mailoutbox) == 4
    assert {m.subject for m in mailoutbox[2:]} == {"Clausier : une éligibilité arrive à échéance"}
    assert (
        str(newcomer) in mailoutbox[2].body and str(world_a.objects["participant"]) not in mailoutbox[2].body
    )


def test_an_extended_or_merged_person_is_not_reported_and_preferences_apply(world_a, mailoutbox):
    EligibilityAssessmentFactory(
        participant=world_a.objects["participant"], assessed_on=datetime.date(2025, 11, 1)
    )
    other = world_a.objects["other_participant"]
    other.merged_into = world_a.objects["participant"]
    other.save()
    NotificationPreference.objects.create(
        user=world_a.users["facilitator_admin"], category=Category.ELIGIBILITY_EXPIRING, enabled=False
    )
    send_due(DEC_10)
    assert mailoutbox == []


def test_eligibility_queries_do_not_grow_with_assessments(world_a, mailoutbox):
    def queries(day):
        with CaptureQueriesContext(connection) as ctx:
            send_due(day)
        return len(ctx)

    few = queries(DEC_10)
    for n in range(5):
        EligibilityAssessmentFactory(
            participant=ParticipantFactory(facilitator=world_a.facilitator),
            assessed_on=datetime.date(2024, 1, 2 + n),
        )
    many = queries(datetime.date(2025, 12, 11))
    assert len(mailoutbox) == 4 and "5 éligibilités" in mailoutbox[-1].subject
    assert many == few


def test_the_command_dry_run_sends_and_writes_nothing(world_a, mailoutbox):
    out = StringIO()
    call_command("notify-due", "--date", "2024-06-03", "--dry-run", stdout=out)
    text = out.getvalue()
    assert mailoutbox == [] and not SentNotification.objects.exists()
    assert "Clausier : relevé d'heures de mai 2024 à transmettre" in text and "simulation" in text
    call_command("notify-due", "--date", "2024-06-03", stdout=out)
    assert mailoutbox and "e-mail(s) envoyé(s) pour le 03/06/2024" in out.getvalue()


def test_the_command_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Date invalide"):
        call_command("notify-due", "--date", "03/06/2024")


# --- Each facilitator's own days (issue 12: `FacilitatorSettings`, edited in « Paramètres ») -----------------


def statement_subjects(mailoutbox, user):
    return [m.subject for m in mailoutbox if m.to == [user.email]]


def test_the_command_honours_a_facilitators_own_statement_days(worlds, mailoutbox):
    a, b = worlds
    FacilitatorSettingsFactory(facilitator=a.facilitator, statement_due_day=5, statement_overdue_day=20)
    a_user, b_user = a.users["structure"], b.users["structure"]  # B keeps the defaults: 1st and 10th
    due, late = (
        "Clausier : relevé d'heures de mai 2024 à transmettre",
        "Clausier : relevé d'heures de mai 2024 en retard",
    )

    call_command("notify-due", "--date", "2024-06-03", stdout=StringIO())
    assert statement_subjects(mailoutbox, a_user) == [] and statement_subjects(mailoutbox, b_user) == [due]
    call_command("notify-due", "--date", "2024-06-05", stdout=StringIO())
    assert statement_subjects(mailoutbox, a_user) == [due]
    call_command("notify-due", "--date", "2024-06-10", stdout=StringIO())
    assert statement_subjects(mailoutbox, a_user) == [due]  # not late before the 20th
    assert statement_subjects(mailoutbox, b_user) == [due, late]
    call_command("notify-due", "--date", "2024-06-20", stdout=StringIO())
    assert statement_subjects(mailoutbox, a_user) == [due, late]
    overdue = [m for m in mailoutbox if m.to == [a_user.email]][-1]
    assert "Le 20 du mois est passé" in overdue.body and "Cellule clause A" in overdue.body
    assert statement_subjects(mailoutbox, b_user) == [due, late]  # nothing twice


def test_the_command_honours_a_facilitators_own_eligibility_notice(worlds, mailoutbox):
    a, b = worlds  # their assessments end on 31/12/2025
    FacilitatorSettingsFactory(facilitator=a.facilitator, eligibility_expiring_days=60)
    FacilitatorSettingsFactory(facilitator=b.facilitator, eligibility_expiring_days=10)
    a_staff = users_of(a, ["facilitator_admin", "facilitator_member"])
    b_staff = users_of(b, ["facilitator_admin", "facilitator_member"])

    call_command("notify-due", "--date", "2025-11-05", stdout=StringIO())  # 56 days before: A only
    assert recipients(mailoutbox) == a_staff
    assert "prennent fin dans les 60 jours" in mailoutbox[0].body
    call_command("notify-due", "--date", "2025-12-10", stdout=StringIO())  # 21 days before: B not yet
    assert recipients(mailoutbox) == a_staff
    call_command("notify-due", "--date", "2025-12-22", stdout=StringIO())  # 9 days before: B's turn
    assert recipients(mailoutbox) == sorted(a_staff + b_staff)
    assert "prennent fin dans les 10 jours" in mailoutbox[-1].body


def test_the_days_cost_no_query_per_facilitator(worlds, mailoutbox):
    a, b = worlds
    for world in (a, b):  # statements not due yet: only the eligibilities are sent
        FacilitatorSettingsFactory(
            facilitator=world.facilitator, statement_due_day=27, statement_overdue_day=28
        )

    def queries(day):
        with CaptureQueriesContext(connection) as ctx:
            send_due(day)
        return len(ctx)

    few = queries(DEC_10)
    assert len(mailoutbox) == 4
    for n in range(3):  # more facilitators, each with its own notice
        facilitator = FacilitatorFactory()
        FacilitatorSettingsFactory(
            facilitator=facilitator,
            statement_due_day=27,
            statement_overdue_day=28,
            eligibility_expiring_days=40 + n,
        )
        UserFactory(member_of=facilitator)
        EligibilityAssessmentFactory(
            participant=ParticipantFactory(facilitator=facilitator), assessed_on=datetime.date(2024, 1, 2)
        )  # ends 01/01/2026
    many = queries(datetime.date(2025, 12, 11))
    assert len(mailoutbox) == 4 + 3
    assert many == few
