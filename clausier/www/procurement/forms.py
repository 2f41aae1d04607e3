"""Forms of the facilitator UI. They parse and validate; writes go through the domain actions."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F

from clausier.organizations.models import Organization, OrganizationKind, Partnership
from clausier.procurement.actions import (
    SIZING_PARAMETERS,
    compute_sizing,
    default_hourly_cost,
    default_labour_share,
    lot_months,
    market_day,
    selectable_legal_bases,
    size_clause,
    typed_target,
)
from clausier.procurement.models import Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis, LotFamily, OrganizationCategory
from clausier.reporting.indicators import overlapping
from clausier.utils.formatting import fr_money, fr_percent
from clausier.www.kit.fields import (
    CommuneField,
    FrenchDateField,
    FrenchDecimalField,
    RateField,
    SiretField,
    estimated_total_hours_field,
    months_field,
    transferred_monthly_hours_field,
)
from clausier.www.kit.filters import year_field
from clausier.www.kit.forms import (
    DsfrModelForm,
    UuidModelChoiceField,
    buyers_of,
    check_dates,
)
from clausier.www.kit.lists import ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin
from clausier.www.partners.forms import OrganizationFilterForm

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
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

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
        help_texts = {
            "procedure": "MAPA : marché à procédure adaptée (sous les seuils européens).",
            "is_framework": "Un accord-cadre s'exécute par bons de commande ou marchés subséquents.",
            "notified_on": "Date de notification au titulaire : les clauses de ses lots se voient proposer "
            "les bases juridiques en vigueur à cette date.",
            "social_consideration": "Telle que publiée dans les DECP (données essentielles de la commande "
            "publique, les données ouvertes des marchés publics).",
        }

    def __init__(self, *args, user, facilitator, **kwargs):
        super().__init__(*args, **kwargs)
        self.facilitator = facilitator
        self.fields["buyer"].queryset = buyers_of(user)
        self.fields["operation"].queryset = Operation.objects.visible_to(user).select_related("buyer")
        self.fields["amount_ht"].help_text = "En euros hors taxes (HT), ex. : 1 250 000,00"

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


# The legal basis proposed for a new clause: the classic hours clause as an execution condition (or the text
# it replaced, for a market of before 1 April 2019).
DEFAULT_LEGAL_BASIS = "ccp_l2112_2"
LEGAL_BASIS_HELP = (
    "Textes en vigueur en premier. Un texte abrogé n'est proposé que pour un marché antérieur à son "
    "abrogation (date de notification du marché, ou de début d'exécution{date}). CCP : Code de la commande "
    "publique (depuis le 1er avril 2019) ; CMP : ancien Code des marchés publics (2006) ; SIAE : structures "
    "d'insertion par l'activité économique ; EA : entreprises adaptées ; ESAT : établissements et services "
    "d'aide par le travail."
)
# Sizing mode → the parameter fields it shows, in the order of the page (those of the other modes are neither
# shown, nor validated, nor saved: `size_clause` empties them).
MODE_PARAMETERS = {method: SIZING_PARAMETERS[method] for method in Clause.Method.values}
MODE_HINTS = {
    Clause.Method.FORMULA: "Heures = montant HT × part de main-d'œuvre × taux d'insertion ÷ coût horaire, "
    "arrondi à l'heure inférieure.",
    Clause.Method.CLEANING: "Méthode propreté avec reprise de personnel : chiffre d'affaires (A), durée (N), "
    "heures mensuelles du personnel repris (S), taux (T) et coût horaire (C, 25 € par défaut).",
    Clause.Method.PERCENT_OF_HOURS: "Heures = heures travaillées estimées sur le marché × taux d'insertion.",
    Clause.Method.FIXED: "Aucun calcul : saisissez ci-dessous le nombre d'heures d'insertion retenu.",
}


class ClauseForm(DsfrModelForm):
    """The lot's clause. Parsing and validation only; `size_clause` computes, `set_clause` writes.

    Only the fields of the chosen sizing mode (`self.mode`) are shown and read: the posted values of the other
    modes are set aside in `self.carried` (written back as hidden inputs, so that going back to a mode finds
    its values), never validated nor saved.

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
    MODE_INPUTS = SIZING_INPUTS[1:]

    legal_basis = forms.ModelChoiceField(
        LegalBasis.objects.none(), label="Base juridique", empty_label="— Choisir —", to_field_name="code"
    )
    hours_target = FrenchDecimalField(
        label="Heures d'insertion retenues",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Laissez vide pour retenir le calcul ; un autre nombre demande un motif.",
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
            "method": forms.RadioSelect,
            "override_reason": forms.Textarea(attrs={"rows": 2}),
            "eligible_publics": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "eligible_publics": "Ex. : demandeurs d'emploi de longue durée, allocataires du RSA (revenu de "
            "solidarité active), travailleurs handicapés (RQTH : reconnaissance de la qualité de travailleur "
            "handicapé), jeunes de moins de 26 ans sans qualification, habitants d'un QPV (quartier "
            "prioritaire de la politique de la ville).",
        }

    def __init__(self, data=None, *args, lot, **kwargs):
        instance = kwargs.get("instance")
        given_initial = dict(kwargs.get("initial") or {})
        chosen = data.get("method") if data is not None else given_initial.get("method")
        if chosen is None and instance is not None:
            chosen = instance.method
        self.mode = chosen if chosen in Clause.Method.values else Clause.Method.FORMULA
        self.carried = {}
        if data is not None:
            self.carried = {n: data.get(n) for n in self.inactive_inputs if data.get(n) not in (None, "")}
            data = data.copy()
            for name in self.inactive_inputs:
                data.pop(name, None)
        if instance is not None and instance.pk and typed_target(instance, lot) is None:
            # Retained = computed: leave the field empty, so that changing a parameter recomputes.
            kwargs["initial"] = {"hours_target": None, **given_initial}
        super().__init__(data, *args, **kwargs)
        # The parent's __init__ puts the saved relations over the initial values: a form re-shown for another
        # mode (the view passes the posted values as initial) keeps the legal basis chosen on the page.
        self.initial.update(given_initial)
        self.lot = lot
        self.sizing = None
        if not self.is_bound:
            for name in self.inactive_inputs:
                value = self[name].value()
                if value not in (None, ""):
                    self.carried[name] = self.fields[name].prepare_value(value)
        self._set_legal_bases(lot)
        self._describe_mode_fields(lot)

    @property
    def active_inputs(self) -> tuple[str, ...]:
        """The fields of the chosen mode, in the order of the page."""
        if self.mode == Clause.Method.FIXED:
            return ("hours_target",)
        return (*MODE_PARAMETERS[self.mode], "hours_target", "override_reason")

    @property
    def inactive_inputs(self) -> list[str]:
        return [name for name in self.MODE_INPUTS if name not in self.active_inputs]

    @property
    def parameter_fields(self):
        return [self[name] for name in MODE_PARAMETERS[self.mode]]

    @property
    def hours_fields(self):
        return [self[name] for name in self.active_inputs if name in ("hours_target", "override_reason")]

    @property
    def mode_label(self) -> str:
        return Clause.Method(self.mode).label

    @property
    def mode_hint(self) -> str:
        return MODE_HINTS[self.mode]

    def _set_legal_bases(self, lot):
        """The selectable texts (`selectable_legal_bases`), those in force first."""
        day, today = market_day(lot.market), datetime.date.today()
        bases = selectable_legal_bases(lot, self.instance if self.instance.pk else None).order_by(
            F("in_force_until").desc(nulls_first=True), "order", "code"
        )
        field = self.fields["legal_basis"]
        field.queryset = bases
        field.label_from_instance = lambda basis: (
            f"{basis} (abrogé)" if basis.in_force_until and basis.in_force_until < today else str(basis)
        )
        field.help_text = LEGAL_BASIS_HELP.format(
            date=f" : le {day:%d/%m/%Y}" if lot.market.notified_on or lot.market.start_date else " : aucune"
        )
        if self.instance.legal_basis_id is None and self.initial.get("legal_basis") in (None, ""):
            default = self._default_legal_basis(list(bases), day)
            if default is not None:
                self.initial["legal_basis"] = default

    @staticmethod
    def _default_legal_basis(bases, day):
        """The execution condition in force on the market's date (L2112-2, or the text it replaced)."""
        by_pk = {basis.pk: basis for basis in bases}

        def current(basis):  # LegalBasis.current() without a query per step
            while basis.replaced_by_id in by_pk:
                basis = by_pk[basis.replaced_by_id]
            return basis

        lineage = [basis for basis in bases if current(basis).code == DEFAULT_LEGAL_BASIS]
        for basis in lineage:
            if (basis.in_force_from is None or basis.in_force_from <= day) and (
                basis.in_force_until is None or day <= basis.in_force_until
            ):
                return basis
        return next((basis for basis in lineage if basis.code == DEFAULT_LEGAL_BASIS), None)

    def _describe_mode_fields(self, lot):
        cleaning = self.mode == Clause.Method.CLEANING
        share = default_labour_share(lot)
        self.fields["labour_share"].help_text = (
            f"Vide : la part de la famille du lot ({fr_percent(share)})."
            if share is not None
            else "Le lot n'a pas de famille : indiquez la part de main-d'œuvre, ex. : 50."
        )
        self.fields["insertion_rate"].help_text = (
            "Part des heures travaillées réservée à l'insertion, ex. : 5 ou 5,5."
            if self.mode == Clause.Method.PERCENT_OF_HOURS
            else "Part des heures de main-d'œuvre réservée à l'insertion (T), le plus souvent 5 à 10, "
            "ex. : 5 ou 5,5."
            if cleaning
            else "Part des heures de main-d'œuvre réservée à l'insertion, le plus souvent 5 à 10, ex. : 5 ou 5,5."
        )
        cost = default_hourly_cost(lot, datetime.date.today())
        if cleaning:
            self.fields[
                "hourly_cost"
            ].help_text = "En euros. Vide : 25 € (C), la valeur de la méthode propreté."
        else:
            self.fields["hourly_cost"].help_text = (
                f"En euros. Vide : votre coût horaire en vigueur ({fr_money(cost)})."
                if cost
                else "En euros, ex. : 30."
            )
        self.fields["amount_ht"].label = (
            "Chiffre d'affaires du marché hors taxes (A, en €)"
            if cleaning
            else "Montant hors taxes retenu (€)"
        )
        self.fields["amount_ht"].help_text = (
            f"HT : hors taxes. Vide : le montant du lot ({fr_money(lot.amount_ht)})."
            if lot.amount_ht
            else "HT : hors taxes, en euros."
        )
        months = lot_months(lot)
        if months:
            self.fields["months"].help_text = f"Vide : la durée du lot ({months} mois)."
        hours = self.fields["hours_target"]
        if self.mode == Clause.Method.FIXED:
            hours.label = "Nombre d'heures d'insertion"
            hours.required = True
            hours.error_messages["required"] = "Indiquez le nombre d'heures d'insertion prévues."
            hours.help_text = "Le nombre d'heures retenu, sans calcul, ex. : 1 000."
        self.fields["override_reason"].label = "Motif de la modification manuelle"
        self.fields["override_reason"].help_text = "Obligatoire si les heures retenues diffèrent du calcul."

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
        inputs = {name: data.get(name) for name in self.MODE_INPUTS}
        try:
            _used, self.sizing = compute_sizing(lot=self.lot, method=data["method"], **inputs)
            data.update(size_clause(lot=self.lot, method=data["method"], **inputs))
        except ValidationError as error:
            self.add_error(None, error)
        return data


# --- The lists' filters -------------------------------------------------------------------------


class BuyerFilterForm(OrganizationFilterForm):
    kind = OrganizationKind.BUYER


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
