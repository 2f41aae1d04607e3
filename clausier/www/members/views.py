"""Members and invitations of the current organization, for its administrators (any kind of organization).

Anyone else gets a 404 (no existence leak), and a membership or invitation of another organization is a 404
too: objects come through `members_visible_to` / `invitations_visible_to` (the access layer). Writes are
calls to `clausier.accounts.invitations`; every GET is read-only. The list page costs the same few
queries whatever the number of members and invitations.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from clausier.accounts import invitations
from clausier.accounts.models import Invitation
from clausier.accounts.proconnect_members import with_proconnect
from clausier.notifications.delivery import absolute_url
from clausier.organizations.access import (
    get_invitation_for_user_or_404,
    get_membership_for_user_or_404,
    invitations_visible_to,
    is_organization_admin,
    members_visible_to,
    membership_key,
)
from clausier.organizations.models import Role
from clausier.www.kit.base import add_errors
from clausier.www.members.forms import ConfirmForm, InvitationForm, RoleForm


class OrganizationAdminRequiredMixin:
    """Only the administrators of the current organization; anyone else gets a 404."""

    def dispatch(self, request, *args, **kwargs):
        if not is_organization_admin(request.user):
            raise Http404("Page réservée aux administrateurs de l'organisation.")
        return super().dispatch(request, *args, **kwargs)


class MemberListView(OrganizationAdminRequiredMixin, TemplateView):
    template_name = "www/members/list.html"

    def get_context_data(self, **kwargs):
        user, now = self.request.user, timezone.now()
        members = list(
            with_proconnect(members_visible_to(user))
            .select_related("user")
            .order_by("-is_active", "user__last_name", "user__first_name", "user__email")
        )
        for membership in members:
            membership.key = membership_key(membership)
        open_invitations = list(
            invitations_visible_to(user).open().select_related("invited_by").order_by("email")
        )
        for invitation in open_invitations:
            invitation.is_expired = invitation.expires_at <= now
        active = [m for m in members if m.is_active]
        return super().get_context_data(
            title="Membres",
            members=active,
            siret_differs=any(m.proconnect_siret_differs for m in active),
            former_members=[m for m in members if not m.is_active],
            invitations=open_invitations,
            **kwargs,
        )


class MemberFormView(OrganizationAdminRequiredMixin, FormView):
    template_name = "www/form.html"
    title = submit_label = ""

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title=self.title,
            submit_label=self.submit_label,
            cancel_url=reverse("www:member_list"),
            parent=getattr(self, "parent", None),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            message = self.save(form)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        except PermissionDenied as exc:
            raise Http404("Page réservée aux administrateurs de l'organisation.") from exc
        messages.success(self.request, message)
        return redirect("www:member_list")


class MemberInviteView(MemberFormView):
    form_class = InvitationForm
    title = "Inviter une personne"
    submit_label = "Envoyer l'invitation"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "days": settings.INVITATION_DAYS}

    def save(self, form):
        invitation = invitations.invite(
            organization=self.request.organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            by=self.request.user,
            base_url=absolute_url("/", self.request).rstrip("/"),
        )
        return f"Invitation envoyée à {invitation.email}."


class ActiveMemberFormView(MemberFormView):
    """A form on one active member of the current organization (`self.membership`); a former member is a 404
    saying `inactive`."""

    inactive = ""

    def dispatch(self, request, *args, **kwargs):
        self.membership = get_membership_for_user_or_404(request.user, kwargs["member"])
        if not self.membership.is_active:
            raise Http404(self.inactive)
        return super().dispatch(request, *args, **kwargs)


class MemberRoleView(ActiveMemberFormView):
    form_class = RoleForm
    submit_label = "Enregistrer le rôle"
    inactive = "Ce membre est désactivé."

    @property
    def title(self):
        return f"Rôle de {self.membership.user}"

    @property
    def parent(self):
        return self.membership.user.email

    def get_initial(self):
        return {"role": self.membership.role}

    def save(self, form):
        membership = invitations.change_member_role(
            membership=self.membership, role=form.cleaned_data["role"], by=self.request.user
        )
        return f"{membership.user} est désormais {Role(membership.role).label.lower()}."


class MemberDeactivateView(ActiveMemberFormView):
    form_class = ConfirmForm
    submit_label = "Désactiver ce membre"
    inactive = "Ce membre est déjà désactivé."

    @property
    def title(self):
        return f"Désactiver {self.membership.user}"

    @property
    def parent(self):
        return (
            f"{self.membership.user} ({self.membership.user.email}) ne pourra plus agir pour "
            f"{self.membership.organization.name}. Son historique est conservé ; une nouvelle invitation lui "
            "rendra l'accès."
        )

    def save(self, form):
        membership = invitations.deactivate_member(membership=self.membership, by=self.request.user)
        return f"{membership.user} ne fait plus partie des membres actifs."


class InvitationRevokeView(MemberFormView):
    form_class = ConfirmForm
    submit_label = "Révoquer l'invitation"

    def dispatch(self, request, *args, **kwargs):
        self.invitation = get_invitation_for_user_or_404(request.user, kwargs["uuid"])
        if self.invitation.accepted_at or self.invitation.revoked_at:
            raise Http404("Cette invitation n'est plus en attente.")
        self.title = f"Révoquer l'invitation de {self.invitation.email}"
        self.parent = "Le lien envoyé ne fonctionnera plus. Vous pourrez inviter cette adresse à nouveau."
        return super().dispatch(request, *args, **kwargs)

    def save(self, form):
        invitation: Invitation = invitations.revoke_invitation(
            invitation=self.invitation, by=self.request.user
        )
        return f"L'invitation de {invitation.email} est révoquée."
