"""Forms of the clauses area: sizing parameters, notification days, counting-rule versions, placing a participant
on a lot.

They parse and validate; writes go through the actions (`procurement.parameters`, `employment.parameters`,
`notifications.actions.set_notification_days`, `employment.actions.create_contract`). Every choice is scoped to the current facilitator: a uuid of another
facilitator posted by hand is an invalid choice, never a 500.
"""

import re

from django import forms
from django.db.models import Q
from dsfr.utils import dsfr_input_class_attr

from clausier.notifications.actions import (
    DUE_DAY_ERROR,
    ELIGIBILITY_EXPIRING_DAYS,
    EXPIRING_DAYS_ERROR,
    OVERDUE_DAY_ERROR,
    STATEMENT_DUE_DAY,
    STATEMENT_OVERDUE_DAY,
)
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.models import Participant
from clausier.procurement.models import Award, Lot
from clausier.procurement.parameters import (
    ELIGIBILITY_VALIDITY_MONTHS,
    FTE_HOURS,
    FTE_RANGE_ERROR,
    VALIDITY_RANGE_ERROR,
    families,
    sizing_parameters,
)
from clausier.reference.models import ContractType, LotFamily, Modality
from clausier.www.kit.fields import FrenchDateField, FrenchDecimalField, FrenchIntegerField, RateField
from clausier.www.kit.forms import DATES_ORDER_ERROR, UuidModelChoiceField
from clausier.www.kit.mixins import DsfrFormMixin

INVALID_CHOICE = "Choix invalide : cette valeur ne fait pas partie des choix proposés."


class CodeChoiceField(forms.ModelChoiceField):
    """Reference data addressed by its code."""

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("empty_label", "— Choisir —")
        kwargs.setdefault("error_messages", {"invalid_choice": INVALID_CHOICE})
        super().__init__(queryset, **kwargs)


class ScopedChoiceField(UuidModelChoiceField):
    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": INVALID_CHOICE})
        super().__init__(queryset, **kwargs)


# --- Sizing parameters --------------------------------------------------------------------------


class LabourSharesForm(DsfrFormMixin, forms.Form):
    """One rate per family of lots, pre-filled with the facilitator's values (else the reference ones)."""

    def __init__(self, *args, facilitator, **kwargs):
        self.rows = sizing_parameters(facilitator).shares
        initial = {f"share_{row.family.code}": row.share for row in self.rows}
        super().__init__(*args, initial={**initial, **kwargs.pop("initial", {})}, **kwargs)
        for row in self.rows:
            field = RateField(
                label=str(row.family),
                help_text=f"Valeur de référence : {row.family.default_labour_share * 100:.0f} %.",
            )
            self.fields[f"share_{row.family.code}"] = field
        # Fields added after the mixin's __init__: give them the DSFR classes too.
        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)

    def shares(self) -> dict:
        return {row.family: self.cleaned_data[f"share_{row.family.code}"] for row in self.rows}


class HourlyCostForm(DsfrFormMixin, forms.Form):
    family = CodeChoiceField(
        LotFamily.objects.none(),
        label="Famille de lots",
        required=False,
        empty_label="Toutes les familles (coût général)",
        help_text="Un coût propre à une famille l'emporte sur le coût général.",
    )
    amount = FrenchDecimalField(
        label="Coût horaire (€)",
        min_value=0.01,
        max_digits=8,
        decimal_places=2,
        help_text="En euros, ex. : 30",
    )
    valid_from = FrenchDateField(label="Applicable à partir du")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].queryset = families()


class ThresholdsForm(DsfrFormMixin, forms.Form):
    minimum_clause_hours = forms.IntegerField(
        label="Seuil en dessous duquel une clause est déconseillée (heures)",
        min_value=0,
        max_value=1_000_000,
        help_text="Le formulaire de la clause avertit sous ce seuil (150 h par défaut).",
    )
    max_monthly_hours = FrenchDecimalField(
        label="Maximum plausible d'heures par contrat et par mois",
        min_value=1,
        max_value=744,
        max_digits=6,
        decimal_places=2,
        help_text="Au-delà, la saisie des heures est refusée (220 h par défaut).",
    )


def bounded_integer(label: str, bounds: tuple[int, int], range_error: str, help_text: str):
    """A whole number within `bounds`, with the action's French message (spaces in "1 600" are accepted)."""
    return FrenchIntegerField(
        label=label,
        min_value=bounds[0],
        max_value=bounds[1],
        help_text=help_text,
        error_messages={
            "required": "Ce champ est obligatoire.",
            "invalid": "Saisissez un nombre entier.",
            "min_value": range_error,
            "max_value": range_error,
        },
    )


class EligibilityFteForm(DsfrFormMixin, forms.Form):
    eligibility_validity_months = bounded_integer(
        "Durée de validité d'une éligibilité (mois)",
        ELIGIBILITY_VALIDITY_MONTHS,
        VALIDITY_RANGE_ERROR,
        "Fin de validité proposée à chaque nouvelle validation (24 mois par défaut) ; "
        "les validations déjà enregistrées gardent la leur.",
    )
    fte_hours = bounded_integer(
        "Heures d'un équivalent temps plein (ETP)",
        FTE_HOURS,
        FTE_RANGE_ERROR,
        "Les ETP des tableaux de bord et des bilans = heures réalisées ÷ ce nombre (1 600 h par défaut).",
    )


class NotificationDaysForm(DsfrFormMixin, forms.Form):
    """When `clausier notify-due` writes (the overdue day after the due day: checked by the action)."""

    statement_due_day = bounded_integer(
        "Jour du mois où le relevé d'heures du mois précédent est demandé",
        STATEMENT_DUE_DAY,
        DUE_DAY_ERROR,
        "À partir de ce jour, les employeurs dont le relevé manque reçoivent une relance (le 1er par défaut).",
    )
    statement_overdue_day = bounded_integer(
        "Jour du mois où le relevé d'heures est en retard",
        STATEMENT_OVERDUE_DAY,
        OVERDUE_DAY_ERROR,
        "À partir de ce jour, la relance devient « en retard » (le 10 par défaut).",
    )
    eligibility_expiring_days = bounded_integer(
        "Préavis avant la fin d'une éligibilité (jours)",
        ELIGIBILITY_EXPIRING_DAYS,
        EXPIRING_DAYS_ERROR,
        "L'équipe est prévenue des validations d'éligibilité qui prennent fin dans ce nombre de jours "
        "(30 par défaut).",
    )


class CountingRuleForm(DsfrFormMixin, forms.Form):
    modality = CodeChoiceField(
        Modality.objects.none(), label="Modalité", required=False, empty_label="Toutes les modalités"
    )
    contract_type = CodeChoiceField(
        ContractType.objects.none(),
        label="Type de contrat",
        required=False,
        empty_label="Tous les types de contrat",
    )
    coefficient = FrenchDecimalField(
        label="Coefficient",
        min_value=0,
        max_value=99,
        max_digits=4,
        decimal_places=2,
        help_text="1 : une heure travaillée compte pour une heure ; 0,5 : pour une demi-heure.",
    )
    count_training = forms.BooleanField(label="Les heures de formation comptent", required=False)
    months_after_market_end = forms.IntegerField(
        label="Mois comptés après la fin du marché", min_value=0, max_value=120
    )
    valid_from = FrenchDateField(label="Applicable à partir du")
    note = forms.CharField(label="Commentaire", max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].queryset = Modality.objects.active()
        self.fields["contract_type"].queryset = ContractType.objects.active()


# --- Contracts ----------------------------------------------------------------------------------


class ContractForm(DsfrFormMixin, forms.Form):
    """Place a participant on a lot: one of them is fixed by the page (participant or lot page)."""

    participant = ScopedChoiceField(Participant.objects.none(), label="Participant")
    lot = ScopedChoiceField(
        Lot.objects.none(), label="Lot", help_text="Les lots de vos marchés qui ont une clause."
    )
    company = ScopedChoiceField(
        Organization.objects.none(),
        label="Entreprise attributaire",
        help_text="L'entreprise dont l'obligation est remplie par ce contrat.",
    )
    employer = ScopedChoiceField(
        Organization.objects.none(),
        label="Employeur",
        required=False,
        empty_label="L'entreprise attributaire elle-même",
        help_text="Une structure d'insertion pour une mise à disposition ou une sous-traitance.",
    )
    modality = CodeChoiceField(Modality.objects.none(), label="Modalité")
    contract_type = CodeChoiceField(ContractType.objects.none(), label="Type de contrat")
    rome_code = forms.CharField(
        label="Métier (code ROME)",
        required=False,
        max_length=5,
        help_text="Une lettre et quatre chiffres, ex. : F1703",
    )
    job_title = forms.CharField(label="Intitulé du poste", required=False, max_length=200)
    start_date = FrenchDateField(label="Date de début")
    end_date = FrenchDateField(label="Date de fin", required=False)
    weekly_hours = FrenchDecimalField(
        label="Durée hebdomadaire (heures)",
        required=False,
        min_value=0,
        max_value=48,
        max_digits=5,
        decimal_places=2,
        help_text="Entre 0 et 48 h, ex. : 35",
    )
    override_reason = forms.CharField(
        label="Motif de la dérogation",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Seulement si l'éligibilité de la personne n'est pas valide à la date de début.",
    )

    def __init__(self, *args, facilitator, participant=None, lot=None, is_admin=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.facilitator, self.fixed_participant, self.fixed_lot = facilitator, participant, lot
        if participant is not None:
            del self.fields["participant"]
        else:
            self.fields["participant"].queryset = (
                Participant.objects.filter(facilitator=facilitator)
                .active_records()
                .order_by("last_name", "first_name")
            )
        lots = (
            Lot.objects.filter(facilitator=facilitator, clause__isnull=False)
            .select_related("market")
            .order_by("market__reference", "number")
        )
        if lot is not None:
            del self.fields["lot"]
            awards = Award.objects.filter(lot=lot)
        else:
            self.fields["lot"].queryset = lots
            self.fields["lot"].label_from_instance = lambda o: (
                f"{o.market.reference} — lot {o.number} : {o.title}"
            )
            awards = Award.objects.filter(lot__in=lots)
        companies = Organization.objects.filter(
            kind=OrganizationKind.COMPANY, pk__in=awards.values("company_id")
        ).order_by("name")
        self.fields["company"].queryset = companies
        self.fields["employer"].queryset = (
            Organization.objects.filter(
                Q(pk__in=companies.values("pk"))
                | Q(kind=OrganizationKind.INSERTION_STRUCTURE, partnerships__facilitator=facilitator)
            )
            .distinct()
            .order_by("kind", "name")
        )
        self.fields["modality"].queryset = Modality.objects.active()
        self.fields["contract_type"].queryset = ContractType.objects.active()
        if not is_admin:
            del self.fields["override_reason"]

    @property
    def chosen_participant(self):
        return self.fixed_participant or self.cleaned_data.get("participant")

    @property
    def chosen_lot(self):
        return self.fixed_lot or self.cleaned_data.get("lot")

    def clean_rome_code(self):
        code = self.cleaned_data["rome_code"].strip().upper()
        if code and not re.fullmatch(r"[A-N]\d{4}", code):
            raise forms.ValidationError("Le code ROME compte une lettre et quatre chiffres, ex. : F1703.")
        return code

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", DATES_ORDER_ERROR)
        lot, company = self.chosen_lot, data.get("company")
        if (
            lot is not None
            and company is not None
            and not Award.objects.filter(lot=lot, company=company).exists()
        ):
            self.add_error("company", f"{company} n'est pas attributaire de ce lot.")
        employer = data.get("employer")
        if (
            employer is not None
            and company is not None
            and employer.kind == OrganizationKind.COMPANY
            and employer.pk != company.pk
        ):
            self.add_error(
                "employer", "L'employeur est l'entreprise attributaire ou une structure d'insertion."
            )
        return data

    def action_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "participant": self.chosen_participant,
            "lot": self.chosen_lot,
            "company": data["company"],
            "employer": data.get("employer") or data["company"],
            "modality": data["modality"],
            "contract_type": data["contract_type"],
            "start_date": data["start_date"],
            "end_date": data.get("end_date"),
            "weekly_hours": data.get("weekly_hours"),
            "rome_code": data.get("rome_code", ""),
            "job_title": data.get("job_title", ""),
            "override_reason": data.get("override_reason", ""),
        }
