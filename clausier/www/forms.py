"""Forms of the facilitator UI. They parse and validate; writes go through the domain actions."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q

from clausier.organizations.access import organizations_visible_to
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement.actions import default_hourly_cost, default_labour_share, size_clause
from clausier.procurement.models import Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis, LotFamily, OrganizationCategory
from clausier.www.fields import (
    CommuneField,
    FrenchDateField,
    FrenchDateInput,
    FrenchDecimalField,
    RateField,
    SiretField,
)
from clausier.www.formatting import fr_money, fr_percent
from clausier.www.mixins import DsfrFormMixin

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

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("to_field_name", "uuid")
        kwargs.setdefault("empty_label", "— Choisir —")
        super().__init__(queryset, **kwargs)


class DsfrModelForm(DsfrFormMixin, forms.ModelForm):
    pass


# --- Buyers -------------------------------------------------------------------------------------


class BuyerForm(DsfrFormMixin, forms.Form):
    name = forms.CharField(label="Nom", max_length=255)
    siret = SiretField(label="SIRET", required=False)
    category = forms.ModelChoiceField(
        label="Catégorie",
        queryset=OrganizationCategory.objects.none(),
        required=False,
        empty_label="— Choisir —",
        to_field_name="code",
    )
    address = forms.CharField(label="Adresse", max_length=255, required=False)
    postal_code = forms.RegexField(
        label="Code postal",
        regex=r"^\d{5}$",
        required=False,
        error_messages={"invalid": "Le code postal compte 5 chiffres."},
    )
    commune = CommuneField(label="Commune", required=False)
    email = forms.EmailField(label="E-mail de contact", required=False)
    phone = forms.CharField(label="Téléphone", max_length=30, required=False)
    website = forms.URLField(label="Site web", required=False, assume_scheme="https")
    agreement_reference = forms.CharField(
        label="Référence de la convention de facilitation", max_length=100, required=False
    )
    agreement_start = FrenchDateField(label="Début de la convention", required=False)
    agreement_end = FrenchDateField(label="Fin de la convention", required=False)

    def __init__(self, *args, facilitator, instance=None, **kwargs):
        self.facilitator = facilitator
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            link = Partnership.objects.filter(facilitator=facilitator, partner=instance).first()
            kwargs["initial"] = {
                "name": instance.name,
                "siret": instance.siret,
                "category": instance.category.code if instance.category_id else None,
                "address": instance.address,
                "postal_code": instance.postal_code,
                "commune": instance.commune,
                "email": instance.email,
                "phone": instance.phone,
                "website": instance.website,
                "agreement_reference": link.agreement_reference if link else "",
                "agreement_start": link.start_date if link else None,
                "agreement_end": link.end_date if link else None,
            }
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = OrganizationCategory.objects.active().filter(
            kind=OrganizationKind.BUYER
        )

    def clean_siret(self):
        siret = self.cleaned_data["siret"]
        if not siret:
            return siret
        others = Organization.objects.filter(kind=OrganizationKind.BUYER, siret=siret)
        if self.instance is not None:
            if others.exclude(pk=self.instance.pk).exists():
                raise ValidationError("Un autre donneur d'ordre porte déjà ce SIRET.")
        elif others.filter(partnerships__facilitator=self.facilitator).exists():
            raise ValidationError("Ce donneur d'ordre fait déjà partie de vos partenaires.")
        return siret

    def clean(self):
        super().clean()
        check_dates(self, "agreement_start", "agreement_end")
        return self.cleaned_data


# --- Operations and markets ---------------------------------------------------------------------


class OperationForm(DsfrModelForm):
    buyer = UuidModelChoiceField(Organization.objects.none(), label="Donneur d'ordre")
    commune = CommuneField(label="Commune", required=False)

    class Meta:
        model = Operation
        fields = ["name", "buyer", "kind", "commune", "description", "start_date", "end_date"]
        field_classes = {"start_date": FrenchDateField, "end_date": FrenchDateField}
        widgets = {
            "start_date": FrenchDateInput,
            "end_date": FrenchDateInput,
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buyer"].queryset = buyers_of(user)

    def clean(self):
        super().clean()
        check_dates(self)
        return self.cleaned_data


class MarketForm(DsfrModelForm):
    buyer = UuidModelChoiceField(Organization.objects.none(), label="Donneur d'ordre")
    operation = UuidModelChoiceField(
        Operation.objects.none(), label="Opération", required=False, empty_label="— Aucune —"
    )

    class Meta:
        model = Market
        fields = [
            "reference",
            "title",
            "buyer",
            "operation",
            "family",
            "procedure",
            "is_framework",
            "notified_on",
            "start_date",
            "end_date",
            "amount_ht",
            "social_consideration",
        ]
        field_classes = {
            "notified_on": FrenchDateField,
            "start_date": FrenchDateField,
            "end_date": FrenchDateField,
            "amount_ht": FrenchDecimalField,
        }
        widgets = {"title": forms.TextInput}

    def __init__(self, *args, user, facilitator, **kwargs):
        super().__init__(*args, **kwargs)
        self.facilitator = facilitator
        self.fields["buyer"].queryset = buyers_of(user)
        self.fields["operation"].queryset = Operation.objects.visible_to(user).select_related("buyer")
        self.fields["amount_ht"].help_text = "En euros HT, ex. : 1 250 000,00"

    def clean(self):
        super().clean()
        check_dates(self)
        data = self.cleaned_data
        buyer, operation = data.get("buyer"), data.get("operation")
        if buyer and operation and operation.buyer_id != buyer.pk:
            self.add_error("operation", "Cette opération relève d'un autre donneur d'ordre.")
        if buyer and data.get("reference"):
            duplicates = Market.objects.filter(
                facilitator=self.facilitator, buyer=buyer, reference=data["reference"]
            ).exclude(pk=self.instance.pk)
            if duplicates.exists():
                self.add_error("reference", "Ce donneur d'ordre a déjà un marché portant ce numéro.")
        return data


class LotForm(DsfrModelForm):
    family = forms.ModelChoiceField(
        LotFamily.objects.none(),
        label="Famille de lot",
        required=False,
        empty_label="— Choisir —",
        to_field_name="code",
    )

    class Meta:
        model = Lot
        fields = ["number", "title", "family", "amount_ht", "start_date", "end_date"]
        field_classes = {
            "start_date": FrenchDateField,
            "end_date": FrenchDateField,
            "amount_ht": FrenchDecimalField,
        }
        widgets = {"title": forms.TextInput}

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, **kwargs)
        self.market = market
        self.fields["family"].queryset = LotFamily.objects.active()
        self.fields[
            "family"
        ].help_text = "Elle donne la part de main-d'œuvre par défaut du calcul des heures."

    def clean(self):
        super().clean()
        check_dates(self)
        number = self.cleaned_data.get("number")
        if (
            number
            and Lot.objects.filter(market=self.market, number=number).exclude(pk=self.instance.pk).exists()
        ):
            self.add_error("number", "Ce marché a déjà un lot portant ce numéro.")
        return self.cleaned_data


class ClauseForm(DsfrModelForm):
    legal_basis = forms.ModelChoiceField(
        LegalBasis.objects.none(), label="Base juridique", empty_label="— Choisir —", to_field_name="code"
    )
    hours_target = FrenchDecimalField(
        label="Heures d'insertion prévues",
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text="Laissez vide avec le mode « Calcul » : les heures sont calculées.",
    )

    class Meta:
        model = Clause
        fields = [
            "legal_basis",
            "method",
            "hours_target",
            "amount_ht",
            "labour_share",
            "insertion_rate",
            "hourly_cost",
            "eligible_publics",
            "notes",
        ]
        field_classes = {
            "amount_ht": FrenchDecimalField,
            "labour_share": RateField,
            "insertion_rate": RateField,
            "hourly_cost": FrenchDecimalField,
        }
        widgets = {
            "eligible_publics": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, lot, **kwargs):
        super().__init__(*args, **kwargs)
        self.lot = lot
        # Every text, old ones included: a market keeps the legal basis of its date.
        self.fields["legal_basis"].queryset = LegalBasis.objects.filter(
            Q(is_active=True) | Q(pk=self.instance.legal_basis_id)
        ).order_by(F("replaced_by_id").asc(nulls_first=True), "order", "code")
        share = default_labour_share(lot)
        self.fields["labour_share"].help_text = (
            f"Vide : la part de la famille du lot ({fr_percent(share)})."
            if share is not None
            else "Le lot n'a pas de famille : indiquez la part de main-d'œuvre."
        )
        cost = default_hourly_cost(lot, datetime.date.today())
        self.fields["hourly_cost"].help_text = (
            f"En euros. Vide : votre coût horaire en vigueur ({fr_money(cost)})."
            if cost
            else "En euros, ex. : 30"
        )
        self.fields["amount_ht"].help_text = (
            f"Vide : le montant du lot ({fr_money(lot.amount_ht)})." if lot.amount_ht else "En euros HT."
        )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if self.errors or not data.get("method"):
            return data
        try:
            sizing = size_clause(
                lot=self.lot,
                method=data["method"],
                hours_target=data.get("hours_target"),
                amount_ht=data.get("amount_ht"),
                labour_share=data.get("labour_share"),
                insertion_rate=data.get("insertion_rate"),
                hourly_cost=data.get("hourly_cost"),
            )
        except ValidationError as error:
            self.add_error(None, error)
            return data
        data.update(sizing)
        return data
