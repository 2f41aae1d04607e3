"""Job offers: posted on a lot by the facilitator or the awarded company, then published, closed or reopened."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clausier.matching import actions
from clausier.matching.actions import OFFER_TRANSITIONS, Refused
from clausier.matching.models import JobOffer, OfferStatus, Proposal, ProposalStatus
from clausier.organizations.access import current_organization, get_object_for_user_or_404
from clausier.procurement.models import Lot
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.kit.base import DetailView
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.queries import count_of
from clausier.www.matching import forms as mforms
from clausier.www.matching.common import K, KindRequiredMixin, PartnerFormView, kind_of, show_refusal

OFFER_POSTERS = frozenset({K.FACILITATOR, K.COMPANY})


def offer_url(offer) -> str:
    return reverse("www:offer_detail", kwargs={"uuid": offer.uuid})


def offers(user):
    return JobOffer.objects.visible_to(user).select_related(
        "lot__market", "company", "rome_job", "commune", "contract_type"
    )


def visible_proposals(user):
    return Proposal.objects.visible_to(user).exclude(status=ProposalStatus.WITHDRAWN)


class OfferFilterForm(ListFilterForm):
    status = forms.ChoiceField(label="État", required=False, choices=[("", "Tous"), *OfferStatus.choices])
    lookups = {"status": "status"}


class OfferListView(FilteredListView):
    title = "Offres d'emploi"
    template_name = "www/matching/list.html"
    table_template_name = "www/matching/_offer_table.html"
    filter_form_class = OfferFilterForm
    search_fields = ("title", "rome_job__code", "rome_job__label", "company__name", "lot__market__reference")
    search_placeholder = "Poste, métier, entreprise ou n° de marché"
    sort_fields = {
        "poste": ("title",),
        "entreprise": ("company__name", "title"),
        "debut": ("start_date",),
        "etat": ("status", "start_date"),
    }
    default_sort = "-debut"
    columns = (
        Column("Poste", "poste", value="title"),
        Column("Métier", value="rome_job.code"),
        Column("Entreprise", "entreprise", value="company.name"),
        Column("Lot", value=(("Marché", "lot.market.reference"), ("Lot", "lot.number"))),
        Column("Lieu", value="commune.name"),
        Column("Début", "debut", value="start_date"),
        Column("Postes pourvus", numeric=True, value=lambda o: f"{o.positions_filled}/{o.positions}"),
        Column("Candidats", numeric=True, value="proposals_count"),
        Column("État", "etat", value="get_status_display"),
    )

    def get_base_queryset(self):
        user = self.request.user
        return offers(user).annotate(proposals_count=count_of(visible_proposals(user), "offer"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_create"] = kind_of(self.request.user) in OFFER_POSTERS
        context["create_url_name"] = "www:offer_start"
        context["create_label"] = "Publier une offre"
        return context


def lots_for_offers(user):
    """The lots `user` may post offers for: the facilitator's lots (staff), the lots awarded to a company."""
    if kind_of(user) not in OFFER_POSTERS:
        return Lot.objects.none()
    return Lot.objects.visible_to(user).select_related("market").order_by("market__reference", "number")


class OfferStartView(TemplateView):
    """ "Publier une offre": choose the lot, then the form of that lot. Other organizations are told that
    offers are posted by the facilitator and the awarded companies."""

    template_name = "www/matching/offer_start.html"

    def get(self, request, *args, **kwargs):
        lots = lots_for_offers(request.user)
        form = mforms.OfferChoiceForm(request.GET if "lot" in request.GET else None, lots=lots)
        if form.is_bound and form.is_valid():
            return redirect(reverse("www:offer_create", kwargs={"uuid": form.cleaned_data["lot"].uuid}))
        context = self.get_context_data(
            form=form, title="Publier une offre d'emploi", can_post=kind_of(request.user) in OFFER_POSTERS
        )
        return self.render_to_response(context)


class OfferCreateView(PartnerFormView):
    kinds = OFFER_POSTERS
    form_class = mforms.OfferForm
    submit_label = "Enregistrer l'offre"

    def dispatch(self, request, *args, **kwargs):
        if kind_of(request.user) in OFFER_POSTERS:
            self.parent = get_object_for_user_or_404(
                Lot.objects.select_related("market"), request.user, uuid=kwargs["uuid"]
            )
        return super().dispatch(request, *args, **kwargs)

    title = "Nouvelle offre d'emploi"

    def posting_company(self):
        org = current_organization(self.request.user)
        return org if org.kind == K.COMPANY else None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "lot": self.parent, "company": self.posting_company()}

    def form_valid(self, form):
        company = self.posting_company() or form.cleaned_data["company"]
        try:
            offer = actions.create_offer(
                lot=self.parent,
                company=company,
                by=self.request.user,
                publish=form.cleaned_data.get("publish", False),
                **form.offer_values(),
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, "L'offre a été enregistrée.")
        return redirect(offer_url(offer))

    def get_cancel_url(self):
        return reverse("www:offer_list")


def offer_for(user, uuid):
    return get_object_for_user_or_404(offers(user), user, uuid=uuid)


class OfferEditView(OptimisticLockMixin, PartnerFormView):
    kinds = OFFER_POSTERS
    form_class = mforms.OfferForm
    title = "Modifier l'offre d'emploi"

    def dispatch(self, request, *args, **kwargs):
        if kind_of(request.user) in OFFER_POSTERS:
            self.parent = offer_for(request.user, kwargs["uuid"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "lot": self.parent.lot, "instance": self.parent}

    def form_valid(self, form):
        try:
            actions.update_offer(
                offer=self.parent,
                by=self.request.user,
                expected_version=self.expected_version,
                **form.offer_values(),
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, "L'offre a été modifiée.")
        return redirect(offer_url(self.parent))

    def get_cancel_url(self):
        return offer_url(self.parent)


TRANSITION_LABELS = {
    OfferStatus.OPEN: "Publier l'offre",
    OfferStatus.CLOSED: "Clôturer l'offre",
}


def offer_buttons(offer) -> list[dict]:
    buttons = []
    for to in sorted(OFFER_TRANSITIONS.get(offer.status, ())):
        if to == OfferStatus.OPEN and offer.positions_left == 0:
            continue
        label = "Rouvrir l'offre" if offer.status == OfferStatus.CLOSED else TRANSITION_LABELS[to]
        buttons.append({"to": to, "label": label})
    return buttons


class OfferDetailView(KindRequiredMixin, DetailView):
    kinds = OFFER_POSTERS
    template_name = "www/matching/offer_detail.html"

    def get_queryset(self):
        return offers(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        offer = self.object
        context["title"] = offer.title
        context["proposals"] = list(
            Proposal.objects.visible_to(self.request.user)
            .filter(offer=offer)
            .select_related("participant")
            .order_by("status", "participant__last_name", "participant__first_name")
        )
        context["shortlisted"] = sum(p.status == ProposalStatus.SHORTLISTED for p in context["proposals"])
        context["buttons"] = offer_buttons(offer)
        context["can_edit"] = offer.status in (OfferStatus.DRAFT, OfferStatus.OPEN)
        return context


class OfferTransitionView(KindRequiredMixin, View):
    """POST `vers` = open | closed: publish, close or reopen the offer."""

    kinds = OFFER_POSTERS

    def get(self, request, uuid):
        return redirect(offer_url(offer_for(request.user, uuid)))

    def post(self, request, uuid):
        offer = offer_for(request.user, uuid)
        try:
            offer = actions.change_offer_status(offer=offer, to=request.POST.get("vers", ""), by=request.user)
        except Refused as refusal:
            show_refusal(request, refusal)
        else:
            messages.success(request, f"L'offre est {offer.get_status_display().lower()}.")
        return redirect(offer_url(offer))
