"""Base views: details through the access gate, create/edit forms for facilitator staff."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.shortcuts import redirect
from django.views.generic import FormView, TemplateView

from clausier.organizations.access import get_object_for_user_or_404, is_facilitator_staff
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin


class DetailView(TemplateView):
    """A detail page: `self.object` is fetched with `get_object_for_user_or_404` (another tenant's: 404)."""

    queryset = None  # a callable(user) -> queryset, or a model

    def get_queryset(self):
        raise NotImplementedError

    def get_object(self):
        return get_object_for_user_or_404(self.get_queryset(), self.request.user, uuid=self.kwargs["uuid"])

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["title"] = str(self.object)
        context["is_staff_view"] = is_facilitator_staff(self.request.user)
        return context


class StaffFormView(FacilitatorStaffRequiredMixin, FormView):
    """Create or edit, for the staff of the current facilitator only; the write is an action call.

    A rejected form (field errors, or an action refusing) is shown again with the user's input, and
    nothing is saved.
    """

    template_name = "www/form.html"
    title = ""
    submit_label = "Enregistrer"
    success_message = "Les modifications ont été enregistrées."

    def get_parent(self):
        """The object the form is about (edit) or under (lot of a market), or None."""
        return None

    def dispatch(self, request, *args, **kwargs):
        self.request = request
        self.kwargs = kwargs
        if is_facilitator_staff(request.user):
            self.parent = self.get_parent()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.update(self.get_extra_form_kwargs())
        return kwargs

    def get_extra_form_kwargs(self):
        return {}

    def save(self, form):
        """Call the action; return the object to show next."""
        raise NotImplementedError

    def form_valid(self, form):
        try:
            obj = self.save(form)
        except ValidationError as error:
            form.add_error(None, error.messages)
            return self.form_invalid(form)
        except IntegrityError:
            form.add_error(
                None,
                "Enregistrement impossible : ces données entrent en conflit avec un enregistrement existant.",
            )
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(self.get_success_url_for(obj))

    def get_success_url_for(self, obj):
        raise NotImplementedError

    def get_cancel_url(self):
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title,
            submit_label=self.submit_label,
            cancel_url=self.get_cancel_url(),
            parent=getattr(self, "parent", None),
        )
        return context


def add_errors(form, error):
    """Put an action's ValidationError on the form: on its field when the form has it, else on the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, [m for e in errors for m in e.messages])
    else:
        form.add_error(None, error.messages)
