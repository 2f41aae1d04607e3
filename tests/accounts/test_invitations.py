"""Invitations to join an organization: the e-mailed link, for a new person and for an existing account.

The token is used once, expires after INVITATION_DAYS days (time frozen by passing `now`), and a link that
cannot be used (unknown, expired, used, revoked, replaced) shows a French page and changes nothing.
"""

import datetime
import html
import re
from urllib.parse import urlencode

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from clausier.accounts import invitations
from clausier.accounts.invitations import InvitationInvalid, accept_invitation, hash_token, invite
from clausier.accounts.models import Invitation
from clausier.audit.models import AuditEntry
from clausier.organizations.middleware import SESSION_KEY
from clausier.organizations.models import Membership, Role, User
from tests.factories import PASSWORD, UserFactory, acting

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Cl4usier-invitation-2025!"


def pending_invitation(organization, *, by, email="invitee@clausier.example", role=Role.MEMBER):
    """An open invitation of `organization` (the access probe's object); its token is `jeton-<email>`."""
    invitation = Invitation.objects.open().filter(organization=organization, email=email).first()
    if invitation is None:
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            invited_by=by,
            token_hash=hash_token(f"jeton-{email}"),
            expires_at=timezone.now() + datetime.timedelta(days=7),
        )
    return invitation


def link_in(mail) -> str:
    return re.search(r"https?://[^/\s]+(/invitation/[^/\s]+/)", mail.body).group(1)


def send(world, email="nouvelle@clausier.example", role=Role.MEMBER, now=None):
    admin = acting(world.users["facilitator_admin"])
    return invite(
        organization=world.facilitator,
        email=email,
        role=role,
        by=admin,
        base_url="https://clausier.example.fr",
        now=now,
    )


def test_a_new_person_creates_an_account_through_the_link_and_is_logged_in(world_a, client, mailoutbox):
    admin_client = client.__class__()
    admin_client.force_login(world_a.users["facilitator_admin"])
    response = admin_client.post(
        reverse("www:member_invite"), {"email": " Nouvelle@Clausier.example ", "role": "member"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("www:member_list")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["nouvelle@clausier.example"]
    assert mail.subject == "Clausier : invitation à rejoindre Cellule clause A"
    assert "en tant que membre" in mail.body and "expire le" in mail.body
    link = link_in(mail)
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(link.split("/")[2])  # only the hash is stored
    assert link.split("/")[2] not in str(list(Invitation.objects.values_list()))

    page = client.get(link)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Créez votre compte" in text and "Cellule clause A" in text
    assert not User.objects.filter(email="nouvelle@clausier.example").exists()  # GET writes nothing

    weak = client.post(
        link, {"first_name": "Ada", "last_name": "Lovelace", "password1": "court", "password2": "court"}
    )
    assert "au minimum 12 caractères" in weak.content.decode()
    assert not User.objects.filter(email="nouvelle@clausier.example").exists()

    response = client.post(
        link,
        {"first_name": "Ada", "last_name": "Lovelace", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == reverse("www:dashboard")
    user = User.objects.get(email="nouvelle@clausier.example")
    assert user.get_full_name() == "Ada Lovelace" and user.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[SESSION_KEY] == str(world_a.facilitator.uuid)
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role, membership.is_active) == (
        world_a.facilitator,
        "member",
        True,
    )
    invitation.refresh_from_db()
    assert invitation.accepted_at and invitation.accepted_by == user
    details = set(AuditEntry.objects.values_list("detail", flat=True))
    assert {
        "invitation envoyée par e-mail",
        "compte créé en acceptant une invitation",
        "invitation acceptée",
    } <= details
    assert client.get(reverse("www:dashboard")).status_code == 200

    # The link does not work twice, even logged out.
    client.post(reverse("logout"))
    again = client.get(link)
    assert again.status_code == 410 and "Invitation déjà utilisée" in again.content.decode()


def test_a_person_with_an_account_logs_in_and_joins_a_second_organization(world_a, client, mailoutbox):
    company_user = world_a.users["company"]  # member of the company; invited by the facilitator, as admin
    send(world_a, email=company_user.email.upper(), role=Role.ADMIN)
    link = link_in(mailoutbox[0])
    page = client.get(link).content.decode()
    assert "Un compte Clausier existe déjà" in page and "Créez votre compte" not in page
    assert f"{reverse('login')}?{urlencode({'next': link})}" in page  # the login page brings them back
    # Logging in goes through the usual login page, back to the link.
    response = client.post(
        reverse("login"), {"username": company_user.email, "password": PASSWORD, "next": link}
    )
    assert response.status_code == 302 and response["Location"] == link
    assert "Rejoindre Cellule clause A" in client.get(link).content.decode()
    assert Membership.objects.filter(user=company_user).count() == 1  # GET writes nothing
    response = client.post(link)
    assert response.status_code == 302
    memberships = Membership.objects.filter(user=company_user).order_by("organization__name")
    assert {(m.organization.name, m.role) for m in memberships} == {
        ("Cellule clause A", "admin"),
        ("company A", "member"),
    }
    assert client.session[SESSION_KEY] == str(world_a.facilitator.uuid)
    page = client.get(reverse("www:dashboard")).content.decode()
    assert 'data-testid="organization-switcher"' in page  # the switcher offers both organizations


def test_an_existing_account_cannot_be_taken_over_through_the_new_account_form(world_a, client, mailoutbox):
    member = world_a.users["company"]
    send(world_a, email=member.email)
    link = link_in(mailoutbox[0])
    client.post(
        link, {"first_name": "X", "last_name": "Y", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    member.refresh_from_db()
    assert member.check_password(PASSWORD) and "_auth_user_id" not in client.session
    assert Membership.objects.filter(user=member).count() == 1
    with pytest.raises(ValidationError):
        accept_invitation(token=link.split("/")[2], first_name="X", last_name="Y", password=NEW_PASSWORD)


def test_someone_logged_in_with_another_address_cannot_accept(world_a, client_for, mailoutbox):
    send(world_a, email="nouvelle@clausier.example")
    link = link_in(mailoutbox[0])
    other = client_for(world_a.users["prescriber"])
    assert "cette invitation est adressée à nouvelle@clausier.example" in other.get(link).content.decode()
    other.post(
        link, {"first_name": "X", "last_name": "Y", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert Invitation.objects.get().accepted_at is None
    assert not User.objects.filter(email="nouvelle@clausier.example").exists()
    assert Membership.objects.filter(user=world_a.users["prescriber"]).count() == 1


def test_the_link_expires_after_invitation_days(world_a, client, mailoutbox, settings, monkeypatch):
    sent_at = timezone.now() - datetime.timedelta(days=7, minutes=1)
    invitation = send(world_a, now=sent_at)
    assert invitation.expires_at == sent_at + datetime.timedelta(days=7)
    link = link_in(mailoutbox[0])
    response = client.get(link)
    assert response.status_code == 410
    assert "Invitation expirée" in response.content.decode()
    post = client.post(
        link, {"first_name": "A", "last_name": "B", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert post.status_code == 410 and not User.objects.filter(email="nouvelle@clausier.example").exists()
    # One minute before the end it still worked: the same action, the clock frozen there.
    token = invitation.token
    with pytest.raises(InvitationInvalid) as error:
        accept_invitation(token=token, first_name="A", last_name="B", password=NEW_PASSWORD)
    assert error.value.reason == "expired"
    membership = accept_invitation(
        token=token,
        first_name="A",
        last_name="B",
        password=NEW_PASSWORD,
        now=sent_at + datetime.timedelta(days=7) - datetime.timedelta(minutes=1),
    )
    assert membership.organization == world_a.facilitator
    # INVITATION_DAYS is a setting; timezone.now frozen far ahead makes a fresh link expire too.
    settings.INVITATION_DAYS = 1
    fresh = send(world_a, email="autre@clausier.example")
    assert fresh.expires_at - fresh.created_at == datetime.timedelta(days=1)
    later = timezone.now() + datetime.timedelta(days=1, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.get(link_in(mailoutbox[-1])).status_code == 410


def test_an_unknown_token_is_a_clear_page_and_changes_nothing(client, world_a):
    response = client.get(reverse("accounts:invitation_accept", kwargs={"token": "pas-un-jeton"}))
    assert response.status_code == 404
    assert "Lien d'invitation inconnu" in html.unescape(response.content.decode())
    assert (
        client.post(reverse("accounts:invitation_accept", kwargs={"token": "pas-un-jeton"})).status_code
        == 404
    )


def test_inviting_again_replaces_the_pending_invitation(world_a, client, mailoutbox):
    first = send(world_a, role=Role.MEMBER)
    second = send(world_a, role=Role.ADMIN)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    assert Invitation.objects.open().get() == second
    old = client.get(link_in(mailoutbox[0]))
    assert old.status_code == 410 and "Invitation annulée" in old.content.decode()
    assert client.get(link_in(mailoutbox[1])).status_code == 200
    assert AuditEntry.objects.filter(detail="remplacée par une nouvelle invitation").count() == 1


def test_a_revoked_invitation_no_longer_works(world_a, client, mailoutbox):
    invitation = send(world_a)
    invitations.revoke_invitation(invitation=invitation, by=acting(world_a.users["facilitator_admin"]))
    response = client.get(link_in(mailoutbox[0]))
    assert response.status_code == 410 and "Invitation annulée" in response.content.decode()
    with pytest.raises(ValidationError):
        invitations.revoke_invitation(invitation=invitation, by=acting(world_a.users["facilitator_admin"]))


def test_active_members_are_not_invited_and_only_admins_invite(world_a, mailoutbox):
    with pytest.raises(ValidationError, match="déjà membre"):
        send(world_a, email=world_a.users["facilitator_member"].email)
    with pytest.raises(PermissionDenied):
        invite(
            organization=world_a.facilitator,
            email="x@clausier.example",
            role=Role.ADMIN,
            by=acting(world_a.users["facilitator_member"]),
        )
    with pytest.raises(PermissionDenied):  # an admin of another organization
        invite(
            organization=world_a.orgs["company"],
            email="x@clausier.example",
            role=Role.ADMIN,
            by=acting(world_a.users["facilitator_admin"]),
        )
    assert mailoutbox == [] and not Invitation.objects.exists()


def test_a_mail_server_down_keeps_nothing(world_a, monkeypatch):
    def refuse(**kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr(invitations, "_send_invitation", refuse)
    with pytest.raises(ValidationError, match="n'a pas pu être envoyé"):
        send(world_a)
    assert (
        not Invitation.objects.exists()
        and not AuditEntry.objects.filter(object_type="accounts.invitation").exists()
    )


def test_a_deactivated_member_invited_again_comes_back_with_the_new_role(world_a, client_for, mailoutbox):
    member = world_a.users["facilitator_member"]
    membership = member.memberships.get()
    invitations.deactivate_member(membership=membership, by=acting(world_a.users["facilitator_admin"]))
    send(world_a, email=member.email, role=Role.ADMIN)
    client = client_for(member)
    assert client.post(link_in(mailoutbox[0])).status_code == 302
    membership.refresh_from_db()
    assert membership.is_active and membership.role == Role.ADMIN
    assert Membership.objects.filter(user=member).count() == 1  # the same row: history kept


def test_a_company_admin_invites_to_its_company(world_a, client_for, mailoutbox):
    admin = UserFactory(member_of=world_a.orgs["company"], member_of__role=Role.ADMIN)
    client = client_for(admin)
    response = client.post(
        reverse("www:member_invite"), {"email": "chef@entreprise.example", "role": "member"}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.organization == world_a.orgs["company"] and invitation.invited_by == admin
    assert mailoutbox[0].subject == "Clausier : invitation à rejoindre company A"
