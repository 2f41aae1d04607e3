"""Administration › Accès API (issue 16): the personal API tokens of an organization, for its administrators.

Administrators only, any kind of organization (404 for anyone else, and for another organization's token);
a new token is shown once, in the answer to the POST that creates it, and only its SHA-256 is stored; a
rejected form keeps the input and writes nothing; a revoked token no longer opens the API; both writes are
audited.
"""

import datetime
import hashlib
import re

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from clausier.accounts.api_tokens import MAX_LIFETIME_DAYS, create_token
from clausier.accounts.models import ApiScope, ApiToken
from clausier.audit.models import Action, AuditEntry
from clausier.organizations.models import Role
from tests.factories import UserFactory, acting

pytestmark = pytest.mark.django_db

LIST = reverse("www:api_token_list")
CREATE = reverse("www:api_token_create")
WHOAMI = "/api/v1/moi"


def probe_token(w):
    """An active token of world `w`'s facilitator, created by its administrator (the access probe's object)."""
    token = ApiToken.objects.filter(organization=w.facilitator, name="Jeton de la sonde").first()
    if token is None:
        admin = acting(w.users["facilitator_admin"])
        token, _raw = create_token(
            organization=w.facilitator,
            name="Jeton de la sonde",
            scopes=[ApiScope.READ],
            expires_on=timezone.localdate() + datetime.timedelta(days=30),
            by=admin,
        )
    return token


def revoke_url(token):
    return reverse("www:api_token_revoke", kwargs={"uuid": token.uuid})


def in_future(days):
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def payload(**overrides):
    return {
        "name": "Logiciel de paie",
        "scopes": [ApiScope.READ, ApiScope.HOURS],
        "expires_on": in_future(30),
    } | (overrides)


def bearer(client, raw):
    return client.get(WHOAMI, headers={"Authorization": f"Bearer {raw}"})


def every_row_as_text() -> str:
    """Every row of every table (Django's own included: sessions, users…), as one string."""
    return "\n".join(
        str(row) for model in apps.get_models() for row in model.objects.order_by("pk").values_list()
    )


@pytest.fixture
def company_admin(world_a):
    """An administrator of A's company (partners have only plain members in the worlds)."""
    return UserFactory(
        email="admin-entreprise-a@clausier.example",
        member_of=world_a.orgs["company"],
        member_of__role=Role.ADMIN,
    )


# --- The list -----------------------------------------------------------------------------------------------


def test_the_admin_sees_the_tokens_and_the_menu_entry(worlds, facilitator_admin_client):
    a, b = worlds
    token = probe_token(a)
    other = probe_token(b)
    response = facilitator_admin_client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert ">Accès API</a>" in page  # the menu
    assert token.name in page and f"{token.prefix}…" in page and "<td>Lecture</td>" in page
    assert str(a.users["facilitator_admin"]) in page and "jamais" in page and "Actif" in page
    assert revoke_url(token) in page and revoke_url(other) not in page  # B's token is not listed
    assert 'href="/api/v1/docs"' in page and 'href="/api/v1/openapi.json"' in page
    assert f'href="{CREATE}"' in page and "Créer un jeton" in page


def test_the_list_shows_each_state(world_a, facilitator_admin_client):
    token = probe_token(world_a)
    expired = ApiToken.objects.create(
        organization=world_a.facilitator,
        created_by=world_a.users["facilitator_admin"],
        name="Ancien jeton",
        scopes=[ApiScope.READ],
        prefix="clausier_old",
        key_hash="0" * 64,
        expires_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    facilitator_admin_client.post(revoke_url(token))
    page = facilitator_admin_client.get(LIST).content.decode()
    assert "fr-badge--error" in page and "Révoqué" in page
    assert "fr-badge--warning" in page and "Expiré" in page
    assert revoke_url(token) not in page and revoke_url(expired) in page


def test_the_last_use_is_shown(world_a, facilitator_admin_client, client_for):
    facilitator_admin_client.post(CREATE, payload(name="Pilotage"))
    raw = facilitator_admin_client.post(CREATE, payload()).context["raw"]
    assert bearer(client_for(None), raw).status_code == 200
    used = ApiToken.objects.get(key_hash=hashlib.sha256(raw.encode()).hexdigest())
    page = facilitator_admin_client.get(LIST).content.decode()
    assert timezone.localtime(used.last_used_at).strftime("%d/%m/%Y %H:%M") in page
    assert "jamais" in page  # « Pilotage » was never used


# --- Who may see the pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["facilitator_member", "company", "buyer", "structure", "prescriber"])
def test_non_admins_get_404_everywhere(role, world_a, client_for):
    token = probe_token(world_a)
    client = client_for(world_a.users[role])
    for url in (LIST, CREATE, revoke_url(token)):
        assert client.get(url).status_code == 404, url
        assert client.post(url, payload()).status_code == 404, url
    assert ">Accès API</a>" not in client.get(reverse("www:dashboard")).content.decode()
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


def test_another_organizations_admin_reaches_nothing(worlds, client_for, company_admin):
    a, b = worlds
    token = probe_token(a)
    for admin in (b.users["facilitator_admin"], company_admin):
        client = client_for(admin)
        assert client.get(revoke_url(token)).status_code == 404
        assert client.post(revoke_url(token)).status_code == 404
        assert token.name not in client.get(LIST).content.decode()
    assert ApiToken.objects.get().revoked_at is None


def test_a_company_admin_manages_its_own_tokens(world_a, client_for, company_admin):
    client = client_for(company_admin)
    page = client.get(LIST).content.decode()
    assert ">Accès API</a>" in page
    form = client.get(CREATE).context["form"]
    assert [value for value, _label in form.fields["scopes"].choices] == [ApiScope.READ, ApiScope.HOURS]
    raw = client.post(CREATE, payload()).context["raw"]
    token = ApiToken.objects.get()
    assert token.organization == world_a.orgs["company"] and token.created_by == company_admin
    assert bearer(client_for(None), raw).json()["organization"]["id"] == str(world_a.orgs["company"].uuid)


# --- Creating a token ---------------------------------------------------------------------------------------


def test_the_form_offers_the_organizations_scopes_and_a_default_expiry(facilitator_admin_client):
    response = facilitator_admin_client.get(CREATE)
    assert response.status_code == 200
    form = response.context["form"]
    assert [value for value, _label in form.fields["scopes"].choices] == [
        ApiScope.READ,
        ApiScope.HOURS,
        ApiScope.REFERENCE,
    ]
    page = response.content.decode()
    assert f'value="{in_future(90)}"' in page and 'type="date"' in page
    assert f'max="{in_future(MAX_LIFETIME_DAYS)}"' in page
    assert ApiScope.REFERENCE.label in page and ApiScope.CANDIDACIES.label not in page


def test_a_new_token_is_shown_once_and_opens_the_api(world_a, facilitator_admin_client, client_for):
    response = facilitator_admin_client.post(CREATE, payload())
    assert response.status_code == 200  # the token is in the answer to the POST, not after a redirection
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw"]
    page = response.content.decode()
    assert raw.startswith("clausier_") and raw in page
    assert f'curl -H "Authorization: Bearer {raw}" http://testserver/api/v1/moi' in page
    assert "ne sera plus jamais affiché" in page
    assert "Lecture, Déclaration des heures" in page  # the labels, in the order of the form

    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.name == "Logiciel de paie" and token.scopes == sorted([ApiScope.READ, ApiScope.HOURS])
    assert (
        token.organization == world_a.facilitator and token.created_by == world_a.users["facilitator_admin"]
    )
    assert raw not in every_row_as_text()  # nor in the session's row
    assert raw not in str(dict(facilitator_admin_client.session.items()))
    assert raw not in str(response.cookies)
    assert raw not in facilitator_admin_client.get(LIST).content.decode()  # never shown again

    answer = bearer(client_for(None), raw)
    assert answer.status_code == 200
    assert answer.json()["organization"]["id"] == str(world_a.facilitator.uuid)
    assert answer.json()["token"]["scopes"] == token.scopes


def test_creating_a_token_is_audited(world_a, facilitator_admin_client):
    facilitator_admin_client.post(CREATE, payload())
    token = ApiToken.objects.get()
    entry = AuditEntry.objects.get(object_id=str(token.uuid), action=Action.CREATE)
    assert entry.actor == world_a.users["facilitator_admin"] and entry.facilitator == world_a.facilitator


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"scopes": [ApiScope.READ, ApiScope.CANDIDACIES]}, "Sélectionnez un choix valide"),
        ({"scopes": []}, "Choisissez au moins un droit."),
        ({"expires_on": in_future(-1)}, "doit être dans le futur"),
        ({"expires_on": in_future(0)}, "doit être dans le futur"),
        ({"expires_on": in_future(MAX_LIFETIME_DAYS + 1)}, f"au plus dans {MAX_LIFETIME_DAYS} jours"),
        ({"expires_on": "pas une date"}, "Saisissez une date valide"),
        ({"name": ""}, "Ce champ est obligatoire"),
        ({"name": "x" * 81}, "80 caractères"),
    ],
)
def test_a_rejected_form_keeps_the_input_and_writes_nothing(overrides, error, facilitator_admin_client):
    before = AuditEntry.objects.count()
    data = payload(name="Outil de pilotage") | overrides
    response = facilitator_admin_client.post(CREATE, data)
    assert response.status_code == 200
    assert "raw" not in response.context
    page = response.content.decode()
    assert error in page.replace("&#x27;", "'"), page
    assert "rien n'a été enregistré" in page.replace("&#x27;", "'")
    if data["name"]:
        assert f'value="{data["name"]}"' in page
    if "expires_on" in overrides and overrides["expires_on"] != "pas une date":
        assert f'value="{overrides["expires_on"]}"' in page
    assert ApiToken.objects.count() == 0 and AuditEntry.objects.count() == before


def test_the_allowed_scopes_the_user_checked_stay_checked(facilitator_admin_client):
    data = payload(expires_on=in_future(-1), scopes=[ApiScope.HOURS])
    form = facilitator_admin_client.post(CREATE, data).context["form"]
    assert form["scopes"].value() == [ApiScope.HOURS]
    checkboxes = str(form["scopes"])
    assert re.search(r'value="heures:ecriture"[^>]*checked', checkboxes)
    assert not re.search(r'value="lecture"[^>]*checked', checkboxes)
    assert ApiToken.objects.count() == 0


# --- Revoking a token ---------------------------------------------------------------------------------------


def test_revoking_closes_the_api_and_is_audited(world_a, facilitator_admin_client, client_for):
    raw = facilitator_admin_client.post(CREATE, payload()).context["raw"]
    token = ApiToken.objects.get()
    assert bearer(client_for(None), raw).status_code == 200

    confirmation = facilitator_admin_client.get(revoke_url(token))
    assert confirmation.status_code == 200 and "Révoquer le jeton" in confirmation.content.decode()
    assert ApiToken.objects.get().revoked_at is None  # GET writes nothing

    response = facilitator_admin_client.post(revoke_url(token), follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert f"Le jeton « {token.name} » est révoqué." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == world_a.users["facilitator_admin"]
    assert bearer(client_for(None), raw).status_code == 401
    entry = AuditEntry.objects.get(object_id=str(token.uuid), action=Action.DELETE)
    assert entry.actor == world_a.users["facilitator_admin"] and entry.detail == "jeton d'API révoqué"

    again = facilitator_admin_client.post(revoke_url(token))  # twice: back to the list, nothing more written
    assert again.status_code == 302 and again["Location"] == LIST
    assert AuditEntry.objects.filter(object_id=str(token.uuid), action=Action.DELETE).count() == 1


def test_an_unknown_token_is_404(facilitator_admin_client):
    url = reverse("www:api_token_revoke", kwargs={"uuid": "00000000-0000-0000-0000-000000000000"})
    assert facilitator_admin_client.get(url).status_code == 404
    assert facilitator_admin_client.post(url).status_code == 404
