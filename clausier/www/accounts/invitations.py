"""The public page of an invitation link: create an account, or log in, and join the organization.

GET shows what the link allows (and writes nothing); POST accepts through `invitations.accept_invitation`.
A link that cannot be used (unknown, expired, used, revoked) shows why, in French, and changes nothing.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from clausier.accounts import proconnect
from clausier.accounts.invitations import (
    PROBLEMS,
    InvitationInvalid,
    accept_invitation,
    find_invitation,
    invitation_problem,
    normalize_email,
)
from clausier.organizations.middleware import SESSION_KEY
from clausier.organizations.models import User
from clausier.www.accounts.forms import NewAccountForm


@method_decorator([login_not_required, sensitive_post_parameters(), never_cache], name="dispatch")
class InvitationAcceptView(View):
    template_name = "accounts/invitation.html"

    def dispatch(self, request, *args, token="", **kwargs):
        self.token = token
        self.invitation = find_invitation(token)
        problem = invitation_problem(self.invitation)
        if problem:
            return self.invalid(problem)
        email = self.invitation.email
        self.has_account = User.objects.filter(email__iexact=email).exists()
        user = request.user
        if user.is_authenticated:
            self.mode = "join" if normalize_email(user.email) == email else "wrong_user"
        else:
            self.mode = "login" if self.has_account else "create"
        return super().dispatch(request, *args, **kwargs)

    def invalid(self, problem):
        title, text = PROBLEMS[problem]
        context = {"title": title, "text": text.format(days=settings.INVITATION_DAYS), "problem": problem}
        return render(
            self.request,
            "accounts/invitation_invalid.html",
            context,
            status=404 if problem == "unknown" else 410,
        )

    def render(self, form=None, status=200):
        context = {
            "title": f"Rejoindre {self.invitation.organization.name}",
            "invitation": self.invitation,
            "mode": self.mode,
            "form": form or NewAccountForm(email=self.invitation.email),
            "login_url": f"{reverse('login')}?{urlencode({'next': self.request.path})}",
            # Issue 17: accept with ProConnect (the link's token travels to the sign-in, which accepts it)
            "proconnect": proconnect.is_configured(),
            "proconnect_query": urlencode({"invitation": self.token}),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render()

    def post(self, request, *args, **kwargs):
        if self.mode == "join":
            return self.accept(user=request.user)
        if self.mode == "create":
            form = NewAccountForm(request.POST, email=self.invitation.email)
            if not form.is_valid():
                return self.render(form)
            data = form.cleaned_data
            return self.accept(
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
                form=form,
            )
        return self.render()

    def accept(self, form=None, **kwargs):
        try:
            membership = accept_invitation(token=self.token, **kwargs)
        except InvitationInvalid as invalid:
            return self.invalid(invalid.reason)
        except ValidationError as error:
            form = form or NewAccountForm(email=self.invitation.email)
            form.add_error(None, error.messages)
            return self.render(form)
        organization = membership.organization
        if not self.request.user.is_authenticated:
            login(self.request, membership.user, backend=settings.AUTHENTICATION_BACKENDS[0])
        self.request.session[SESSION_KEY] = str(organization.uuid)
        messages.success(self.request, f"Bienvenue : vous êtes désormais membre de « {organization.name} ».")
        return redirect("www:dashboard")
