"""Sessions end after an hour without a request, and 8 hours after login whatever the activity."""

import pytest
from django.conf import settings
from django.urls import reverse

from clausier.accounts import sessions

pytestmark = pytest.mark.django_db


def age(client, key, seconds):
    session = client.session
    session[key] -= seconds
    session.save()


def test_settings():
    assert settings.ACCOUNTS_SESSION_IDLE_SECONDS == 3600
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


def test_an_idle_session_is_logged_out_with_a_french_message(facilitator_member_client):
    client = facilitator_member_client
    assert client.get(reverse("www:dashboard")).status_code == 200
    age(client, sessions.LAST_SEEN, 3601)
    url = reverse("www:market_list")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "Votre session a expiré après une période d&#x27;inactivité" in page


def test_activity_keeps_the_session_alive(facilitator_member_client):
    client = facilitator_member_client
    age(client, sessions.LAST_SEEN, 3000)
    assert client.get(reverse("www:dashboard")).status_code == 200
    assert sessions.now() - client.session[sessions.LAST_SEEN] < 5  # refreshed
    age(client, sessions.LAST_SEEN, 3000)
    assert client.get(reverse("www:dashboard")).status_code == 200


def test_the_absolute_limit_holds_despite_activity(facilitator_member_client):
    client = facilitator_member_client
    age(client, sessions.LOGIN_AT, 8 * 3600 + 1)
    response = client.get(reverse("www:market_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    page = client.get(reverse("login")).content.decode()
    assert "Votre session a atteint sa durée maximale" in page


def test_the_last_activity_is_written_at_most_once_a_minute(facilitator_member_client):
    client = facilitator_member_client
    client.get(reverse("www:dashboard"))
    before = client.session[sessions.LAST_SEEN]
    age(client, sessions.LAST_SEEN, 30)
    client.get(reverse("www:dashboard"))
    assert client.session[sessions.LAST_SEEN] == before - 30
