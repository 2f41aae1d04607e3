"""Participants area: the participant file (create, edit, duplicates on creation), eligibility assessments,
merging duplicates and the review of merges, the QPV block (geocoding or manual override).

Every page here is for the staff of the current facilitator only (anyone else: 404). Writes are action calls
(`clausier.participants.actions`), each with its audit entry.

The geocoder used by "Déterminer" is built by the callable named in the setting `GEOCODER_FACTORY`
(default `clausier.geo.geocoder.default_geocoder`, the BAN): tests name a fake there, never the network.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views import View
from django.views.generic import TemplateView

from clausier.audit.log import record_view
from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract
from clausier.geo.geocoder import GeocoderError
from clausier.geo.models import Qpv
from clausier.organizations.access import get_object_for_user_or_404
from clausier.participants import actions
from clausier.participants.actions import Refused
from clausier.participants.duplicates import duplicates_of
from clausier.participants.models import EligibilityAssessment, Participant, QpvMethod
from clausier.utils.locking import OptimisticLockMixin
from clausier.utils.names import normalize_part
from clausier.www.kit.base import StaffFormView
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.participants.forms import AssessmentForm, MergeForm, ParticipantForm, QpvOverrideForm

DEFAULT_GEOCODER_FACTORY = "clausier.geo.geocoder.default_geocoder"


def geocoder():
    """The geocoder of the "Déterminer" button (setting `GEOCODER_FACTORY`, a dotted path to a callable)."""
    return import_string(getattr(settings, "GEOCODER_FACTORY", DEFAULT_GEOCODER_FACTORY))()


def participant_url(participant) -> str:
    return reverse("www:participant_detail", kwargs={"uuid": participant.uuid})


def active_participant_for(user, uuid):
    """A record of the user's facilitator that stands for a person (a merged record cannot be changed)."""
    return get_object_for_user_or_404(
        Participant.objects.active_records().select_related("facilitator", "prescriber", "commune"),
        user,
        uuid=uuid,
    )


def participant_staff_context(participant) -> dict:
    """What the participant page shows to facilitator staff only, beyond assessments and outcomes.

    A fixed number of queries whatever the participant's history: the QPV's name, the records merged here.
    """
    qpv = None
    if participant.qpv_code and participant.qpv_millesime:
        qpv = Qpv.objects.filter(code=participant.qpv_code, millesime=participant.qpv_millesime).first()
    return {
        "qpv": qpv,
        "merged_records": list(participant.merged_records.order_by("last_name", "first_name")),
    }


# --- The participant file ------------------------------------------------------------------------------------


class ParticipantCreateView(StaffFormView):
    form_class = ParticipantForm
    template_name = "www/participants/form.html"
    title = "Nouveau participant"
    submit_label = "Enregistrer le participant"
    success_message = "Le participant a été enregistré."

    def get_extra_form_kwargs(self):
        return {"facilitator": self.request.organization}

    def save(self, form):
        return actions.create_participant(
            facilitator=self.request.organization, by=self.request.user, **form.action_values()
        )

    def form_valid(self, form):
        try:
            obj = self.save(form)
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(participant_url(obj))

    def get_cancel_url(self):
        return reverse("www:participant_list")


class ParticipantEditView(OptimisticLockMixin, ParticipantCreateView):
    title = "Modifier la fiche du participant"
    success_message = "Les modifications ont été enregistrées (l'historique est conservé)."

    def get_parent(self):
        return active_participant_for(self.request.user, self.kwargs["uuid"])

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record_view(obj=self.parent, by=request.user, detail="formulaire de modification de la fiche")
        return response

    def get_extra_form_kwargs(self):
        return {"facilitator": self.request.organization, "instance": self.parent}

    def save(self, form):
        before = {name: getattr(self.parent, name) for name in actions.QPV_FIELDS}
        address_before = actions.address_key(self.parent)
        row = actions.update_participant(
            participant=self.parent,
            by=self.request.user,
            expected_version=self.expected_version,
            **form.action_values(),
        )
        self.qpv_message = qpv_change_message(
            before, row, address_changed=actions.address_key(row) != address_before
        )
        return row

    def form_valid(self, form):
        self.qpv_message = ""
        response = super().form_valid(form)
        if response.status_code == 302 and self.qpv_message:
            messages.warning(self.request, self.qpv_message)
        return response

    def get_cancel_url(self):
        return participant_url(self.parent)


def qpv_change_message(before: dict, row, *, address_changed: bool) -> str:
    """What the edit did to the QPV residence (the rule is `actions.update_participant`'s), or ""."""
    if all(getattr(row, name) == value for name, value in before.items()):
        return ""
    why = (
        "L'adresse a changé" if address_changed else "La nouvelle date d'entrée relève d'une autre liste QPV"
    )
    text = why
    if before["qpv_method"] == QpvMethod.MANUAL:
        text += " : la saisie manuelle de la résidence en QPV a été annulée."
    else:
        text += " : la résidence en QPV enregistrée ne vaut plus."
    if row.qpv_status:
        return f"{text} Résidence en QPV : {row.get_qpv_status_display()}."
    return (
        f"{text} Elle est à déterminer : le prochain traitement des résidences en QPV géocodera l'adresse, "
        "ou cliquez sur « Déterminer »."
    )


# --- Eligibility ---------------------------------------------------------------------------------------------


class AssessmentCreateView(StaffFormView):
    """ "Valider l'éligibilité": always a NEW assessment; the previous ones stay in the history."""

    form_class = AssessmentForm
    template_name = "www/participants/assessment_form.html"
    title = "Valider l'éligibilité"
    submit_label = "Valider l'éligibilité"
    success_message = "L'éligibilité a été validée."

    def get_parent(self):
        return active_participant_for(self.request.user, self.kwargs["uuid"])

    def get_extra_form_kwargs(self):
        return {"participant": self.parent}

    def form_valid(self, form):
        try:
            actions.validate_eligibility(
                participant=self.parent, by=self.request.user, **form.action_kwargs()
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(participant_url(self.parent))

    def get_cancel_url(self):
        return participant_url(self.parent)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["previous"] = EligibilityAssessment.objects.filter(participant=self.parent).order_by(
            "-assessed_on", "-pk"
        )[:1]
        return context


# --- Merging duplicates --------------------------------------------------------------------------------------


def _comparison(participant, user):
    """One side of the comparison: the record, its contracts and its assessments (staff only)."""
    return {
        "participant": participant,
        "contracts": list(
            Contract.objects.visible_to(user)
            .filter(participant=participant)
            .select_related("employer", "lot__market", "contract_type")
            .order_by("-start_date")
        ),
        "assessments": list(
            EligibilityAssessment.objects.visible_to(user)
            .filter(participant=participant)
            .select_related("validated_by")
            .annotate(criteria_count=Count("criterion_lines"))
            .order_by("-assessed_on")
        ),
    }


class ParticipantMergeView(FacilitatorStaffRequiredMixin, TemplateView):
    """ "Fusionner avec…": pick the other record (likely duplicates, or a search), compare, keep one, confirm."""

    template_name = "www/participants/merge.html"

    def setup_objects(self):
        user = self.request.user
        self.participant = active_participant_for(user, self.kwargs["uuid"])
        other = (
            self.request.POST.get("avec") if self.request.method == "POST" else self.request.GET.get("avec")
        )
        self.other = None
        if other:
            self.other = active_participant_for(user, other)
            if self.other.pk == self.participant.pk:
                raise Http404("Une fiche ne peut pas être fusionnée avec elle-même.")

    def get(self, request, *args, **kwargs):
        self.setup_objects()
        form = MergeForm(first=self.participant, second=self.other) if self.other else None
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        self.setup_objects()
        if self.other is None:
            raise Http404("Choisissez la fiche à fusionner.")
        form = MergeForm(request.POST, first=self.participant, second=self.other)
        if form.is_valid():
            kept, duplicate = form.kept_and_duplicate()
            try:
                actions.merge_participants(kept=kept, duplicate=duplicate, by=request.user)
            except Refused as refusal:
                form.add_error(None, refusal.messages)
            else:
                messages.success(request, f"Les deux fiches ont été fusionnées dans celle de {kept}.")
                return redirect(participant_url(kept))
        return self.render_to_response(self.get_context_data(form=form))

    def search(self):
        query = " ".join(self.request.GET.get("q", "").split())[:100]
        if not query or self.other is not None:
            return query, []
        words = normalize_part(query).split()
        queryset = (
            Participant.objects.visible_to(self.request.user).active_records().exclude(pk=self.participant.pk)
        )
        for word in words:
            queryset = queryset.filter(normalized_name__contains=word)
        return query, list(queryset.order_by("last_name", "first_name")[:20])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query, results = self.search()
        context.update(
            object=self.participant,
            title=f"Fusionner la fiche de {self.participant}",
            other=self.other,
            query=query,
            results=results,
            candidates=[] if self.other else duplicates_of(self.participant),
            sides=[_comparison(p, self.request.user) for p in (self.participant, self.other)]
            if self.other
            else [],
        )
        return context


class MergeListView(FacilitatorStaffRequiredMixin, TemplateView):
    """The merges of the facilitator, from the audit log: who, when, which records."""

    template_name = "www/participants/merges.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entries = (
            AuditEntry.objects.filter(
                facilitator=self.request.organization,
                action=Action.MERGE,
                object_type="participants.participant",
                changes__has_key="merged",
            )
            .select_related("actor")
            .order_by("-at", "-id")
        )
        page = Paginator(entries, self.paginate_by).get_page(self.request.GET.get("page"))
        uuids = set()
        for entry in page:
            uuids.add(entry.object_id)
            uuids.add(str(entry.changes["merged"][1]))
        records = {
            str(p.uuid): p
            for p in Participant.objects.visible_to(self.request.user).filter(uuid__in=list(uuids))
        }
        context.update(
            title="Fusions de fiches",
            page_obj=page,
            rows=[
                {
                    "entry": entry,
                    "kept": records.get(entry.object_id),
                    "merged": records.get(str(entry.changes["merged"][1])),
                    "detail": entry.detail,
                }
                for entry in page
            ],
        )
        return context


# --- QPV -----------------------------------------------------------------------------------------------------


class QpvResolveView(FacilitatorStaffRequiredMixin, View):
    """ "Déterminer" (POST): geocode the address and look the point up in the QPV list in force at entry."""

    def get(self, request, uuid):
        return redirect(participant_url(active_participant_for(request.user, uuid)))

    def post(self, request, uuid):
        participant = active_participant_for(request.user, uuid)
        try:
            actions.resolve_participant_qpv(
                participant, geocoder=geocoder(), by=request.user, overwrite_manual=True
            )
        except GeocoderError as error:
            messages.error(request, f"La résidence en QPV n'a pas pu être déterminée : {error}")
        except Refused as refusal:
            messages.error(request, " ".join(refusal.messages))
        else:
            participant.refresh_from_db()
            messages.success(
                request, f"Résidence en QPV déterminée : {participant.get_qpv_status_display()}."
            )
        return redirect(participant_url(participant) + "#qpv")


class QpvOverrideView(StaffFormView):
    form_class = QpvOverrideForm
    title = "Saisir la résidence en QPV à la main"
    submit_label = "Enregistrer"
    success_message = "La résidence en QPV a été enregistrée (saisie manuelle)."

    def get_parent(self):
        return active_participant_for(self.request.user, self.kwargs["uuid"])

    def get_initial(self):
        participant = self.parent
        if participant.qpv_status in ("inside", "outside"):
            return {"residence": participant.qpv_status, "qpv_code": participant.qpv_code}
        return {}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            actions.override_participant_qpv(
                self.parent, qpv_code=data["qpv_code"] or None, reason=data["reason"], by=self.request.user
            )
        except Refused as refusal:
            form.add_error(None, refusal.messages)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(participant_url(self.parent) + "#qpv")

    def get_cancel_url(self):
        return participant_url(self.parent)


__all__ = [
    "AssessmentCreateView",
    "MergeListView",
    "ParticipantCreateView",
    "ParticipantEditView",
    "ParticipantMergeView",
    "QpvOverrideView",
    "QpvResolveView",
    "participant_staff_context",
]
