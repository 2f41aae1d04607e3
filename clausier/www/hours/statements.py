"""Monthly statements: list, page with records and transitions log, each step confirmed first (GET: what it does; POST: done)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView

from clausier.employment.actions import (
    EMPLOYER_EDITABLE,
    NOT_STARTED,
    Refused,
    change_statement_status,
)
from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from clausier.organizations.access import get_object_for_user_or_404, is_facilitator_staff
from clausier.organizations.models import Organization
from clausier.procurement.followup import month_start
from clausier.utils.dates import month_label
from clausier.www.clauses.forms import ScopedChoiceField
from clausier.www.hours.views import (
    EMPLOYER_PAGES,
    MONTH_PARAM,
    TRANSITION_BUTTONS,
    TRANSITION_CONSEQUENCES,
    allowed_transitions,
    parse_month,
    previous_month,
    statement_lots,
    today,
)
from clausier.www.kit.base import DetailView
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin
from clausier.www.kit.queries import count_of, sum_of


def statements(user):
    records = HoursRecord.objects.all()
    return (
        MonthlyStatement.objects.visible_to(user)
        .select_related("employer")
        .annotate(
            records_count=count_of(records, "statement"),
            hours_total=sum_of(records, "statement", "hours"),
            counted_total=sum_of(records, "statement", "counted_hours"),
        )
    )


class StatementFilterForm(ListFilterForm):
    month = forms.CharField(
        label="Mois",
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "AAAA-MM"}),
    )
    status = forms.ChoiceField(label="État", required=False, choices=[("", "Tous"), *StatementStatus.choices])
    lookups = {"status": "status"}

    def filter_month(self, queryset, value):
        month = parse_month(value)
        return queryset.filter(month=month) if month else queryset


class StatementListView(FilteredListView):
    import_kind = "heures"
    create_url_name, create_label = "www:statement_entry", "Saisir un relevé"
    title = "Relevés d'heures mensuels"
    table_template_name = "www/statements/_table.html"
    filter_form_class = StatementFilterForm
    search_fields = ("employer__name",)
    search_placeholder = "Employeur"
    sort_fields = {
        "mois": ("month", "employer__name"),
        "employeur": ("employer__name", "-month"),
        "etat": ("status", "-month"),
        "heures": ("counted_total",),
    }
    default_sort = "-mois"
    columns = (
        Column("Mois", "mois", value="month"),
        Column("Employeur", "employeur", value="employer.name"),
        Column("État", "etat", value="get_status_display"),
        Column("Contrats", numeric=True, value="records_count"),
        Column("Heures travaillées", numeric=True, value="hours_total"),
        Column("Heures comptées", "heures", numeric=True, value="counted_total"),
    )

    def get_base_queryset(self):
        return statements(self.request.user)


class StatementEntryForm(DsfrFormMixin, forms.Form):
    employer = ScopedChoiceField(Organization.objects.none(), label="Employeur")
    month = forms.CharField(
        label="Mois",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "AAAA-MM"}),
        help_text="Un mois commencé : les heures ne se déclarent pas à l'avance.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employer"].queryset = (
            Organization.objects.visible_to(user).filter(kind__in=list(EMPLOYER_PAGES)).order_by("name")
        )
        self.fields["employer"].label_from_instance = lambda o: f"{o.name} ({o.get_kind_display().lower()})"
        self.fields["employer"].error_messages["required"] = "Choisissez l'employeur."

    def clean_month(self):
        month = parse_month(self.cleaned_data["month"])
        if month is None:
            raise forms.ValidationError("Indiquez le mois au format AAAA-MM (par exemple 2026-11).")
        if month > month_start(today()):  # `check_entry`'s rule, and its words
            raise forms.ValidationError(f"{NOT_STARTED[0].upper()}{NOT_STARTED[1:]}.")
        return month


class StatementEntryView(FacilitatorStaffRequiredMixin, FormView):
    """« Saisir un relevé » (statements list): choose the employer and the month, then its monthly grid."""

    template_name = "www/form.html"
    form_class = StatementEntryForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        return {"month": f"{previous_month(today()):%Y-%m}"}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Saisir un relevé d'heures",
            submit_label="Ouvrir la grille du mois",
            cancel_url=reverse("www:statement_list"),
            **kwargs,
        )

    def form_valid(self, form):
        employer, month = form.cleaned_data["employer"], form.cleaned_data["month"]
        grid, _page = EMPLOYER_PAGES[employer.kind]
        return redirect(f"{reverse(grid, kwargs={'uuid': employer.uuid})}?{MONTH_PARAM}={month:%Y-%m}")


class StatementDetailView(DetailView):
    template_name = "www/statements/detail.html"

    def get_queryset(self):
        return statements(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        statement = self.object
        context["title"] = f"Relevé de {month_label(statement.month)} — {statement.employer}"
        context["month_label"] = month_label(statement.month)
        context["month_value"] = f"{statement.month:%Y-%m}"
        context["records"] = statement.records.select_related(
            "contract__participant",
            "contract__lot__market",
            "contract__contract_type",
            "contract__modality",
            "rule",
        ).order_by("contract__participant__last_name", "contract__participant__first_name", "pk")
        context["transitions"] = statement.transitions.select_related("by")
        context["buttons"] = [
            {"to": to, "label": TRANSITION_BUTTONS[to]}
            for to in allowed_transitions(statement, self.request.user)
        ]
        context["lots"] = statement_lots(statement)
        context["employer_is_structure"] = statement.employer.kind == "insertion_structure"
        # Issue 8: the employer fills in its own grid while the statement is a draft or returned to it.
        context["employer_can_edit"] = (
            not context["is_staff_view"] and StatementStatus(statement.status) in EMPLOYER_EDITABLE
        )
        return context


class StatementTransitionView(View):
    """POST: move the statement; GET: back to its page (after the access check)."""

    def get_statement(self):
        return get_object_for_user_or_404(MonthlyStatement, self.request.user, uuid=self.kwargs["uuid"])

    def back_url(self, statement, value) -> str:
        """Where to go after: the page the user came from (the grid), if it is ours, else the statement."""
        if value and url_has_allowed_host_and_scheme(value, allowed_hosts={self.request.get_host()}):
            return value
        return reverse("www:statement_detail", kwargs={"uuid": statement.uuid})

    def get(self, request, uuid):
        """`?vers=<state>`: the confirmation of that step (what the statement holds, what the step does)."""
        statement = get_object_for_user_or_404(statements(request.user), request.user, uuid=uuid)
        to = request.GET.get("vers", "")
        if to not in allowed_transitions(statement, request.user):
            return redirect("www:statement_detail", uuid=statement.uuid)
        context = {
            "title": f"{TRANSITION_BUTTONS[to]} de {month_label(statement.month)} — {statement.employer}",
            "statement": statement,
            "month_label": month_label(statement.month),
            "to": to,
            "label": TRANSITION_BUTTONS[to],
            "consequence": TRANSITION_CONSEQUENCES[to],
            "needs_comment": to == StatementStatus.RETURNED,
            "back": self.back_url(statement, request.GET.get("retour")),
            "lots": statement_lots(statement),
            "is_staff_view": is_facilitator_staff(request.user),
        }
        return TemplateResponse(request, "www/statements/confirm.html", context)

    def post(self, request, uuid):
        statement = self.get_statement()
        to = request.POST.get("vers", "")
        comment = request.POST.get("commentaire", "")[:5000]
        back = self.back_url(statement, request.POST.get("retour"))
        if to not in StatementStatus.values or to == StatementStatus.DRAFT:
            messages.error(request, "Changement d'état inconnu : rien n'a été modifié.")
        else:
            try:
                change_statement_status(statement=statement, to=to, by=request.user, comment=comment)
            except Refused as refusal:
                for message in refusal.messages:
                    messages.error(request, message)
            else:
                messages.success(request, f"Le relevé est désormais « {StatementStatus(to).label.lower()} ».")
        return redirect(back)
