"""Buyers, operations, markets, lots and clauses."""

from django.db.models import Prefetch
from django.urls import reverse

from clausier.organizations.access import get_object_for_user_or_404
from clausier.organizations.actions import create_buyer, update_buyer
from clausier.organizations.models import Buyer, Partnership, StructureSuggestion
from clausier.organizations.suggestions import FOLLOW_UP_CHOICES, suggestions_for
from clausier.procurement import actions
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.hours.views import lot_followup
from clausier.www.kit import queries
from clausier.www.kit.base import DetailView, StaffFormView
from clausier.www.kit.lists import Column, FilteredListView
from clausier.www.procurement.forms import (
    BuyerFilterForm,
    BuyerForm,
    LotForm,
    MarketFilterForm,
    MarketForm,
    OperationFilterForm,
    OperationForm,
)

# --- Buyers -------------------------------------------------------------------------------------


class BuyerListView(FilteredListView):
    import_kind = "donneurs-d-ordre"
    title = "Donneurs d'ordre"
    table_template_name = "www/buyers/_table.html"
    filter_form_class = BuyerFilterForm
    search_fields = ("name", "siret")
    search_placeholder = "Nom ou SIRET"
    sort_fields = {
        "nom": ("name",),
        "categorie": ("category__label", "name"),
        "marches": ("markets_count",),
        "heures": ("hours_planned",),
        "realisees": ("hours_realised",),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value="name"),
        Column("Catégorie", "categorie", value="category"),
        Column("Commune", value="commune.name"),
        Column("Marchés", "marches", numeric=True, value="markets_count"),
        Column("Heures prévues", "heures", numeric=True, value="hours_planned"),
        Column("Heures réalisées", "realisees", numeric=True, value="hours_realised"),
    )
    create_url_name = "www:buyer_create"

    def get_base_queryset(self):
        return queries.buyers(self.request.user)


class BuyerDetailView(DetailView):
    template_name = "www/buyers/detail.html"

    def get_queryset(self):
        return queries.buyers(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["partnership"] = Partnership.objects.filter(
            facilitator=self.request.organization, partner=self.object
        ).first()
        context["operations"] = queries.operations(user).filter(buyer=self.object).order_by("name")
        context["markets"] = (
            queries.markets(user).filter(buyer=self.object).order_by("-notified_on", "reference")
        )
        return context


class BuyerCreateView(StaffFormView):
    form_class = BuyerForm
    title = "Nouveau donneur d'ordre"
    success_message = "Le donneur d'ordre a été enregistré."

    def get_extra_form_kwargs(self):
        return {"facilitator": self.request.organization}

    def save(self, form):
        data = dict(form.cleaned_data)
        buyer, self.created = create_buyer(
            facilitator=self.request.organization, by=self.request.user, **data
        )
        if not self.created:
            self.success_message = f"« {buyer.name} » était déjà connu de la plateforme (même SIRET) : il a été ajouté à vos partenaires."
        return buyer

    def get_success_url_for(self, obj):
        return reverse("www:buyer_detail", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:buyer_list")


class BuyerEditView(OptimisticLockMixin, BuyerCreateView):
    title = "Modifier le donneur d'ordre"
    success_message = "Les modifications ont été enregistrées."

    def get_parent(self):
        return get_object_for_user_or_404(Buyer, self.request.user, uuid=self.kwargs["uuid"])

    def get_extra_form_kwargs(self):
        return {"facilitator": self.request.organization, "instance": self.parent}

    def save(self, form):
        return update_buyer(
            buyer=self.parent,
            facilitator=self.request.organization,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )

    def get_cancel_url(self):
        return reverse("www:buyer_detail", kwargs={"uuid": self.parent.uuid})


# --- Operations ---------------------------------------------------------------------------------


class OperationListView(FilteredListView):
    title = "Opérations"
    table_template_name = "www/operations/_table.html"
    filter_form_class = OperationFilterForm
    search_fields = ("name", "buyer__name")
    search_placeholder = "Nom de l'opération ou du donneur d'ordre"
    sort_fields = {
        "nom": ("name",),
        "donneur": ("buyer__name", "name"),
        "debut": ("start_date", "name"),
        "marches": ("markets_count",),
        "heures": ("hours_planned",),
        "realisees": ("hours_realised",),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value="name"),
        Column("Donneur d'ordre", "donneur", value="buyer.name"),
        Column("Nature", value="get_kind_display"),
        Column("Période", "debut", value=(("Début", "start_date"), ("Fin", "end_date"))),
        Column("Marchés", "marches", numeric=True, value="markets_count"),
        Column("Heures prévues", "heures", numeric=True, value="hours_planned"),
        Column("Heures réalisées", "realisees", numeric=True, value="hours_realised"),
    )
    create_url_name = "www:operation_create"

    def get_base_queryset(self):
        return queries.operations(self.request.user)


class OperationDetailView(DetailView):
    template_name = "www/operations/detail.html"

    def get_queryset(self):
        return queries.operations(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["markets"] = (
            queries.markets(self.request.user)
            .filter(operation=self.object)
            .order_by("-notified_on", "reference")
        )
        return context


class OperationCreateView(StaffFormView):
    form_class = OperationForm
    title = "Nouvelle opération"
    success_message = "L'opération a été enregistrée."

    def get_extra_form_kwargs(self):
        return {"user": self.request.user}

    def save(self, form):
        return actions.create_operation(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )

    def get_success_url_for(self, obj):
        return reverse("www:operation_detail", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:operation_list")


class OperationEditView(OptimisticLockMixin, OperationCreateView):
    title = "Modifier l'opération"
    success_message = "Les modifications ont été enregistrées."

    def get_parent(self):
        return get_object_for_user_or_404(Operation, self.request.user, uuid=self.kwargs["uuid"])

    def get_extra_form_kwargs(self):
        return {"user": self.request.user, "instance": self.parent}

    def save(self, form):
        return actions.update_operation(
            operation=self.parent,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )

    def get_cancel_url(self):
        return reverse("www:operation_detail", kwargs={"uuid": self.parent.uuid})


# --- Markets ------------------------------------------------------------------------------------


class MarketListView(FilteredListView):
    import_kind = "marches"
    title = "Marchés"
    table_template_name = "www/markets/_table.html"
    filter_form_class = MarketFilterForm
    search_fields = ("reference", "title", "buyer__name")
    search_placeholder = "Numéro, objet ou donneur d'ordre"
    sort_fields = {
        "numero": ("reference",),
        "objet": ("title",),
        "donneur": ("buyer__name", "reference"),
        "notification": ("notified_on", "reference"),
        "lots": ("lots_count",),
        "heures": ("hours_planned",),
        "realisees": ("hours_realised",),
    }
    default_sort = "-notification"
    columns = (
        Column("Numéro", "numero", value="reference"),
        Column("Objet", "objet", value="title"),
        Column("Donneur d'ordre", "donneur", value="buyer.name"),
        Column("Notifié le", "notification", value="notified_on"),
        Column("Lots", "lots", numeric=True, value="lots_count"),
        Column("Heures prévues", "heures", numeric=True, value="hours_planned"),
        Column("Heures réalisées", "realisees", numeric=True, value="hours_realised"),
    )
    create_url_name = "www:market_create"
    create_label = "Nouveau marché"

    def get_base_queryset(self):
        return queries.markets(self.request.user)


class MarketDetailView(DetailView):
    template_name = "www/markets/detail.html"

    def get_queryset(self):
        return queries.markets(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        awards = Award.objects.visible_to(user).select_related("company").order_by("role", "company__name")
        context["lots"] = (
            queries.lots(Lot.objects.visible_to(user).filter(market=self.object))
            .prefetch_related(Prefetch("awards", queryset=awards, to_attr="visible_awards"))
            .order_by("number")
        )
        return context


class MarketCreateView(StaffFormView):
    form_class = MarketForm
    title = "Nouveau marché"
    success_message = "Le marché a été enregistré."

    def get_extra_form_kwargs(self):
        return {"user": self.request.user, "facilitator": self.request.organization}

    def get_initial(self):
        initial = super().get_initial()
        for name in ("buyer", "operation"):
            if self.request.GET.get(name):
                initial[name] = self.request.GET[name]
        return initial

    def save(self, form):
        return actions.create_market(
            facilitator=self.request.organization, by=self.request.user, **form.cleaned_data
        )

    def get_success_url_for(self, obj):
        return reverse("www:market_detail", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:market_list")


class MarketEditView(OptimisticLockMixin, MarketCreateView):
    title = "Modifier le marché"
    success_message = "Les modifications ont été enregistrées."

    def get_parent(self):
        return get_object_for_user_or_404(Market, self.request.user, uuid=self.kwargs["uuid"])

    def get_extra_form_kwargs(self):
        return {"user": self.request.user, "facilitator": self.request.organization, "instance": self.parent}

    def save(self, form):
        return actions.update_market(
            market=self.parent,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )

    def get_cancel_url(self):
        return reverse("www:market_detail", kwargs={"uuid": self.parent.uuid})


# --- Lots and clauses ---------------------------------------------------------------------------


class LotDetailView(DetailView):
    template_name = "www/lots/detail.html"

    def get_queryset(self):
        return queries.lots(Lot.objects.all())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        lot = self.object
        context["market"] = lot.market
        context["clause"] = (
            Clause.objects.visible_to(user).filter(lot=lot).select_related("legal_basis").first()
        )
        context["awards"] = (
            Award.objects.visible_to(user).filter(lot=lot).select_related("company").order_by("role")
        )
        context["contracts"] = queries.contracts(user).filter(lot=lot).order_by("-start_date")
        context["follow"] = lot_followup(lot, user)  # hours area: follow-up block
        # Issue 8: structures proposed to the lot's companies (the staff: all; a company: those made to it)
        context["suggestions"] = list(
            suggestions_for(StructureSuggestion.objects.visible_to(user).filter(lot=lot))[:100]
        )
        context["follow_ups_choices"] = FOLLOW_UP_CHOICES
        return context


class LotCreateView(StaffFormView):
    form_class = LotForm
    title = "Nouveau lot"
    success_message = "Le lot a été enregistré."

    def get_parent(self):
        return get_object_for_user_or_404(Market, self.request.user, uuid=self.kwargs["uuid"])

    def get_extra_form_kwargs(self):
        return {"market": self.parent}

    def save(self, form):
        return actions.create_lot(market=self.parent, by=self.request.user, **form.cleaned_data)

    def get_success_url_for(self, obj):
        return reverse("www:lot_detail", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:market_detail", kwargs={"uuid": self.parent.uuid})


class LotEditView(OptimisticLockMixin, StaffFormView):
    form_class = LotForm
    title = "Modifier le lot"

    def get_parent(self):
        lot = get_object_for_user_or_404(
            Lot.objects.select_related("market"), self.request.user, uuid=self.kwargs["uuid"]
        )
        self.lot = lot
        return lot.market

    def get_locked_object(self):
        return self.lot

    def get_extra_form_kwargs(self):
        return {"market": self.parent, "instance": self.lot}

    def save(self, form):
        return actions.update_lot(
            lot=self.lot, by=self.request.user, expected_version=self.expected_version, **form.cleaned_data
        )

    def get_success_url_for(self, obj):
        return reverse("www:lot_detail", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:lot_detail", kwargs={"uuid": self.lot.uuid})
