"""Forms of the partners area: the filters of the companies, insertion structures and prescribers lists (the
buyers list, in `procurement`, filters the same way). Every choice list is scoped to what the user may see."""

from django import forms

from clausier.organizations.models import OrganizationKind
from clausier.reference.models import OrganizationCategory
from clausier.www.kit.lists import ListFilterForm


def category_field():
    return forms.ModelChoiceField(
        OrganizationCategory.objects.none(),
        label="Catégorie",
        required=False,
        empty_label="Toutes",
        to_field_name="code",
    )


class OrganizationFilterForm(ListFilterForm):
    kind = ""
    category = category_field()
    lookups = {"category": "category"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = OrganizationCategory.objects.active().filter(kind=self.kind)


class CompanyFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.COMPANY


class StructureFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.INSERTION_STRUCTURE


class PrescriberFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.PRESCRIBER
