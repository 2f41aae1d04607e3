"""Personal data (RGPD): the subject access export and erasure (anonymisation now) of one person.

Export: facilitator staff, POST (it writes an "export" audit entry). Erasure: facilitator admins only, with a
reason. Both through `clausier.rgpd`; rectification is the normal edit form of the participant.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from clausier.organizations.access import get_object_for_user_or_404, is_facilitator_admin
from clausier.participants.models import Participant
from clausier.rgpd.anonymisation import ErasureRefused, erase_participant
from clausier.rgpd.export import file_name, log_export, subject_file, ticket, valid_ticket
from clausier.www.kit.base import StaffFormView
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin


def _participant(request, uuid):
    return get_object_for_user_or_404(
        Participant.objects.select_related("facilitator"), request.user, uuid=uuid
    )


class SubjectExportView(FacilitatorStaffRequiredMixin, View):
    """ "Exporter ses données": one ZIP file (JSON + HTML).

    POST writes the "export" audit entry and redirects to this URL with a signed ticket, valid a few minutes
    for this user and this person; GET with the ticket sends the file (GET never writes). GET without a
    valid ticket goes back to the participant page.
    """

    def get(self, request, uuid):
        participant = _participant(request, uuid)
        if not valid_ticket(request.GET.get("jeton", ""), participant, request.user):
            return redirect("www:participant_detail", uuid=participant.uuid)
        response = HttpResponse(subject_file(participant), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{file_name(participant)}"'
        response["Cache-Control"] = "no-store"
        return response

    def post(self, request, uuid):
        participant = _participant(request, uuid)
        log_export(participant=participant, by=request.user)
        url = reverse("www:participant_subject_export", kwargs={"uuid": participant.uuid})
        return redirect(f"{url}?jeton={ticket(participant, request.user)}")


class ErasureForm(DsfrFormMixin, forms.Form):
    reason = forms.CharField(
        label="Motif de l'effacement",
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Par exemple : demande écrite de la personne reçue le… (sans recopier son nom).",
    )
    confirm = forms.BooleanField(
        label="Je confirme : l'identité et les coordonnées de cette personne seront définitivement effacées.",
    )


class ErasureView(StaffFormView):
    """ "Effacer la personne": anonymise the person now (facilitator admins only; anyone else: 404)."""

    form_class = ErasureForm
    title = "Effacer les données de la personne"
    submit_label = "Effacer définitivement"
    success_message = "La personne a été anonymisée : les indicateurs sont inchangés."

    def get_parent(self):
        if not is_facilitator_admin(self.request.user):
            raise Http404("Réservé aux administrateurs du facilitateur.")
        participant = _participant(self.request, self.kwargs["uuid"])
        if participant.anonymised_on is not None:
            raise Http404("Cette personne est déjà anonymisée.")
        return participant

    def save(self, form):
        try:
            erase_participant(
                participant=self.parent, by=self.request.user, reason=form.cleaned_data["reason"]
            )
        except ErasureRefused as refusal:
            raise ValidationError(refusal.message) from refusal
        return self.parent

    def form_valid(self, form):
        response = super().form_valid(form)
        if response.status_code == 302:
            messages.info(self.request, "L'effacement est inscrit au journal d'audit.")
        return response

    def get_success_url_for(self, obj):
        return reverse("www:participant_detail", kwargs={"uuid": obj.uuid})

    def get_cancel_url(self):
        return reverse("www:participant_detail", kwargs={"uuid": self.parent.uuid})
