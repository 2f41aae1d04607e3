"""Participants and contracts. Eligibility criteria are shown to facilitator staff only.

Showing one person's file or one contract writes a "view" audit entry (who, as which organization, whose
data): the one write of these GETs, a single INSERT.
"""

from django.db.models import Sum
from django.urls import reverse

from clausier.audit.log import record_view
from clausier.employment.models import HoursRecord
from clausier.employment.queries import month_to_declare
from clausier.organizations.access import is_facilitator_staff
from clausier.participants.models import EligibilityAssessment, Outcome
from clausier.www.hours.views import EMPLOYER_PAGES, today
from clausier.www.kit import queries
from clausier.www.kit.base import DetailView
from clausier.www.kit.lists import Column, FilteredListView
from clausier.www.participants.forms import ContractFilterForm, ParticipantFilterForm
from clausier.www.participants.views import participant_staff_context


class ParticipantListView(FilteredListView):
    import_kind = "participants"
    title = "Participants"
    table_template_name = "www/participants/_table.html"
    filter_form_class = ParticipantFilterForm
    search_fields = ("last_name", "first_name", "birth_name", "normalized_name")
    search_placeholder = "Nom ou prénom"
    sort_fields = {
        "nom": ("last_name", "first_name"),
        "naissance": ("birth_date",),
        "commune": ("commune__name", "last_name"),
        "contrats": ("contracts_count",),
        "heures": ("hours_realised",),
    }
    default_sort = "nom"
    create_url_name = "www:participant_create"
    columns = (
        Column("Nom", "nom", value=(("Nom", "last_name"), ("Prénom", "first_name"))),
        Column("Date de naissance", "naissance", value="birth_date"),
        Column("Commune", "commune", value="commune.name"),
        Column("Contrats", "contrats", numeric=True, value="contracts_count"),
        Column("Heures réalisées", "heures", numeric=True, value="hours_realised"),
    )
    export_personal_data = True

    def get_base_queryset(self):
        return queries.participants(self.request.user)


class ParticipantDetailView(DetailView):
    template_name = "www/participants/detail.html"

    def get_queryset(self):
        return queries.participants(self.request.user, active_only=False).select_related(
            "qualification_level", "prescriber"
        )

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_view(obj=self.object, by=request.user, detail="fiche du participant")
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["contracts"] = queries.contracts(user).filter(participant=self.object).order_by("-start_date")
        if is_facilitator_staff(user):
            context.update(participant_staff_context(self.object))
            # Criteria are sensitive (RGPD art. 9/10): facilitator staff only.
            context["assessments"] = (
                EligibilityAssessment.objects.visible_to(user)
                .filter(participant=self.object)
                .select_related("validated_by", "prescriber")
                .prefetch_related("criterion_lines__criterion")
            )
            context["outcomes"] = (
                Outcome.objects.visible_to(user)
                .filter(participant=self.object)
                .select_related("category", "contract")
                .order_by("-observed_on")
            )
        return context


class ContractListView(FilteredListView):
    import_kind = "contrats"
    title = "Contrats"
    table_template_name = "www/contracts/_table.html"
    filter_form_class = ContractFilterForm
    search_fields = (
        "participant__last_name",
        "participant__first_name",
        "employer__name",
        "company__name",
        "lot__market__reference",
    )
    search_placeholder = "Participant, employeur, entreprise ou n° de marché"
    sort_fields = {
        "participant": ("participant__last_name", "participant__first_name"),
        "employeur": ("employer__name",),
        "type": ("contract_type__label",),
        "debut": ("start_date",),
        "fin": ("end_date",),
        "heures": ("hours_realised",),
    }
    default_sort = "-debut"
    columns = (
        Column(
            "Participant",
            "participant",
            value=(("Nom", "participant.last_name"), ("Prénom", "participant.first_name")),
        ),
        Column("Employeur", "employeur", value="employer.name"),
        Column("Lot", value=(("Marché", "lot.market.reference"), ("Lot", "lot.number"))),
        Column("Type", "type", value="contract_type"),
        Column("Début", "debut", value="start_date"),
        Column("Fin", "fin", value="end_date"),
        Column("Heures réalisées", "heures", numeric=True, value="hours_realised"),
    )
    export_personal_data = True

    def get_base_queryset(self):
        return queries.contracts(self.request.user)


class ContractDetailView(DetailView):
    template_name = "www/contracts/detail.html"

    def hours_entry(self, hours) -> dict:
        """Where the staff enter this contract's hours: its employer's grid, at the first month still empty
        (`month_to_declare`); and the employer's page."""
        contract, employer = self.object, self.object.employer
        grid, page = EMPLOYER_PAGES[employer.kind]
        month = month_to_declare(contract, {r.month for r in hours}, today=today())
        return {
            "employer_url": reverse(page, kwargs={"uuid": employer.uuid}),
            "hours_entry_url": (
                f"{reverse(grid, kwargs={'uuid': employer.uuid})}?mois={month:%Y-%m}" if month else ""
            ),
            "hours_entry_month": month,
        }

    def get_queryset(self):
        return queries.contracts(self.request.user)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        contract = self.object
        record_view(
            obj=contract.participant,
            by=request.user,
            detail=f"contrat {contract.uuid} ({contract.contract_type}, {contract.start_date:%d/%m/%Y})",
        )
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        hours = (
            HoursRecord.objects.visible_to(self.request.user)
            .filter(contract=self.object)
            .select_related("statement")
            .order_by("month")
        )
        context["hours"] = hours
        context["hours_total"] = hours.aggregate(total=Sum("hours"))["total"] or 0
        context["hours_realised"] = self.object.hours_realised
        context["title"] = f"Contrat de {self.object.participant}"
        if context["is_staff_view"]:
            context.update(self.hours_entry(hours))
            outcomes = {o.timing: o for o in self.object.outcomes.select_related("category")}
            context["outcome_slots"] = [
                ("À la fin du contrat", "www:outcome_end", outcomes.get(Outcome.Timing.END)),
                ("À 6 mois", "www:outcome_six_months", outcomes.get(Outcome.Timing.SIX_MONTHS)),
            ]
        return context
