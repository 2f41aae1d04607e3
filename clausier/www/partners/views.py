"""Companies, insertion structures and prescribers: read-only, what the facilitator does with them."""

from clausier.participants.models import Participant
from clausier.procurement.models import Award
from clausier.www.kit import queries
from clausier.www.kit.base import DetailView
from clausier.www.kit.lists import Column, FilteredListView
from clausier.www.partners.forms import CompanyFilterForm, PrescriberFilterForm, StructureFilterForm

ORGANIZATION_SORTS = {
    "nom": ("name",),
    "categorie": ("category__label", "name"),
    "commune": ("commune__name", "name"),
}


class CompanyListView(FilteredListView):
    import_kind = "entreprises"
    title = "Entreprises"
    table_template_name = "www/companies/_table.html"
    filter_form_class = CompanyFilterForm
    search_fields = ("name", "siret")
    search_placeholder = "Nom ou SIRET"
    sort_fields = {
        **ORGANIZATION_SORTS,
        "attributions": ("awards_count",),
        "contrats": ("contracts_count",),
        "heures": ("hours_realised",),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value="name"),
        Column("SIRET", value="siret"),
        Column("Catégorie", "categorie", value="category"),
        Column("Commune", "commune", value="commune.name"),
        Column("Lots attribués", "attributions", numeric=True, value="awards_count"),
        Column("Contrats", "contrats", numeric=True, value="contracts_count"),
        Column("Heures réalisées", "heures", numeric=True, value="hours_realised"),
    )

    def get_base_queryset(self):
        return queries.companies(self.request.user)


class CompanyDetailView(DetailView):
    template_name = "www/companies/detail.html"

    def get_queryset(self):
        return queries.companies(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["awards"] = (
            Award.objects.visible_to(user)
            .filter(company=self.object)
            .select_related("lot__market__buyer", "lot__clause")
            .order_by("-lot__market__notified_on", "lot__number")
        )
        context["contracts"] = (
            queries.contracts(user).filter(company=self.object).order_by("-start_date")[:200]
        )
        return context


class StructureListView(FilteredListView):
    import_kind = "structures"
    title = "Structures d'insertion"
    table_template_name = "www/structures/_table.html"
    filter_form_class = StructureFilterForm
    search_fields = ("name", "siret")
    search_placeholder = "Nom ou SIRET"
    sort_fields = {
        **ORGANIZATION_SORTS,
        "contrats": ("contracts_count",),
        "participants": ("participants_count",),
        "heures": ("hours_realised",),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value="name"),
        Column("Catégorie", "categorie", value="category"),
        Column("Commune", "commune", value="commune.name"),
        Column("Contrats", "contrats", numeric=True, value="contracts_count"),
        Column("Participants", "participants", numeric=True, value="participants_count"),
        Column("Heures réalisées", "heures", numeric=True, value="hours_realised"),
    )

    def get_base_queryset(self):
        return queries.structures(self.request.user)


class StructureDetailView(DetailView):
    template_name = "www/structures/detail.html"

    def get_queryset(self):
        return queries.structures(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["contracts"] = (
            queries.contracts(self.request.user).filter(employer=self.object).order_by("-start_date")[:200]
        )
        return context


class PrescriberListView(FilteredListView):
    title = "Prescripteurs"
    table_template_name = "www/prescribers/_table.html"
    filter_form_class = PrescriberFilterForm
    search_fields = ("name", "siret")
    search_placeholder = "Nom ou SIRET"
    sort_fields = {**ORGANIZATION_SORTS, "participants": ("participants_count",)}
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value="name"),
        Column("Catégorie", "categorie", value="category"),
        Column("Commune", "commune", value="commune.name"),
        Column("Participants orientés", "participants", numeric=True, value="participants_count"),
    )

    def get_base_queryset(self):
        return queries.prescribers(self.request.user)


class PrescriberDetailView(DetailView):
    template_name = "www/prescribers/detail.html"

    def get_queryset(self):
        return queries.prescribers(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["participants"] = (
            queries.participants(self.request.user)
            .filter(prescriber=self.object)
            .order_by("last_name", "first_name")[:200]
        )
        context["participants_total"] = (
            Participant.objects.visible_to(self.request.user)
            .filter(prescriber=self.object)
            .active_records()
            .count()
        )
        return context
