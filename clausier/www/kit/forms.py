"""Form plumbing shared by the areas: choices addressed by UUID, DSFR model forms, date order, buyers."""

from django import forms

from clausier.organizations.access import organizations_visible_to
from clausier.organizations.models import Organization, OrganizationKind
from clausier.www.kit.mixins import DsfrFormMixin
from clausier.www.kit.widgets import QuickSelect

DATES_ORDER_ERROR = "La date de fin doit être postérieure ou égale à la date de début."


def check_dates(form, start="start_date", end="end_date"):
    data = form.cleaned_data
    if data.get(start) and data.get(end) and data[end] < data[start]:
        form.add_error(end, DATES_ORDER_ERROR)


def buyers_of(user):
    return organizations_visible_to(user, Organization.objects.filter(kind=OrganizationKind.BUYER)).order_by(
        "name"
    )


class UuidModelChoiceField(forms.ModelChoiceField):
    """Choices addressed by UUID: integer ids never show in pages or URLs."""

    widget = QuickSelect  # lists of a territory's markets, lots, companies run into the hundreds

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("to_field_name", "uuid")
        kwargs.setdefault("empty_label", "— Choisir —")
        super().__init__(queryset, **kwargs)


class DsfrModelForm(DsfrFormMixin, forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices addressed by uuid or code: give the edited row's related objects as initial values, so that
        # the current choice is selected (the default initial is the integer id, which matches no option).
        if self.instance.pk is not None:
            relations = {f.name for f in self.instance._meta.fields if f.is_relation}
            for name, field in self.fields.items():
                if name in relations and isinstance(field, forms.ModelChoiceField) and field.to_field_name:
                    self.initial[name] = getattr(self.instance, name)
