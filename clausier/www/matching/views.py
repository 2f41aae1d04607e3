"""Matching area: candidacies (prescribers propose, the facilitator validates or declines), job offers
(the facilitator or the awarded company posts them), the candidate pool and shortlists (facilitator),
proposals (the company accepts or refuses, the facilitator marks the hire).

Every object comes through the access gate (`get_object_for_user_or_404`, `visible_to`); each page also
checks the kind of organization it is for, and answers 404 to the others. Writes are action calls
(`clausier.matching.actions`); a refusal is shown with its French messages and writes nothing.

Privacy (domain.md §8): eligibility criteria and the prescriber's opinion are shown to the facilitator's
staff only (and to the prescriber, on its own candidacy); a company sees a candidate's name, contact,
availability and "éligibilité : validée" — never why.
"""

import datetime

from django import forms
from django.contrib import messages
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView, TemplateView

from clausier.audit.log import record_view
from clausier.matching import actions, pool
from clausier.matching.actions import OFFER_TRANSITIONS, Refused
from clausier.matching.models import (
    Candidacy,
    CandidacyStatus,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
)
from clausier.organizations.access import (
    current_organization,
    get_object_for_user_or_404,
    is_facilitator_staff,
)
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.models import Participant
from clausier.procurement.models import Lot
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.clauses.forms import ScopedChoiceField
from clausier.www.kit.base import DetailView, StaffFormView
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.kit.queries import count_of
from clausier.www.matching import forms as mforms

K = OrganizationKind


def kind_of(user):
    org = current_organization(user)
    return org.kind if org is not None else None


class KindRequiredMixin:
    """Only the organizations of `kinds` (the facilitator's staff: K.FACILITATOR); others get a 404."""

    kinds: frozenset = frozenset()

    def dispatch(self, request, *args, **kwargs):
        if kind_of(request.user) not in self.kinds:
            raise Http404("Page introuvable.")
        return super().dispatch(request, *args, **kwargs)


def _back(request, default: str) -> str:
    target = request.POST.get("retour", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _refusal(request, refusal: Refused):
    for message in refusal.messages:
        messages.error(request, message)


# --- Candidacies ----------------------------------------------------------------------------------------------


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


class PartnerFormView(KindRequiredMixin, FormView):
    template_name = "www/form.html"
    title = ""
    submit_label = "Enregistrer"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title,
            submit_label=self.submit_label,
            cancel_url=self.get_cancel_url(),
            parent=getattr(self, "parent", None),
        )
        return context

    def get_cancel_url(self):
        return None


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


# --- Job offers -----------------------------------------------------------------------------------------------

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
            _refusal(request, refusal)
        else:
            messages.success(request, f"L'offre est {offer.get_status_display().lower()}.")
        return redirect(offer_url(offer))


# --- The pool and the shortlist (facilitator) -----------------------------------------------------------------


class PoolSearchView(FacilitatorStaffRequiredMixin, FilteredListView):
    """The candidate pool: eligible participants, searched by job, place, criterion, level, availability.
    Bound to an offer (`offres/<uuid>/vivier/`), the offer's job and commune are the default search, and
    each row can be added to the offer's shortlist."""

    title = "Vivier de candidats"
    template_name = "www/matching/pool.html"
    table_template_name = "www/matching/_pool_table.html"
    filter_form_class = mforms.PoolFilterForm
    search_fields = ("last_name", "first_name", "birth_name", "normalized_name")
    search_placeholder = "Nom ou prénom"
    sort_fields = {
        "nom": ("last_name", "first_name"),
        "commune": ("commune__name", "last_name"),
        "disponible": ("available_from", "last_name"),
        "eligible": ("eligible_until", "last_name"),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value=(("Nom", "last_name"), ("Prénom", "first_name"))),
        Column("Commune", "commune", value="commune.name"),
        Column("Niveau", value="qualification_level"),
        Column(
            "Métiers recherchés",
            value=lambda p: ", ".join(j.code for c in p.validated_candidacies for j in c.wished_jobs.all()),
        ),
        Column("Métiers exercés", value=lambda p: ", ".join(pool.jobs_worked(p))),
        Column("Disponible le", "disponible", value="available_from"),
        Column("Éligible jusqu'au", "eligible", value="eligible_until"),
    )
    export_personal_data = True
    offer = None

    def dispatch(self, request, *args, **kwargs):
        if "uuid" in kwargs and is_facilitator_staff(request.user):
            self.offer = offer_for(request.user, kwargs["uuid"])
            self.title = f"Vivier de candidats — {self.offer.title}"
        return super().dispatch(request, *args, **kwargs)

    def get_filter_form(self):
        form = super().get_filter_form()
        if not form.is_bound and self.offer is not None:
            # The offer's job, around its place, available and eligible at its start.
            form = self.filter_form_class(
                {
                    "rome_job": self.offer.rome_job.code,
                    "commune": self.offer.commune.insee_code,
                    "zone": pool.Zone.DEPARTMENT,
                    "day": self.offer.start_date.strftime("%d/%m/%Y"),
                },
                user=self.request.user,
            )
        return form

    def reference_day(self) -> datetime.date:
        default = self.offer.start_date if self.offer is not None else timezone.localdate()
        return self.filter_form.value("day", default)

    def get_base_queryset(self):
        form, day = self.filter_form, self.reference_day()
        people = pool.in_pool(Participant.objects.visible_to(self.request.user), day)
        people = pool.by_job(
            people,
            rome_job=form.value("rome_job"),
            domain=form.value("domain"),
            jobs=form.value("job_words", []),
        )
        commune, km = form.value("commune"), form.value("distance")
        near = pool.by_distance(people, commune=commune, km=km) if commune and km else None
        if near is not None:
            people = pool.by_place(near, department=form.value("department", ""))
        else:
            people = pool.by_place(
                people,
                commune=commune,
                zone=form.value("zone", pool.Zone.COMMUNE),
                department=form.value("department", ""),
            )
        if form.value("criterion"):
            people = pool.by_criterion(people, form.value("criterion"), day)
        if not form.value("include_busy"):
            people = pool.available_on(people, day)
        people = pool.with_jobs_worked(people.select_related("commune", "qualification_level"))
        people = people.prefetch_related(
            Prefetch(
                "candidacies",
                queryset=Candidacy.objects.validated().prefetch_related("wished_jobs"),
                to_attr="validated_candidacies",
            )
        )
        if self.offer is not None:
            on_offer = Proposal.objects.filter(offer=self.offer, participant=OuterRef("pk")).exclude(
                status=ProposalStatus.WITHDRAWN
            )
            people = people.annotate(on_offer=Exists(on_offer))
        return people

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["offer"] = self.offer
        if self.offer is not None:
            context["columns"] = (*self.columns, Column("Sélection"))
        context["reference_day"] = self.reference_day()
        commune = self.filter_form.value("commune")
        if commune and self.filter_form.value("distance") and not pool.is_located(commune):
            context["distance_unavailable"] = commune
        context["can_shortlist"] = self.offer is not None and self.offer.status in (
            OfferStatus.DRAFT,
            OfferStatus.OPEN,
        )
        return context


def pool_url(offer) -> str:
    return reverse("www:offer_pool", kwargs={"uuid": offer.uuid})


class ShortlistAddView(FacilitatorStaffRequiredMixin, View):
    """POST `participant` (uuid): add the person to the offer's shortlist."""

    def get(self, request, uuid):
        return redirect(pool_url(offer_for(request.user, uuid)))

    def post(self, request, uuid):
        offer = offer_for(request.user, uuid)
        participant = get_object_for_user_or_404(
            Participant.objects.all(), request.user, uuid=request.POST.get("participant", "")
        )
        try:
            actions.shortlist(offer=offer, participant=participant, by=request.user)
        except Refused as refusal:
            _refusal(request, refusal)
        else:
            messages.success(request, f"{participant} est ajouté(e) à la sélection de l'offre.")
        return redirect(_back(request, pool_url(offer)))


class ShortlistSendView(FacilitatorStaffRequiredMixin, View):
    def get(self, request, uuid):
        return redirect(offer_url(offer_for(request.user, uuid)))

    def post(self, request, uuid):
        offer = offer_for(request.user, uuid)
        try:
            sent = actions.send_shortlist(offer=offer, by=request.user)
        except Refused as refusal:
            _refusal(request, refusal)
        else:
            messages.success(request, f"{len(sent)} candidat(s) proposé(s) à {offer.company}.")
        return redirect(offer_url(offer))


# --- Proposals ------------------------------------------------------------------------------------------------


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
            _refusal(request, refusal)
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
            _refusal(request, refusal)
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
