"""Globalisation agreements (conventions de globalisation): list, create, edit — facilitator staff only.

The edit form carries the agreement's version: a stale submit is refused (`clausier.utils.locking`).
"""

import uuid as uuid_lib

from django import forms
from django.db.models import Count, Sum
from django.urls import reverse

from clausier.organizations.access import get_object_for_user_or_404
from clausier.organizations.models import Company
from clausier.procurement import actions
from clausier.procurement.models import GlobalisationAgreement, Lot
from clausier.procurement.progress import POOLING_RULE, lots_progress
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.hours.views import today
from clausier.www.kit.base import StaffFormView
from clausier.www.kit.fields import FrenchDateField
from clausier.www.kit.lists import Column, FilteredListView
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin


class LotChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, lot):
        return f"{lot.market.buyer} — marché {lot.market.reference} — lot {lot.number} : {lot.title}"


class PoolForm(DsfrFormMixin, forms.Form):
    name = forms.CharField(label="Intitulé", max_length=255)
    lots = LotChoiceField(
        Lot.objects.none(),
        label="Lots mutualisés",
        help_text="Les lots attribués à l'entreprise, de un ou plusieurs donneurs d'ordre (au moins deux).",
        to_field_name="uuid",
        widget=forms.CheckboxSelectMultiple,
    )
    start_date = FrenchDateField(label="Début", required=False)
    end_date = FrenchDateField(label="Fin", required=False)

    def __init__(self, *args, lots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lots"].queryset = lots


def awarded_lots(user, company):
    return (
        Lot.objects.visible_to(user)
        .filter(awards__company=company)
        .select_related("market__buyer")
        .distinct()
        .order_by("market__buyer__name", "market__reference", "number")
    )


class PoolListView(FacilitatorStaffRequiredMixin, FilteredListView):
    title = "Conventions de globalisation"
    table_template_name = "www/pools/_table.html"
    search_fields = ("name", "company__name")
    search_placeholder = "Intitulé ou entreprise"
    sort_fields = {"nom": ("name",), "entreprise": ("company__name", "name"), "lots": ("lots_count",)}
    default_sort = "nom"
    columns = (
        Column("Intitulé", "nom", value="name"),
        Column("Entreprise", "entreprise", value="company.name"),
        Column("Lots", "lots", numeric=True, value="lots_count"),
        Column("Heures prévues", numeric=True, value="hours_planned"),
        Column("Période", value=(("Début", "start_date"), ("Fin", "end_date"))),
    )
    create_url_name = "www:pool_create"

    def get_base_queryset(self):
        return (
            GlobalisationAgreement.objects.visible_to(self.request.user)
            .select_related("company")
            .annotate(
                lots_count=Count("lots", distinct=True), hours_planned=Sum("lots__clause__hours_target")
            )
        )


class PoolCreateView(StaffFormView):
    template_name = "www/pools/form.html"
    form_class = PoolForm
    title = "Nouvelle convention de globalisation"
    success_message = "La convention de globalisation a été enregistrée."

    def get_company(self):
        try:
            key = uuid_lib.UUID(self.request.GET.get("entreprise", ""))
        except ValueError:
            return None
        return Company.objects.visible_to(self.request.user).filter(uuid=key).first()

    def get_parent(self):
        self.company = self.get_company()
        return None

    def get_extra_form_kwargs(self):
        return {"lots": awarded_lots(self.request.user, self.company) if self.company else Lot.objects.none()}

    def post(self, request, *args, **kwargs):
        if self.company is None:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def save(self, form):
        return actions.create_globalisation(
            facilitator=self.request.organization,
            by=self.request.user,
            company=self.company,
            **form.cleaned_data,
        )

    def get_success_url_for(self, obj):
        return reverse("www:pool_edit", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:pool_list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["company"] = self.company
        context["pooling_rule"] = POOLING_RULE
        if self.company is None:
            context["companies"] = Company.objects.visible_to(self.request.user).order_by("name")
        return context


class PoolEditView(OptimisticLockMixin, PoolCreateView):
    title = "Convention de globalisation"
    success_message = "Les modifications ont été enregistrées."

    def get_parent(self):
        self.agreement = get_object_for_user_or_404(
            GlobalisationAgreement.objects.select_related("company"),
            self.request.user,
            uuid=self.kwargs["uuid"],
        )
        self.company = self.agreement.company
        return None

    def get_locked_object(self):
        return self.agreement

    def get_initial(self):
        return {
            "name": self.agreement.name,
            "lots": list(self.agreement.lots.all()),
            "start_date": self.agreement.start_date,
            "end_date": self.agreement.end_date,
        }

    def save(self, form):
        return actions.update_globalisation(
            agreement=self.agreement,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.cleaned_data,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["agreement"] = self.agreement
        lots = self.agreement.lots.select_related("clause", "market")
        progress = lots_progress(lots, today=today())
        context["pool_rows"] = sorted(progress.values(), key=lambda p: (p.lot.market.reference, p.lot.number))
        return context
