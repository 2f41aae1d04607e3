"""Filter forms of the list pages. Every choice list is scoped to what the user may see."""

from django import forms

from clausier.geo.models import Commune
from clausier.organizations.models import OrganizationKind
from clausier.participants.models import Participant, Sex
from clausier.procurement.models import Market, Operation
from clausier.reference.models import ContractType, Modality, OrganizationCategory
from clausier.reporting.indicators import overlapping
from clausier.www.kit.forms import UuidModelChoiceField, buyers_of
from clausier.www.kit.lists import ListFilterForm, year_choices


def category_field():
    return forms.ModelChoiceField(
        OrganizationCategory.objects.none(),
        label="Catégorie",
        required=False,
        empty_label="Toutes",
        to_field_name="code",
    )


def year_field(label="Année"):
    return forms.TypedChoiceField(
        label=label, required=False, choices=year_choices, coerce=int, empty_value=None
    )


class OrganizationFilterForm(ListFilterForm):
    kind = ""
    category = category_field()
    lookups = {"category": "category"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = OrganizationCategory.objects.active().filter(kind=self.kind)


class BuyerFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.BUYER


class CompanyFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.COMPANY


class StructureFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.INSERTION_STRUCTURE


class PrescriberFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.PRESCRIBER


class OperationFilterForm(ListFilterForm):
    buyer = UuidModelChoiceField(
        Operation.objects.none(), label="Donneur d'ordre", required=False, empty_label="Tous"
    )
    kind = forms.ChoiceField(
        label="Nature", required=False, choices=[("", "Toutes"), *Operation._meta.get_field("kind").choices]
    )
    year = year_field("Année d'activité")
    lookups = {"buyer": "buyer", "kind": "kind"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buyer"].queryset = buyers_of(self.user)

    def filter_year(self, queryset, year):
        return queryset.filter(overlapping(year))


class MarketFilterForm(ListFilterForm):
    buyer = UuidModelChoiceField(
        Market.objects.none(), label="Donneur d'ordre", required=False, empty_label="Tous"
    )
    operation = UuidModelChoiceField(
        Operation.objects.none(), label="Opération", required=False, empty_label="Toutes"
    )
    family = forms.ChoiceField(
        label="Nature", required=False, choices=[("", "Toutes"), *Market.Family.choices]
    )
    procedure = forms.ChoiceField(
        label="Procédure", required=False, choices=[("", "Toutes"), *Market.Procedure.choices]
    )
    year = year_field("Année de notification")
    lookups = {"buyer": "buyer", "operation": "operation", "family": "family", "procedure": "procedure"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buyer"].queryset = buyers_of(self.user)
        self.fields["operation"].queryset = Operation.objects.visible_to(self.user).order_by("name")

    def filter_year(self, queryset, year):
        return queryset.filter(notified_on__year=year)


class ParticipantFilterForm(ListFilterForm):
    commune = forms.ModelChoiceField(
        Commune.objects.none(),
        label="Commune",
        required=False,
        empty_label="Toutes",
        to_field_name="insee_code",
    )
    sex = forms.ChoiceField(label="Sexe", required=False, choices=[("", "Tous"), *Sex.choices])
    lookups = {"commune": "commune", "sex": "sex"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        communes = Participant.objects.visible_to(self.user).values("commune_id")
        self.fields["commune"].queryset = Commune.objects.filter(insee_code__in=communes).order_by("name")


class ContractFilterForm(ListFilterForm):
    buyer = UuidModelChoiceField(
        Market.objects.none(), label="Donneur d'ordre", required=False, empty_label="Tous"
    )
    contract_type = forms.ModelChoiceField(
        ContractType.objects.none(),
        label="Type de contrat",
        required=False,
        empty_label="Tous",
        to_field_name="code",
    )
    modality = forms.ModelChoiceField(
        Modality.objects.none(), label="Modalité", required=False, empty_label="Toutes", to_field_name="code"
    )
    year = year_field("Année d'activité")
    lookups = {"buyer": "lot__market__buyer", "contract_type": "contract_type", "modality": "modality"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buyer"].queryset = buyers_of(self.user)
        self.fields["contract_type"].queryset = ContractType.objects.active()
        self.fields["modality"].queryset = Modality.objects.active()

    def filter_year(self, queryset, year):
        return queryset.filter(overlapping(year))
