"""The login form (used by `clausier.www.accounts`), `/` (the dashboard, or the public home page for a visitor who
is not signed in), the organization switcher."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.shortcuts import redirect
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from clausier.organizations.access import is_facilitator_staff
from clausier.organizations.middleware import SESSION_KEY
from clausier.organizations.models import User
from clausier.www.hours.views import dashboard_alerts
from clausier.www.kit.mixins import DsfrFormMixin
from clausier.www.kit.navigation import menu_for
from clausier.www.publicsite.views import WelcomeView
from clausier.www.reporting.views import dashboard_figures
from clausier.www.spaces.views import SPACES


class LoginForm(DsfrFormMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Adresse e-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "Adresse e-mail ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
    }

    def clean(self):
        # The login is the e-mail address; authenticate with the username it belongs to.
        email = self.cleaned_data.get("username")
        if email:
            username = User.objects.filter(email__iexact=email).values_list("username", flat=True).first()
            self.cleaned_data["username"] = username or email
        return super().clean()


class DashboardView(TemplateView):
    """The facilitator's figures and lots at risk under the filters (htmx: that block alone), the relances,
    shortcuts; a partner's space for a company, an insertion structure or a buyer."""

    template_name = "www/dashboard.html"
    partial_template_name = "www/reporting/_dashboard_block.html"  # the cached block alone

    def is_partial(self):
        return bool(
            self.request.htmx and not self.request.htmx.boosted and is_facilitator_staff(self.request.user)
        )

    def get(self, request, *args, **kwargs):
        # A company, an insertion structure or a buyer lands on its own space (`spaces.SPACES`).
        space = SPACES.get(getattr(request.organization, "kind", None))
        if space is not None:
            return space.as_view()(request)
        return super().get(request, *args, **kwargs)

    def get_template_names(self):
        return [self.partial_template_name] if self.is_partial() else [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = self.request.organization
        context["title"] = "Tableau de bord"
        context["is_staff_view"] = is_facilitator_staff(self.request.user)
        if context["is_staff_view"]:
            context.update(dashboard_figures(self.request, organization))
            if not self.is_partial():
                context.update(dashboard_alerts(organization))  # hours area: relances
        context["shortcuts"] = [
            item for item in menu_for(self.request) if item["url_name"] != "www:dashboard"
        ]
        return context

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        patch_vary_headers(response, ("HX-Request",))
        return response


dashboard_view = DashboardView.as_view()
welcome_view = WelcomeView.as_view()


@login_not_required
def home(request, *args, **kwargs):
    """`/`: a signed-in user's dashboard; for anyone else the public home page (`WelcomeView`: what Clausier is,
    the cellules' public sites, the sign-in button). Public on purpose: the dashboard stays behind the login."""
    if request.user.is_authenticated:
        return dashboard_view(request, *args, **kwargs)
    return welcome_view(request, *args, **kwargs)


@require_POST
def switch_organization(request):
    """Act for another organization the user is a member of; anything else is a 404."""
    chosen = request.POST.get("organization", "")
    membership = next((m for m in request.memberships if str(m.organization.uuid) == chosen), None)
    if membership is None:
        raise Http404("Organisation inconnue.")
    request.session[SESSION_KEY] = str(membership.organization.uuid)
    messages.success(request, f"Vous agissez désormais pour « {membership.organization.name} ».")
    # Back to the dashboard: the page the user was on may belong to the other organization.
    return redirect("www:dashboard")
