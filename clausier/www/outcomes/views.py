"""Outcomes (sorties): the follow-up list "Sorties à renseigner" and the outcome form, facilitator staff only."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from clausier.employment.models import Contract
from clausier.organizations.access import get_object_for_user_or_404, organizations_visible_to
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.models import Outcome
from clausier.participants.outcomes import (
    Refused,
    due_on,
    earliest_observation,
    hydrate,
    outcomes_due,
    record_outcome,
)
from clausier.reference.models import OutcomeCategory
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.kit.base import StaffFormView
from clausier.www.kit.fields import FrenchDateField
from clausier.www.kit.forms import UuidModelChoiceField, buyers_of
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin

Timing = Outcome.Timing
TIMING_URL_NAMES = {Timing.END: "www:outcome_end", Timing.SIX_MONTHS: "www:outcome_six_months"}


def today() -> datetime.date:
    return datetime.date.today()


# --- Follow-up list -------------------------------------------------------------------------------------------


class OutcomeFollowUpFilterForm(ListFilterForm):
    timing = forms.ChoiceField(label="Sortie", required=False, choices=[("", "Toutes"), *Timing.choices])
    employer = UuidModelChoiceField(
        Organization.objects.none(), label="Employeur", required=False, empty_label="Tous"
    )
    buyer = UuidModelChoiceField(
        Organization.objects.none(), label="Donneur d'ordre", required=False, empty_label="Tous"
    )
    lookups = {"employer": "employer", "buyer": "lot__market__buyer"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        employers = Organization.objects.filter(
            kind__in=[OrganizationKind.COMPANY, OrganizationKind.INSERTION_STRUCTURE]
        )
        self.fields["employer"].queryset = organizations_visible_to(self.user, employers).order_by("name")
        self.fields["buyer"].queryset = buyers_of(self.user)

    def filter_timing(self, queryset, value):
        return queryset  # applied by `outcomes_due` (it picks the part of the union)

    def timing_value(self) -> str:
        return (self.cleaned_data.get("timing") or "") if self.is_bound and self.is_valid() else ""


class OutcomeFollowUpView(FacilitatorStaffRequiredMixin, FilteredListView):
    """Contracts ended without an end outcome, and ended 6 months ago without a 6-month outcome.

    Constant queries: the count and the page of the union, then one query for the page's contracts.
    """

    title = "Sorties à renseigner"
    table_template_name = "www/outcomes/_table.html"
    filter_form_class = OutcomeFollowUpFilterForm
    search_fields = (
        "participant__last_name",
        "participant__first_name",
        "employer__name",
        "lot__market__reference",
    )
    search_placeholder = "Participant, employeur ou n° de marché"
    sort_fields = {
        "echeance": ("due_on", "last_name", "first_name"),
        "participant": ("last_name", "first_name", "due_on"),
    }
    default_sort = "echeance"
    columns = (
        Column("Échéance", "echeance", value="due_on"),
        Column("Sortie", value=lambda item: "Fin de contrat" if item.timing == "end" else "À 6 mois"),
        Column(
            "Participant",
            "participant",
            value=(("Nom", "contract.participant.last_name"), ("Prénom", "contract.participant.first_name")),
        ),
        Column("Employeur", value="contract.employer.name"),
        Column(
            "Contrat",
            value=(
                ("Type de contrat", "contract.contract_type"),
                ("Marché", "contract.lot.market.reference"),
                ("Donneur d'ordre", "contract.lot.market.buyer.name"),
            ),
        ),
        Column("Fin du contrat", value="contract.end_date"),
        Column("Action"),
    )
    export_personal_data = True

    def get_base_queryset(self):
        return Contract.objects.visible_to(self.request.user)

    def get_queryset(self):
        self.filter_form = self.get_filter_form()
        if self.filter_form.is_bound:
            self.filter_form.is_valid()
        contracts = self.filter_form.apply(self.get_base_queryset(), self.search_fields)
        self.today = today()
        due = outcomes_due(contracts, self.today, timing=self.filter_form.timing_value())
        return due.order_by(*self.get_ordering())

    def paginate_queryset(self, queryset, page_size):
        paginator, page, rows, is_paginated = super().paginate_queryset(queryset, page_size)
        page.object_list = hydrate(page.object_list, self.today)
        return paginator, page, page.object_list, is_paginated

    def prepare_export_chunk(self, rows):
        return hydrate(rows, self.today)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["timing_url_names"] = TIMING_URL_NAMES
        return context


# --- Recording an outcome -------------------------------------------------------------------------------------


def category_choices():
    """Active outcome categories grouped by family (emploi durable, de transition, sortie positive, autre)."""
    families = dict(OutcomeCategory._meta.get_field("group").choices)
    grouped: dict[str, list] = {family: [] for family in families}
    for category in OutcomeCategory.objects.active().order_by("order", "label"):
        grouped.setdefault(category.group, []).append((category.code, category.label))
    return [("", "— Choisir —")] + [
        (families.get(family, family), items) for family, items in grouped.items() if items
    ]


class OutcomeForm(DsfrFormMixin, forms.Form):
    category = forms.ChoiceField(label="Situation")
    detail = forms.CharField(
        label="Précision (sous-situation)",
        required=False,
        max_length=255,
        help_text="Par exemple : « CDI chez l'entreprise attributaire », « CAP maçon à l'AFPA ».",
    )
    observed_on = FrenchDateField(label="Situation constatée le")

    def __init__(self, *args, contract, timing, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract, self.timing = contract, timing
        self.categories = {c.code: c for c in OutcomeCategory.objects.active()}
        self.fields["category"].choices = category_choices()
        if contract.end_date:
            earliest = earliest_observation(contract.end_date, timing)
            self.fields["observed_on"].help_text = f"Au plus tôt le {earliest:%d/%m/%Y}."

    def clean_category(self):
        code = self.cleaned_data["category"]
        if code not in self.categories:
            raise forms.ValidationError("Choisissez une situation parmi les catégories de sortie.")
        return self.categories[code]


class OutcomeEditView(OptimisticLockMixin, StaffFormView):
    """Record or correct the outcome of a contract at one timing (`timing` is set by the URL).

    The form carries the outcome's version (or "absent"): an outcome corrected or recorded by someone else
    since the form was opened is not overwritten.
    """

    form_class = OutcomeForm
    template_name = "www/outcomes/edit.html"
    submit_label = "Enregistrer la sortie"
    success_message = "La sortie a été enregistrée."
    timing = Timing.END
    lock_absent = True

    def get_parent(self):
        self.contract = get_object_for_user_or_404(
            Contract.objects.select_related("participant", "employer", "lot__market", "contract_type"),
            self.request.user,
            uuid=self.kwargs["uuid"],
        )
        self.outcome = (
            Outcome.objects.filter(contract=self.contract, timing=self.timing)
            .select_related("category")
            .first()
        )
        return self.contract

    def get_locked_object(self):
        return self.outcome

    @property
    def title(self):
        label = "à la fin du contrat" if self.timing == Timing.END else "à 6 mois"
        return f"Sortie {label} — {self.contract.participant}"

    def get_extra_form_kwargs(self):
        return {"contract": self.contract, "timing": self.timing}

    def get_initial(self):
        if self.outcome is not None:
            return {
                "category": self.outcome.category.code,
                "detail": self.outcome.detail,
                "observed_on": self.outcome.observed_on,
            }
        if self.contract.end_date:
            due = due_on(self.contract.end_date, self.timing)
            return {"observed_on": min(due, today())}
        return {}

    def save(self, form):
        data = form.cleaned_data
        try:
            return record_outcome(
                contract=self.contract,
                timing=self.timing,
                category=data["category"],
                detail=data["detail"],
                observed_on=data["observed_on"],
                by=self.request.user,
                expected_version=self.expected_version,
            )
        except Refused as refusal:
            raise ValidationError(refusal.messages) from refusal

    def get_success_url_for(self, obj):
        return reverse("www:outcome_followup")

    def get_cancel_url(self):
        return reverse("www:outcome_followup")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        end = self.contract.end_date
        context.update(
            contract=self.contract,
            outcome=self.outcome,
            timing_label=Timing(self.timing).label,
            due=due_on(end, self.timing) if end else None,
            earliest=earliest_observation(end, self.timing) if end else None,
        )
        return context


class EndOutcomeView(OutcomeEditView):
    timing = Timing.END


class SixMonthOutcomeView(OutcomeEditView):
    timing = Timing.SIX_MONTHS
