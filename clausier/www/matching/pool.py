"""The candidate pool (facilitator staff): eligible participants searched by job, place, criterion and
availability; bound to an offer, its shortlist, sent to the company as proposals."""

import datetime

from django.contrib import messages
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clausier.matching import actions, pool
from clausier.matching.actions import Refused
from clausier.matching.models import Candidacy, OfferStatus, Proposal, ProposalStatus
from clausier.organizations.access import get_object_for_user_or_404, is_facilitator_staff
from clausier.participants.models import Participant
from clausier.www.kit.lists import Column, FilteredListView
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.matching import forms as mforms
from clausier.www.matching.common import back_to, show_refusal
from clausier.www.matching.offers import offer_for, offer_url


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
            show_refusal(request, refusal)
        else:
            messages.success(request, f"{participant} est ajouté(e) à la sélection de l'offre.")
        return redirect(back_to(request, pool_url(offer)))


class ShortlistSendView(FacilitatorStaffRequiredMixin, View):
    def get(self, request, uuid):
        return redirect(offer_url(offer_for(request.user, uuid)))

    def post(self, request, uuid):
        offer = offer_for(request.user, uuid)
        try:
            sent = actions.send_shortlist(offer=offer, by=request.user)
        except Refused as refusal:
            show_refusal(request, refusal)
        else:
            messages.success(request, f"{len(sent)} candidat(s) proposé(s) à {offer.company}.")
        return redirect(offer_url(offer))
