"""Awards of a lot, from the lot's page: add (a partner company, or one created with its SIRET), change, remove."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from clausier.organizations.access import get_object_for_user_or_404
from clausier.procurement import actions
from clausier.procurement.models import Award, Lot
from clausier.www.kit.base import StaffFormView
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.procurement.forms_awards import AwardForm


def lot_url(lot) -> str:
    return reverse("www:lot_detail", kwargs={"uuid": lot.uuid}) + "#attributaires"


class AwardCreateView(StaffFormView):
    form_class = AwardForm
    template_name = "www/lots/award_form.html"
    title = "Ajouter un attributaire"
    submit_label = "Ajouter l'attributaire"
    success_message = "L'attributaire a été enregistré."

    def get_parent(self):
        return get_object_for_user_or_404(
            Lot.objects.select_related("market"), self.request.user, uuid=self.kwargs["uuid"]
        )

    def get_extra_form_kwargs(self):
        return {"facilitator": self.parent.facilitator, "lot": self.parent}

    def save(self, form):
        data = form.cleaned_data
        fields = {key: data[key] for key in ("role", "awarded_on", "amount_ht")}
        if data.get("company") is not None:
            award, _ = actions.award_lot(
                lot=self.parent, company=data["company"], by=self.request.user, **fields
            )
        else:
            award, _ = actions.award_lot_to_siret(
                lot=self.parent,
                by=self.request.user,
                siret=data["new_siret"],
                name=data["new_name"],
                **fields,
            )
        return award

    def get_success_url_for(self, award):
        return lot_url(award.lot)

    def get_cancel_url(self):
        return lot_url(self.parent)


class AwardEditView(StaffFormView):
    form_class = AwardForm
    template_name = "www/lots/award_form.html"
    title = "Modifier l'attribution"

    def get_parent(self):
        self.award = get_object_for_user_or_404(
            Award.objects.select_related("lot__market", "company"),
            self.request.user,
            uuid=self.kwargs["uuid"],
        )
        return self.award.lot

    def get_extra_form_kwargs(self):
        return {"facilitator": self.parent.facilitator, "lot": self.parent, "award": self.award}

    def save(self, form):
        return actions.update_award(award=self.award, by=self.request.user, **form.cleaned_data)

    def get_success_url_for(self, award):
        return lot_url(award.lot)

    def get_cancel_url(self):
        return lot_url(self.parent)

    def get_context_data(self, **kwargs):
        return super().get_context_data(award=self.award, **kwargs)


class AwardRemoveView(FacilitatorStaffRequiredMixin, TemplateView):
    """GET asks for confirmation (and says why a removal is refused); POST removes."""

    template_name = "www/lots/award_remove.html"

    def get_award(self):
        return get_object_for_user_or_404(
            Award.objects.select_related("lot__market", "company"),
            self.request.user,
            uuid=self.kwargs["uuid"],
        )

    def get_context_data(self, **kwargs):
        award = self.get_award()
        return super().get_context_data(
            award=award,
            lot=award.lot,
            title="Retirer l'attribution",
            problem=actions.award_removal_problem(award),
            cancel_url=lot_url(award.lot),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        award = self.get_award()
        try:
            actions.remove_award(award=award, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"L'attribution à {award.company} a été retirée.")
        return redirect(lot_url(award.lot))
