"""Matching area: candidacies (prescribers propose, the facilitator validates or declines), job offers
(the facilitator or the awarded company posts them), the candidate pool and shortlists (facilitator),
proposals (the company accepts or refuses, the facilitator marks the hire) — `candidacies`, `offers`, `pool`,
`proposals`; this module holds what their pages share.

Every object comes through the access gate (`get_object_for_user_or_404`, `visible_to`); each page also
checks the kind of organization it is for, and answers 404 to the others. Writes are action calls
(`clausier.matching.actions`); a refusal is shown with its French messages and writes nothing.

Privacy (domain.md §8): eligibility criteria and the prescriber's opinion are shown to the facilitator's
staff only (and to the prescriber, on its own candidacy); a company sees a candidate's name, contact,
availability and "éligibilité : validée" — never why.
"""

from django.contrib import messages
from django.http import Http404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView

from clausier.matching.actions import Refused
from clausier.organizations.access import current_organization
from clausier.organizations.models import OrganizationKind

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


def back_to(request, default: str) -> str:
    target = request.POST.get("retour", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def show_refusal(request, refusal: Refused):
    for message in refusal.messages:
        messages.error(request, message)


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
