"""« Mes notifications »: each user switches categories off (all on by default), audited."""

import re

import pytest
from django.urls import reverse

from clausier.audit.models import AuditEntry
from clausier.notifications.actions import preferences_of
from clausier.notifications.models import Category, NotificationPreference

pytestmark = pytest.mark.django_db


def test_every_category_is_on_by_default(world_a):
    assert preferences_of(world_a.users["structure"]) == {c.value: True for c in Category}


def test_the_page_shows_the_categories_of_the_users_organizations(
    world_a, structure_client, facilitator_member_client
):
    page = structure_client.get(reverse("www:notification_preferences")).content.decode()
    assert "Relevé d&#x27;heures renvoyé pour correction" in page and 'name="statement_due"' in page
    assert 'name="eligibility_expiring"' not in page
    staff = facilitator_member_client.get(reverse("www:notification_preferences")).content.decode()
    assert 'name="eligibility_expiring"' in staff and 'name="statement_due"' not in staff
    assert re.search(r'name="eligibility_expiring"[^>]* checked>', staff)  # on by default


def test_switching_a_category_off_and_on(world_a, structure_client):
    user = world_a.users["structure"]
    url = reverse("www:notification_preferences")
    on = {
        "statement_due": "on",
        "statement_overdue": "on",
        "candidate_proposed": "on",
        "offer_answered": "on",
    }
    response = structure_client.post(url, on)  # statement_returned unchecked
    assert response.status_code == 302
    assert preferences_of(user)[Category.STATEMENT_RETURNED] is False
    assert preferences_of(user)[Category.STATEMENT_DUE] is True
    entry = AuditEntry.objects.get(object_type="notifications.notificationpreference")
    assert entry.changes == {"enabled": [True, False]} and entry.actor == user
    page = structure_client.get(url).content.decode()
    assert "Vos choix de notifications sont enregistrés." in page
    assert not re.search(r'name="statement_returned"[^>]* checked>', page)
    assert re.search(r'name="statement_due"[^>]* checked>', page)
    structure_client.post(url, {**on, "statement_returned": "on"})
    assert NotificationPreference.objects.get(user=user).enabled is True
    assert AuditEntry.objects.filter(object_type="notifications.notificationpreference").count() == 2
    structure_client.post(url, {**on, "statement_returned": "on"})  # nothing changed: no entry
    assert AuditEntry.objects.filter(object_type="notifications.notificationpreference").count() == 2


def test_the_account_page_links_to_the_preferences(structure_client):
    page = structure_client.get(reverse("accounts:security")).content.decode()
    assert reverse("www:notification_preferences") in page
