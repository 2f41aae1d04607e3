"""The lot's clause: the sizing form, and its calculation refreshed by htmx as the user types."""

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from clausier.organizations.access import get_object_for_user_or_404
from clausier.procurement import actions
from clausier.procurement.models import Clause, Lot
from clausier.utils.locking import OptimisticLockMixin
from clausier.www.kit.base import StaffFormView
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin
from clausier.www.procurement.forms import ClauseForm

BELOW_MINIMUM = "En dessous de {minimum} h, une clause n'est pas conseillée"
# The name of the "Afficher les champs de ce mode" button (and of what htmx posts when the mode changes): the
# form is shown again for the chosen mode, with the values typed, nothing validated nor saved.
REFRESH = "refresh"


def _lot(request, uuid):
    return get_object_for_user_or_404(Lot.objects.select_related("market", "family"), request.user, uuid=uuid)


def _clause_of(lot):
    return Clause.objects.filter(lot=lot).first() or Clause(lot=lot, facilitator_id=lot.facilitator_id)


class ClauseEditView(OptimisticLockMixin, StaffFormView):
    form_class = ClauseForm
    template_name = "www/clauses/edit.html"
    title = "Clause d'insertion du lot"
    success_message = "La clause a été enregistrée."

    def get_parent(self):
        self.lot = _lot(self.request, self.kwargs["uuid"])
        return self.lot.market

    def get_locked_object(self):
        if not hasattr(self, "clause"):
            self.clause = _clause_of(self.lot)
        return self.clause

    def get_extra_form_kwargs(self):
        return {"lot": self.lot, "instance": self.get_locked_object()}

    def refreshing(self) -> bool:
        return self.request.method == "POST" and REFRESH in self.request.POST

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.refreshing():
            # An unbound form whose initial values are the posted ones: shown as typed, without errors.
            kwargs.pop("data", None)
            kwargs.pop("files", None)
            kwargs["initial"] = {**kwargs.get("initial", {}), **self.request.POST.dict()}
        return kwargs

    def post(self, request, *args, **kwargs):
        if self.refreshing():
            return self.render_to_response(self.get_context_data(form=self.get_form(), refreshed=True))
        return super().post(request, *args, **kwargs)

    def save(self, form):
        data = {name: form.cleaned_data.get(name) for name in form.Meta.fields}
        clause, _ = actions.set_clause(
            lot=self.lot, by=self.request.user, expected_version=self.expected_version, **data
        )
        return clause

    def form_valid(self, form):
        response = super().form_valid(form)
        if response.status_code == 302 and form.sizing is not None and form.sizing.below_minimum:
            messages.warning(
                self.request,
                BELOW_MINIMUM.format(minimum=form.sizing.minimum) + f" ({form.sizing.hours} h calculées).",
            )
        return response

    def get_success_url_for(self, obj):
        return reverse("www:lot_detail", kwargs={"uuid": self.lot.uuid})

    def get_cancel_url(self):
        return reverse("www:lot_detail", kwargs={"uuid": self.lot.uuid})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        if not form.is_bound:
            # The page shows the calculation of the saved clause (or of the defaults): parse the initial values.
            preview = ClauseForm(data=_initial_data(form), lot=self.lot, instance=_clause_of(self.lot))
            preview.is_valid()
            form.sizing = preview.sizing
        context.update(
            sizing_context(form, self.lot),
            lot=self.lot,
            edit_url=reverse("www:clause_edit", kwargs={"uuid": self.lot.uuid}),
            refresh=REFRESH,
        )
        return context


def _initial_data(form) -> dict:
    data = {}
    for name in form.SIZING_INPUTS:
        value = form[name].value()
        data[name] = "" if value is None else form.fields[name].prepare_value(value)
    return data


def sizing_context(form, lot) -> dict:
    return {
        "sizing": form.sizing,
        "sizing_errors": form.sizing_errors() if form.is_bound else [],
        "sizing_url": reverse("www:clause_sizing", kwargs={"uuid": lot.uuid}),
        "below_minimum_message": (
            BELOW_MINIMUM.format(minimum=form.sizing.minimum)
            if form.sizing is not None and form.sizing.below_minimum
            else ""
        ),
    }


class ClauseSizingView(FacilitatorStaffRequiredMixin, View):
    """GET only: the calculation of the values being typed (htmx partial). Never writes."""

    http_method_names = ["get"]

    def get(self, request, uuid):
        lot = _lot(request, uuid)
        form = ClauseForm(data=request.GET, lot=lot, instance=_clause_of(lot))
        form.is_valid()
        return render(request, "www/clauses/_sizing.html", {"lot": lot, **sizing_context(form, lot)})
