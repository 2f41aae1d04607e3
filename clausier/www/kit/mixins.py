"""Shared pieces of the UI: DSFR form rendering, role gates."""

from django.http import Http404
from dsfr.forms import DsfrBoundField, DsfrDjangoTemplates
from dsfr.utils import dsfr_input_class_attr

from clausier.organizations.access import is_facilitator_staff


class DsfrFormMixin:
    """DSFR rendering for any form (plain or model form), without django-dsfr's transition warnings (DsfrBaseForm warns on every render)."""

    template_name = "dsfr/form_snippet.html"
    bound_field_class = DsfrBoundField
    default_renderer = DsfrDjangoTemplates

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)
        # A bound field copies its field's help text when created: forget these, so that help texts set
        # after this __init__ (in a subclass's __init__) are the ones rendered.
        self._bound_fields_cache.clear()


class FacilitatorStaffRequiredMixin:
    """Only the staff of the current facilitator; anyone else gets a 404 (no existence leak)."""

    def dispatch(self, request, *args, **kwargs):
        if not is_facilitator_staff(request.user):
            raise Http404("Page réservée à l'équipe du facilitateur.")
        return super().dispatch(request, *args, **kwargs)
