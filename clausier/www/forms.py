"""Forms of the facilitator UI. They parse and validate; writes go through the domain actions."""

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q

from clausier.organizations.access import organizations_visible_to
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement.actions import (
    SIZING_PARAMETERS,
    compute_sizing,
    default_hourly_cost,
    default_labour_share,
    lot_months,
    size_clause,
)
from clausier.procurement.models import Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis, LotFamily, OrganizationCategory
from clausier.www.fields import (
    CommuneField,
    FrenchDateField,
    FrenchDateInput,
    FrenchDecimalField,
    RateField,
    SiretField,
    estimated_total_hours_field,
    months_field,
    transferred_monthly_hours_field,
)
from clausier.www.formatting import fr_money, fr_percent
from clausier.www.mixins import DsfrFormMixin
from clausier.www.widgets import QuickSelect

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
    """The lot's clause. Parsing and validation only; `size_clause` computes, `set_clause` writes.

    After `is_valid()` (even with errors elsewhere), `self.sizing` holds the computed `sizing.Sizing` when the
    parameters allow it: the page shows its steps, the htmx partial too.
    """

    SIZING_INPUTS = (
        "method",
        "hours_target",
        "amount_ht",
        "labour_share",
        "insertion_rate",
        "hourly_cost",
        "months",
        "transferred_monthly_hours",
        "estimated_total_hours",
        "override_reason",
    )

    legal_basis = forms.ModelChoiceField(
        LegalBasis.objects.none(), label="Base juridique", empty_label="— Choisir —", to_field_name="code"
    )
    hours_target = FrenchDecimalField(
        label="Heures d'insertion retenues",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Mode « Nombre d'heures fixé » : le nombre d'heures. Autres modes : laissez vide pour "
        "retenir le calcul ; un autre nombre demande un motif.",
    )
    months = months_field()
    transferred_monthly_hours = transferred_monthly_hours_field()
    estimated_total_hours = estimated_total_hours_field()

    class Meta:
        model = Clause
        fields = [
            "legal_basis",
            "method",
            "amount_ht",
            "labour_share",
            "insertion_rate",
            "hourly_cost",
            "months",
            "transferred_monthly_hours",
            "estimated_total_hours",
            "hours_target",
            "override_reason",
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
            "override_reason": forms.Textarea(attrs={"rows": 2}),
            "eligible_publics": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, lot, **kwargs):
        instance = kwargs.get("instance")
        if (
            instance is not None
            and instance.pk
            and instance.method != Clause.Method.FIXED
            and instance.hours_target == self._computed_hours(instance, lot)
        ):
            # Retained = computed: leave the field empty, so that changing a parameter recomputes.
            kwargs["initial"] = {"hours_target": None, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.lot = lot
        self.sizing = None
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
        self.fields["insertion_rate"].help_text = (
            "En pourcentage (« 5 % », « 5 » ou « 0,05 ») : des heures de main-d'œuvre (calcul, propreté) "
            "ou des heures travaillées (pourcentage)."
        )
        cost = default_hourly_cost(lot, datetime.date.today())
        self.fields["hourly_cost"].help_text = (
            f"En euros. Vide : votre coût horaire en vigueur ({fr_money(cost)}) ; 25 € (C) en propreté."
            if cost
            else "En euros, ex. : 30. Vide en propreté : 25 € (C)."
        )
        self.fields["amount_ht"].label = "Montant HT retenu (€) — A en propreté"
        self.fields["amount_ht"].help_text = (
            f"Vide : le montant du lot ({fr_money(lot.amount_ht)})." if lot.amount_ht else "En euros HT."
        )
        months = lot_months(lot)
        if months:
            self.fields["months"].help_text = f"Vide : la durée du lot ({months} mois)."
        self.fields["override_reason"].label = "Motif de la modification manuelle"
        self.fields["override_reason"].help_text = "Obligatoire si les heures retenues diffèrent du calcul."

    @staticmethod
    def _computed_hours(clause, lot):
        """The hours computed when the clause was sized (older clauses: recomputed from their parameters)."""
        if clause.computed_hours is not None:
            return clause.computed_hours
        parameters = {name: getattr(clause, name) for name in SIZING_PARAMETERS.get(clause.method, ())}
        try:
            return Decimal(compute_sizing(lot=lot, method=clause.method, **parameters)[1].hours)
        except ValidationError:
            return None

    def sizing_errors(self) -> list[str]:
        """The errors about the calculation (for the partial): those of its fields and the form's own."""
        messages = list(self.non_field_errors())
        for name in self.SIZING_INPUTS:
            messages += [f"{self.fields[name].label} : {e}" for e in self.errors.get(name, [])]
        return messages

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if any(name in self.errors for name in self.SIZING_INPUTS) or not data.get("method"):
            return data
        inputs = {name: data.get(name) for name in self.SIZING_INPUTS if name != "method"}
        try:
            _used, self.sizing = compute_sizing(lot=self.lot, method=data["method"], **inputs)
            data.update(size_clause(lot=self.lot, method=data["method"], **inputs))
        except ValidationError as error:
            self.add_error(None, error)
        return data
