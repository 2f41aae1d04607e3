"""Placing a participant on a lot ("Placer sur un lot"), from the participant's page or the lot's page."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from clausier.employment.actions import Refused, create_contract
from clausier.organizations.access import get_object_for_user_or_404, is_facilitator_admin
from clausier.participants.models import Participant
from clausier.procurement.models import Lot
from clausier.www.clauses.forms import ContractForm
from clausier.www.kit.base import StaffFormView


class ContractCreateView(StaffFormView):
    form_class = ContractForm
    template_name = "www/form.html"
    submit_label = "Enregistrer le contrat"
    success_message = "Le contrat a été enregistré."
    participant = lot = None

    def get_extra_form_kwargs(self):
        return {
            "facilitator": self.request.organization,
            "participant": self.participant,
            "lot": self.lot,
            "is_admin": is_facilitator_admin(self.request.user),
        }

    def form_valid(self, form):
        try:
            contract = create_contract(
                facilitator=self.request.organization, by=self.request.user, **form.action_kwargs()
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(self.get_success_url_for(contract))

    def get_success_url_for(self, contract):
        return reverse("www:contract_detail", kwargs={"uuid": contract.uuid})


class PlaceParticipantView(ContractCreateView):
    """From the participant's page: choose the lot."""

    title = "Placer sur un lot"

    def get_parent(self):
        self.participant = get_object_for_user_or_404(
            Participant.objects.active_records(), self.request.user, uuid=self.kwargs["uuid"]
        )
        return self.participant

    def get_cancel_url(self):
        return reverse("www:participant_detail", kwargs={"uuid": self.participant.uuid})


class PlaceOnLotView(ContractCreateView):
    """From the lot's page: choose the participant."""

    title = "Placer un participant sur ce lot"

    def get_parent(self):
        self.lot = get_object_for_user_or_404(
            Lot.objects.select_related("market").filter(clause__isnull=False),
            self.request.user,
            uuid=self.kwargs["uuid"],
        )
        return self.lot

    def get_cancel_url(self):
        return reverse("www:lot_detail", kwargs={"uuid": self.lot.uuid})

    def get_success_url_for(self, contract):
        # Back to the lot it was placed on: its contracts, its hours and the next placement are there.
        return reverse("www:lot_detail", kwargs={"uuid": self.lot.uuid}) + "#contrats"
