"""The members page of an organization (any kind): list, invite, change a role, deactivate, revoke.

Administrators only (404 for anyone else); an administrator of organization X reaches nothing of organization
Y by editing the URL; a deactivated member can no longer act for the organization; the last active
administrator cannot be demoted or deactivated; the page's queries do not grow with the members.
"""

import html

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.accounts.invitations import change_member_role, deactivate_member
from clausier.accounts.models import Invitation
from clausier.audit.models import AuditEntry
from clausier.organizations.access import membership_key
from clausier.organizations.models import Membership, Role
from tests.accounts.test_invitations import pending_invitation
from tests.factories import MembershipFactory, UserFactory, acting

pytestmark = pytest.mark.django_db


def key_of(user, organization=None):
    memberships = user.memberships.all()
    membership = memberships.get(organization=organization) if organization else memberships.get()
    return membership_key(membership)


@pytest.fixture
def company_admins(worlds):
    """An administrator for A's company and for B's company (partners have only members in the worlds)."""
    a, b = worlds
    return (
        UserFactory(
            email="admin-company-a@clausier.example", member_of=a.orgs["company"], member_of__role=Role.ADMIN
        ),
        UserFactory(
            email="admin-company-b@clausier.example", member_of=b.orgs["company"], member_of__role=Role.ADMIN
        ),
    )


def test_the_admin_sees_members_and_pending_invitations(world_a, facilitator_admin_client):
    pending_invitation(
        world_a.facilitator, by=world_a.users["facilitator_admin"], email="attente@clausier.example"
    )
    response = facilitator_admin_client.get(reverse("www:member_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert world_a.users["facilitator_member"].email in page and "attente@clausier.example" in page
    assert world_a.users["company"].email not in page  # another organization's member
    assert reverse("www:member_role", kwargs={"member": key_of(world_a.users["facilitator_member"])}) in page
    assert ">Membres</a>" in page  # in the menu


@pytest.mark.parametrize("role", ["facilitator_member", "company", "buyer", "prescriber", "structure"])
def test_non_admins_get_404_everywhere(role, world_a, client_for):
    client = client_for(world_a.users[role])
    member_key = key_of(world_a.users["facilitator_member"])
    invitation = pending_invitation(world_a.facilitator, by=world_a.users["facilitator_admin"])
    urls = [
        reverse("www:member_list"),
        reverse("www:member_invite"),
        reverse("www:member_role", kwargs={"member": member_key}),
        reverse("www:member_deactivate", kwargs={"member": member_key}),
        reverse("www:invitation_revoke", kwargs={"uuid": invitation.uuid}),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"role": "admin", "email": "x@clausier.example"}).status_code == 404, url
    assert ">Membres</a>" not in client.get(reverse("www:dashboard")).content.decode()
    assert Membership.objects.get(user=world_a.users["facilitator_member"]).is_active
    assert Invitation.objects.get().revoked_at is None and Invitation.objects.count() == 1


def test_a_company_admin_manages_its_company_only(worlds, company_admins, client_for):
    a, b = worlds
    admin_a, admin_b = company_admins
    client = client_for(admin_a)
    page = client.get(reverse("www:member_list")).content.decode()
    assert a.users["company"].email in page and b.users["company"].email not in page
    assert a.users["facilitator_member"].email not in page
    assert ">Membres</a>" in client.get(reverse("www:dashboard")).content.decode()
    # Editing the URL: B's company member, A's facilitator member, B's company invitation → 404, nothing changes.
    theirs = [key_of(b.users["company"]), key_of(a.users["facilitator_member"]), key_of(admin_b)]
    for member_key in theirs:
        for name, payload in (("www:member_role", {"role": "admin"}), ("www:member_deactivate", {})):
            url = reverse(name, kwargs={"member": member_key})
            assert client.get(url).status_code == 404
            assert client.post(url, payload).status_code == 404
    invitation_b = pending_invitation(b.orgs["company"], by=admin_b)
    url = reverse("www:invitation_revoke", kwargs={"uuid": invitation_b.uuid})
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    assert Membership.objects.filter(is_active=False).count() == 0
    assert Membership.objects.filter(role=Role.ADMIN).count() == 4  # A's, B's facilitator admins + the two
    invitation_b.refresh_from_db()
    assert invitation_b.revoked_at is None
    # A forged or tampered key is a 404 too.
    forged = key_of(a.users["company"]).rsplit(":", 1)[0] + ":signature"
    assert client.get(reverse("www:member_role", kwargs={"member": forged})).status_code == 404
    # Its own member: the role changes.
    own = reverse("www:member_role", kwargs={"member": key_of(a.users["company"])})
    assert client.post(own, {"role": "admin"}).status_code == 302
    assert a.users["company"].memberships.get().role == Role.ADMIN


def test_changing_a_role_and_revoking_an_invitation_are_audited(world_a, facilitator_admin_client):
    member = world_a.users["facilitator_member"]
    url = reverse("www:member_role", kwargs={"member": key_of(member)})
    assert facilitator_admin_client.get(url).status_code == 200
    assert facilitator_admin_client.post(url, {"role": "admin"}).status_code == 302
    assert member.memberships.get().role == Role.ADMIN
    entry = AuditEntry.objects.get(object_type="organizations.membership")
    assert (
        entry.changes == {"role": ["member", "admin"]} and entry.actor == world_a.users["facilitator_admin"]
    )
    assert entry.facilitator == world_a.facilitator  # in the facilitator's audit log
    invitation = pending_invitation(world_a.facilitator, by=world_a.users["facilitator_admin"])
    url = reverse("www:invitation_revoke", kwargs={"uuid": invitation.uuid})
    assert facilitator_admin_client.get(url).status_code == 200
    assert facilitator_admin_client.post(url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert (
        AuditEntry.objects.filter(object_type="accounts.invitation", detail="invitation révoquée").count()
        == 1
    )
    assert facilitator_admin_client.get(url).status_code == 404  # no longer pending


def test_a_deactivated_member_loses_access(world_a, facilitator_admin_client, client_for):
    member = world_a.users["facilitator_member"]
    client = client_for(member)
    market = reverse("www:market_detail", kwargs={"uuid": world_a.objects["market"].uuid})
    assert client.get(market).status_code == 200
    url = reverse("www:member_deactivate", kwargs={"member": key_of(member)})
    assert "ne pourra plus agir pour Cellule clause A" in facilitator_admin_client.get(url).content.decode()
    assert facilitator_admin_client.post(url).status_code == 302
    membership = Membership.objects.get(user=member)
    assert membership.is_active is False  # the row stays
    entry = AuditEntry.objects.get(object_type="organizations.membership")
    assert entry.changes == {"is_active": [True, False]}
    # The same session: the middleware no longer finds the membership.
    assert client.get(market).status_code == 404
    dashboard = client.get(reverse("www:dashboard"))
    assert (
        dashboard.status_code == 200
        and 'data-testid="current-organization"' not in dashboard.content.decode()
    )
    assert (
        client.post(
            reverse("www:switch_organization"), {"organization": str(world_a.facilitator.uuid)}
        ).status_code
        == 404
    )
    page = facilitator_admin_client.get(reverse("www:member_list")).content.decode()
    assert "Membres désactivés" in page and member.email in page
    assert facilitator_admin_client.get(url).status_code == 404  # already deactivated


def test_a_member_of_two_organizations_keeps_the_other_one(world_a, client_for):
    member = world_a.users["facilitator_member"]
    MembershipFactory(user=member, organization=world_a.orgs["buyer"])
    deactivate_member(
        membership=member.memberships.get(organization=world_a.facilitator),
        by=acting(world_a.users["facilitator_admin"]),
    )
    client = client_for(member)
    page = client.get(reverse("www:dashboard")).content.decode()
    assert "buyer A" in page
    assert (
        client.get(
            reverse("www:market_detail", kwargs={"uuid": world_a.objects["other_market"].uuid})
        ).status_code
        == 404
    )


def test_the_last_active_admin_is_protected(world_a, facilitator_admin_client):
    admin = world_a.users["facilitator_admin"]
    own = key_of(admin)
    response = facilitator_admin_client.post(
        reverse("www:member_role", kwargs={"member": own}), {"role": "member"}
    )
    assert response.status_code == 200 and "au moins un administrateur actif" in html.unescape(
        response.content.decode()
    )
    response = facilitator_admin_client.post(reverse("www:member_deactivate", kwargs={"member": own}))
    assert response.status_code == 200 and "au moins un administrateur actif" in html.unescape(
        response.content.decode()
    )
    assert admin.memberships.get().role == Role.ADMIN and admin.memberships.get().is_active
    # A deactivated admin does not count: still the last one.
    other_admin = UserFactory(member_of=world_a.facilitator, member_of__role=Role.ADMIN)
    deactivate_member(membership=other_admin.memberships.get(), by=acting(admin))
    with pytest.raises(ValidationError, match="au moins un administrateur actif"):
        change_member_role(membership=admin.memberships.get(), role=Role.MEMBER, by=acting(admin))
    # With a second active admin, the first may step down.
    second = world_a.users["facilitator_member"]
    change_member_role(membership=second.memberships.get(), role=Role.ADMIN, by=acting(admin))
    assert (
        facilitator_admin_client.post(
            reverse("www:member_role", kwargs={"member": own}), {"role": "member"}
        ).status_code
        == 302
    )
    assert admin.memberships.get().role == Role.MEMBER
    assert facilitator_admin_client.get(reverse("www:member_list")).status_code == 404  # no longer admin


def test_the_members_page_costs_the_same_queries_whatever_the_number_of_members(
    world_a, facilitator_admin_client
):
    url = reverse("www:member_list")
    facilitator_admin_client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert facilitator_admin_client.get(url).status_code == 200
        return len(ctx)

    few = count()
    for n in range(6):
        user = UserFactory(member_of=world_a.facilitator)
        if n % 2:
            deactivate_member(
                membership=user.memberships.get(), by=acting(world_a.users["facilitator_admin"])
            )
        pending_invitation(
            world_a.facilitator, by=world_a.users["facilitator_admin"], email=f"i{n}@clausier.example"
        )
    assert count() == few
