"""The facilitator's parameters: labour shares, hourly costs, thresholds, eligibility validity and hours of an
ETP, the days of the notifications, counting rules.

Every member of the facilitator's staff reads them; only its administrators change them (a member who
reaches a form is sent back to the page with a message, and nothing is written).
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from clausier.employment.models import CountingRule
from clausier.employment.parameters import add_counting_rule_version, counting_rule_versions
from clausier.notifications.actions import set_notification_days
from clausier.organizations.access import is_facilitator_admin, is_facilitator_staff
from clausier.procurement import parameters
from clausier.www.clauses.forms import (
    CountingRuleForm,
    EligibilityFteForm,
    HourlyCostForm,
    LabourSharesForm,
    NotificationDaysForm,
    ThresholdsForm,
)
from clausier.www.kit.base import StaffFormView, add_errors
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin

ADMIN_ONLY = "Seuls les administrateurs du facilitateur peuvent modifier les paramètres."


class ParametersView(FacilitatorStaffRequiredMixin, TemplateView):
    template_name = "www/parameters/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        facilitator = self.request.organization
        context.update(
            title="Paramètres du facilitateur",
            is_admin=is_facilitator_admin(self.request.user),
            sizing=parameters.sizing_parameters(facilitator),
            hourly_costs=parameters.hourly_cost_history(facilitator),
            settings=parameters.settings_of(facilitator),
            rule_scopes=counting_rule_versions(facilitator),
        )
        return context


class AdminParametersFormView(StaffFormView):
    """A parameters form: staff only (404 otherwise), administrators only (members are sent back)."""

    success_message = "Les paramètres ont été enregistrés."

    def dispatch(self, request, *args, **kwargs):
        if is_facilitator_staff(request.user) and not is_facilitator_admin(request.user):
            messages.warning(request, ADMIN_ONLY)
            return redirect("www:parameters")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            self.save(form)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        except PermissionDenied:
            messages.warning(self.request, ADMIN_ONLY)
            return redirect("www:parameters")
        messages.success(self.request, self.success_message)
        return redirect(self.get_success_url_for(None))

    def get_success_url_for(self, obj):
        return reverse("www:parameters")

    def get_cancel_url(self):
        return reverse("www:parameters")


class LabourSharesEditView(AdminParametersFormView):
    form_class = LabourSharesForm
    title = "Parts de main-d'œuvre par famille de lots"
    success_message = "Les parts de main-d'œuvre ont été enregistrées."

    def get_extra_form_kwargs(self):
        return {"facilitator": self.request.organization}

    def save(self, form):
        parameters.set_labour_shares(
            facilitator=self.request.organization, by=self.request.user, shares=form.shares()
        )


class HourlyCostCreateView(AdminParametersFormView):
    form_class = HourlyCostForm
    title = "Nouveau coût horaire"
    submit_label = "Ajouter ce coût horaire"
    success_message = "Le nouveau coût horaire a été enregistré."

    def get_initial(self):
        return {"valid_from": datetime.date.today()}

    def save(self, form):
        parameters.add_hourly_cost(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )


class ThresholdsEditView(AdminParametersFormView):
    form_class = ThresholdsForm
    title = "Seuils"

    def get_initial(self):
        settings = parameters.settings_of(self.request.organization)
        return {
            "minimum_clause_hours": settings.minimum_clause_hours,
            "max_monthly_hours": settings.max_monthly_hours,
        }

    def save(self, form):
        parameters.set_thresholds(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )


class EligibilityFteEditView(AdminParametersFormView):
    form_class = EligibilityFteForm
    title = "Validité de l'éligibilité et heures d'un ETP"
    success_message = "La validité de l'éligibilité et les heures d'un ETP ont été enregistrées."

    def get_initial(self):
        settings = parameters.settings_of(self.request.organization)
        return {
            "eligibility_validity_months": settings.eligibility_validity_months,
            "fte_hours": settings.fte_hours,
        }

    def save(self, form):
        parameters.set_eligibility_and_fte(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )


class NotificationDaysEditView(AdminParametersFormView):
    form_class = NotificationDaysForm
    title = "Jours des notifications"
    success_message = "Les jours des notifications ont été enregistrés."

    def get_initial(self):
        settings = parameters.settings_of(self.request.organization)
        return {name: getattr(settings, name) for name in NotificationDaysForm.base_fields}

    def save(self, form):
        set_notification_days(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )


class CountingRuleCreateView(AdminParametersFormView):
    """A new version of a counting rule; `?depuis=<uuid>` starts from an existing version."""

    form_class = CountingRuleForm
    title = "Nouvelle version d'une règle de comptage"
    submit_label = "Créer cette version"
    success_message = "La nouvelle version de la règle de comptage a été enregistrée."

    def get_source(self):
        try:
            return (
                CountingRule.objects.visible_to(self.request.user)
                .select_related("modality", "contract_type")
                .filter(uuid=self.request.GET.get("depuis", ""))
                .first()
            )
        except ValidationError:  # not a uuid
            return None

    def get_initial(self):
        initial = {"coefficient": 1, "count_training": True, "months_after_market_end": 0}
        source = self.get_source()
        if source is not None:
            initial.update(
                modality=source.modality.code if source.modality else None,
                contract_type=source.contract_type.code if source.contract_type else None,
                coefficient=source.coefficient,
                count_training=source.count_training,
                months_after_market_end=source.months_after_market_end,
            )
        initial["valid_from"] = datetime.date.today()
        return initial

    def save(self, form):
        add_counting_rule_version(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )
