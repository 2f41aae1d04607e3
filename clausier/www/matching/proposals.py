"""Proposals: the candidates proposed to a company on an offer; the company accepts or refuses, the
facilitator withdraws a proposal or records the hire (the contract)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clausier.audit.log import record_view
from clausier.matching import actions
from clausier.matching.actions import Refused
from clausier.matching.models import JobOffer, Proposal, ProposalStatus
from clausier.organizations.access import get_object_for_user_or_404
from clausier.www.clauses.forms import ScopedChoiceField
from clausier.www.kit.base import DetailView, StaffFormView
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.matching import forms as mforms
from clausier.www.matching.common import K, KindRequiredMixin, show_refusal
from clausier.www.matching.offers import OFFER_POSTERS, offer_url


def proposal_url(proposal) -> str:
    return reverse("www:proposal_detail", kwargs={"uuid": proposal.uuid})


def proposals(user):
    return Proposal.objects.visible_to(user).select_related(
        "participant", "offer__company", "offer__rome_job", "offer__lot__market", "contract"
    )


def proposal_for(user, uuid):
    return get_object_for_user_or_404(proposals(user), user, uuid=uuid)


class ProposalFilterForm(ListFilterForm):
    status = forms.ChoiceField(label="État", required=False, choices=[("", "Tous"), *ProposalStatus.choices])
    offer = ScopedChoiceField(JobOffer.objects.none(), label="Offre", required=False, empty_label="Toutes")
    lookups = {"status": "status", "offer": "offer"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = (
            JobOffer.objects.visible_to(self.user).select_related("rome_job").order_by("title", "pk")
        )


class ProposalListView(FilteredListView):
    """Staff: every proposal of the facilitator; a company: the candidates proposed to it (others: none)."""

    title = "Candidats proposés"
    template_name = "www/matching/list.html"
    table_template_name = "www/matching/_proposal_table.html"
    filter_form_class = ProposalFilterForm
    search_fields = ("participant__last_name", "participant__first_name", "offer__title")
    search_placeholder = "Candidat ou poste"
    sort_fields = {
        "candidat": ("participant__last_name", "participant__first_name"),
        "offre": ("offer__title",),
        "envoyee": ("sent_at",),
        "etat": ("status",),
    }
    default_sort = "-envoyee"
    columns = (
        Column(
            "Candidat",
            "candidat",
            value=(("Nom", "participant.last_name"), ("Prénom", "participant.first_name")),
        ),
        Column("Offre", "offre", value="offer.title"),
        Column("Entreprise", value="offer.company.name"),
        Column("Disponible le", value="available_from"),
        Column("Proposé le", "envoyee", value=lambda p: p.sent_at and timezone.localdate(p.sent_at)),
        Column("État", "etat", value="get_status_display"),
    )
    export_personal_data = True

    def get_base_queryset(self):
        return proposals(self.request.user)


def eligibility_label(proposal) -> str:
    """What a company reads about eligibility: validated, or not (never why)."""
    if proposal.participant.is_eligible_on(proposal.offer.start_date):
        return "validée"
    return "à revalider par le facilitateur"


class ProposalDetailView(KindRequiredMixin, DetailView):
    kinds = OFFER_POSTERS
    template_name = "www/matching/proposal_detail.html"

    def get_queryset(self):
        return proposals(self.request.user)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_view(obj=self.object.participant, by=request.user, detail=f"proposition {self.object.uuid}")
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        proposal = self.object
        staff = context["is_staff_view"]
        context["title"] = f"{proposal.participant} — {proposal.offer.title}"
        context["eligibility"] = eligibility_label(proposal)
        # The log carries the staff's comments: for the staff only.
        context["transitions"] = (
            list(proposal.transitions.select_related("by", "organization")) if staff else []
        )
        context["answer_form"] = (
            mforms.AnswerForm() if not staff and proposal.status == ProposalStatus.SENT else None
        )
        context["can_withdraw"] = staff and proposal.status in (
            ProposalStatus.SHORTLISTED,
            ProposalStatus.SENT,
            ProposalStatus.ACCEPTED,
        )
        context["can_hire"] = staff and proposal.status == ProposalStatus.ACCEPTED
        return context


class ProposalAnswerView(KindRequiredMixin, View):
    """The company answers: accept, or refuse with a reason."""

    kinds = frozenset({K.COMPANY})

    def get(self, request, uuid):
        return redirect(proposal_url(proposal_for(request.user, uuid)))

    def post(self, request, uuid):
        proposal = proposal_for(request.user, uuid)
        form = mforms.AnswerForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(proposal_url(proposal))
        accept = form.cleaned_data["decision"] == "accept"
        try:
            actions.answer_proposal(
                proposal=proposal, by=request.user, accept=accept, reason=form.cleaned_data["reason"]
            )
        except Refused as refusal:
            show_refusal(request, refusal)
        else:
            messages.success(
                request,
                "Vous avez retenu ce candidat : le facilitateur prépare l'embauche."
                if accept
                else "Votre réponse est transmise au facilitateur.",
            )
        return redirect(proposal_url(proposal))


class ProposalWithdrawView(FacilitatorStaffRequiredMixin, View):
    def get(self, request, uuid):
        return redirect(proposal_url(proposal_for(request.user, uuid)))

    def post(self, request, uuid):
        proposal = proposal_for(request.user, uuid)
        try:
            actions.withdraw_proposal(
                proposal=proposal, by=request.user, comment=request.POST.get("commentaire", "")[:1000]
            )
        except Refused as refusal:
            show_refusal(request, refusal)
        else:
            messages.success(request, "La proposition est retirée.")
        return redirect(offer_url(proposal.offer))


class ProposalHireView(StaffFormView):
    """The company accepted the candidate: create the contract from the offer."""

    form_class = mforms.HireForm
    title = "Enregistrer l'embauche"
    submit_label = "Créer le contrat"

    def get_parent(self):
        return proposal_for(self.request.user, self.kwargs["uuid"])

    def get(self, request, *args, **kwargs):
        if self.parent.status != ProposalStatus.ACCEPTED:
            messages.info(request, "Seul un candidat retenu par l'entreprise peut être embauché.")
            return redirect(proposal_url(self.parent))
        return super().get(request, *args, **kwargs)

    def get_extra_form_kwargs(self):
        return {"offer": self.parent.offer}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            contract = actions.hire(
                proposal=self.parent,
                by=self.request.user,
                start_date=data["start_date"],
                end_date=data.get("end_date"),
                contract_type=data["contract_type"],
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, "L'embauche est enregistrée : le contrat est créé.")
        return redirect(reverse("www:contract_detail", kwargs={"uuid": contract.uuid}))

    def get_cancel_url(self):
        return proposal_url(self.parent)
