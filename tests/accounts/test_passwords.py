"""Password reset by e-mail (end to end through the link), password change, French password rules."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from clausier.accounts.models import Lockout
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "Cl4usier-nouveau-2025!"


def test_login_page_links_to_the_reset(client):
    html = client.get(reverse("login")).content.decode()
    assert reverse("accounts:password_reset") in html and "Mot de passe oublié" in html


def test_reset_end_to_end_through_the_emailed_link(client, world_a, mailoutbox):
    user = world_a.users["facilitator_member"]
    for _ in range(5):  # the account is locked…
        client.post(reverse("login"), {"username": user.email, "password": "mauvais mot de passe"})
    response = client.post(reverse("accounts:password_reset"), {"email": user.email.upper()})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert "Vérifiez votre messagerie" in client.get(response["Location"]).content.decode()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email] and mail.subject == "Clausier : choisir un nouveau mot de passe"
    assert "Bonjour" in mail.body
    link = re.search(r"https?://[^/\s]+(/mot-de-passe-oublie/\S+/)", mail.body).group(1)
    response = client.get(link)
    assert response.status_code == 302  # Django hides the token behind a "set-password" URL
    form_url = response["Location"]
    page = client.get(form_url).content.decode()
    assert "Choisir un nouveau mot de passe" in page
    response = client.post(form_url, {"new_password1": "court", "new_password2": "court"})
    assert "au minimum 12 caractères" in response.content.decode()
    response = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_complete")
    assert client.get(response["Location"]).status_code == 200
    assert not Lockout.objects.filter(scope="account", until__gt=timezone.now()).exists()  # … unlocked
    response = client.post(reverse("login"), {"username": user.email, "password": NEW})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    # The link does not work twice.
    client.post(reverse("logout"))
    page = client.get(link, follow=True).content.decode()
    assert "Lien invalide ou expiré" in page


def test_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": "personne@inconnu.example"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert mailoutbox == []


def test_password_change(facilitator_member_client, world_a):
    user = world_a.users["facilitator_member"]
    url = reverse("accounts:password_change")
    assert facilitator_member_client.get(url).status_code == 200
    response = facilitator_member_client.post(
        url, {"old_password": "faux", "new_password1": NEW, "new_password2": NEW}
    )
    assert "Votre ancien mot de passe est incorrect" in response.content.decode()
    response = facilitator_member_client.post(
        url, {"old_password": PASSWORD, "new_password1": user.email, "new_password2": user.email}
    )
    assert "Le mot de passe est trop semblable au champ" in response.content.decode()
    response = facilitator_member_client.post(
        url, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:security")
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert facilitator_member_client.get(reverse("www:dashboard")).status_code == 200  # still logged in


def test_password_rules_in_french(facilitator_member_client):
    url = reverse("accounts:password_change")
    html = facilitator_member_client.post(
        url, {"old_password": PASSWORD, "new_password1": "123456789012", "new_password2": "123456789012"}
    ).content.decode()
    assert "entièrement numérique" in html
    html = facilitator_member_client.post(
        url, {"old_password": PASSWORD, "new_password1": "Abc-12", "new_password2": "Abc-12"}
    ).content.decode()
    assert "Ce mot de passe est trop court. Il doit contenir au minimum 12 caractères." in html
