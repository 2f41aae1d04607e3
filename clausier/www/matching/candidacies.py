"""Candidacies: a prescriber proposes a candidate to one of its facilitators, the facilitator's staff validates
(the participant's record and eligibility) or declines; the prescriber follows its own candidacies."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from clausier.audit.log import record_view
from clausier.matching import actions
from clausier.matching.actions import Refused
from clausier.matching.models import Candidacy, CandidacyStatus
from clausier.organizations.access import (
    current_organization,
    get_object_for_user_or_404,
    is_facilitator_staff,
)
from clausier.organizations.models import Organization
from clausier.www.kit.base import DetailView, StaffFormView
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.matching import forms as mforms
from clausier.www.matching.common import K, PartnerFormView, kind_of


def candidacy_url(candidacy) -> str:
    return reverse("www:candidacy_detail", kwargs={"uuid": candidacy.uuid})


def candidacies(user):
    return (
        Candidacy.objects.visible_to(user)
        .select_related("prescriber", "facilitator", "participant")
        .prefetch_related("wished_jobs")
    )


def partner_facilitators(user):
    """The facilitators a prescriber may propose candidacies to."""
    org = current_organization(user)
    if org is None or org.kind != K.PRESCRIBER:
        return Organization.objects.none()
    return Organization.objects.filter(kind=K.FACILITATOR, partner_links__partner=org).order_by("name")


class CandidacyFilterForm(ListFilterForm):
    status = forms.ChoiceField(label="État", required=False, choices=[("", "Tous"), *CandidacyStatus.choices])
    lookups = {"status": "status"}


class CandidacyListView(FilteredListView):
    """The facilitator's candidacies to review; a prescriber's own candidacies and their status."""

    title = "Candidatures"
    template_name = "www/matching/list.html"
    table_template_name = "www/matching/_candidacy_table.html"
    filter_form_class = CandidacyFilterForm
    search_fields = ("last_name", "first_name", "birth_name", "prescriber__name")
    search_placeholder = "Nom, prénom ou prescripteur"
    sort_fields = {
        "candidat": ("last_name", "first_name"),
        "proposee": ("created_at",),
        "etat": ("status", "created_at"),
    }
    default_sort = "-proposee"
    columns = (
        Column("Candidat", "candidat", value=(("Nom", "last_name"), ("Prénom", "first_name"))),
        Column("Date de naissance", value="birth_date"),
        Column("Prescripteur", value="prescriber.name"),
        Column("Métiers recherchés", value=lambda c: ", ".join(j.code for j in c.wished_jobs.all())),
        Column("Proposée le", "proposee", value=lambda c: timezone.localdate(c.created_at)),
        Column("État", "etat", value="get_status_display"),
    )
    export_personal_data = True

    def get_base_queryset(self):
        return candidacies(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["propose_to"] = list(partner_facilitators(self.request.user))
        context["is_staff_view"] = is_facilitator_staff(self.request.user)
        if not context["is_staff_view"]:  # a prescriber reads to whom it proposed
            context["columns"] = tuple(
                Column("Facilitateur") if c.label == "Prescripteur" else c for c in self.columns
            )
        return context


class CandidacyProposeView(PartnerFormView):
    """A prescriber proposes a candidate to one of its facilitators (the facilitator is in the URL)."""

    kinds = frozenset({K.PRESCRIBER})
    form_class = mforms.CandidacyForm
    template_name = "www/matching/candidacy_form.html"
    submit_label = "Proposer la candidature"

    def dispatch(self, request, *args, **kwargs):
        if kind_of(request.user) == K.PRESCRIBER:
            self.parent = get_object_for_user_or_404(
                Organization.objects.filter(kind=K.FACILITATOR), request.user, uuid=kwargs["uuid"]
            )
        return super().dispatch(request, *args, **kwargs)

    @property
    def title(self):
        return f"Proposer un candidat à {self.parent}"

    def form_valid(self, form):
        try:
            candidacy = actions.propose_candidacy(
                facilitator=self.parent, by=self.request.user, **form.action_kwargs()
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, "La candidature a été transmise au facilitateur.")
        return redirect(candidacy_url(candidacy))

    def get_cancel_url(self):
        return reverse("www:candidacy_list")


class CandidacyDetailView(DetailView):
    """The candidacy: staff see everything; the prescriber sees its own candidacy, its status and the
    reason of a refusal."""

    template_name = "www/matching/candidacy_detail.html"

    def get_queryset(self):
        return candidacies(self.request.user).select_related("commune", "qualification_level", "decided_by")

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_view(obj=self.object, by=request.user, detail="candidature")
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        candidacy = self.object
        context["lines"] = list(candidacy.criterion_lines.select_related("criterion"))
        context["transitions"] = list(candidacy.transitions.select_related("by", "organization"))
        context["can_review"] = context["is_staff_view"] and candidacy.status == CandidacyStatus.PROPOSED
        context["duplicates"] = candidacy.possible_duplicates() if context["can_review"] else []
        return context


def _proposed_candidacy(user, uuid):
    return get_object_for_user_or_404(
        Candidacy.objects.select_related("facilitator", "prescriber"), user, uuid=uuid
    )


class CandidacyValidateView(StaffFormView):
    """Validate: create the participant's record or link the existing one (duplicates are offered), and
    record the eligibility assessment, pre-filled with the criteria the prescriber proposed."""

    form_class = mforms.CandidacyValidationForm
    template_name = "www/matching/candidacy_validate.html"
    title = "Valider la candidature"
    submit_label = "Valider la candidature et l'éligibilité"

    def get_parent(self):
        return _proposed_candidacy(self.request.user, self.kwargs["uuid"])

    def get(self, request, *args, **kwargs):
        if self.parent.status != CandidacyStatus.PROPOSED:
            messages.info(request, "Cette candidature a déjà été traitée.")
            return redirect(candidacy_url(self.parent))
        return super().get(request, *args, **kwargs)

    def get_extra_form_kwargs(self):
        return {"candidacy": self.parent, "duplicates": self.parent.possible_duplicates()}

    def form_valid(self, form):
        try:
            actions.validate_candidacy(
                candidacy=self.parent, by=self.request.user, **form.validation_kwargs()
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(
            self.request,
            "La candidature est validée : la fiche participant et l'éligibilité sont enregistrées.",
        )
        return redirect(candidacy_url(self.parent))

    def get_cancel_url(self):
        return candidacy_url(self.parent)


class CandidacyDeclineView(StaffFormView):
    form_class = mforms.DeclineForm
    title = "Refuser la candidature"
    submit_label = "Refuser la candidature"

    def get_parent(self):
        return _proposed_candidacy(self.request.user, self.kwargs["uuid"])

    def form_valid(self, form):
        try:
            actions.decline_candidacy(
                candidacy=self.parent, by=self.request.user, reason=form.cleaned_data["reason"]
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, "La candidature est refusée ; le prescripteur en voit le motif.")
        return redirect(candidacy_url(self.parent))

    def get_cancel_url(self):
        return candidacy_url(self.parent)
