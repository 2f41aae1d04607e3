"""Forms of the participants area: the participant file, eligibility assessments, merging, QPV override.

They parse and validate; writes go through `clausier.participants.actions`. Every choice is scoped to the
current facilitator (a prescriber of another facilitator posted by hand is an invalid choice).
"""

import datetime

from django import forms
from django.utils import timezone
from dsfr.utils import dsfr_input_class_attr

from clausier.geo.models import Commune
from clausier.organizations.models import Organization, OrganizationKind
from clausier.participants.actions import CriterionLine, default_valid_until
from clausier.participants.models import AssessmentCriterion, Participant, Sex
from clausier.procurement.models import Market
from clausier.reference.models import ContractType, EligibilityCriterion, Modality, QualificationLevel
from clausier.reporting.indicators import overlapping
from clausier.www.clauses.forms import CodeChoiceField, ScopedChoiceField
from clausier.www.kit.fields import CommuneField, FrenchDateField
from clausier.www.kit.filters import year_field
from clausier.www.kit.forms import UuidModelChoiceField, buyers_of
from clausier.www.kit.lists import ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin

REQUIRED = "Ce champ est obligatoire."


def prescribers_of(facilitator):
    """The prescribers partners of `facilitator`."""
    return Organization.objects.filter(
        kind=OrganizationKind.PRESCRIBER, partnerships__facilitator=facilitator
    ).order_by("name")


def _situation_choices():
    return [("", "— Choisir —"), *Participant._meta.get_field("situation_at_entry").choices]


class IdentityForm(forms.Form):
    """A person's identity and contact details, first in the participant file and in a prescriber's candidacy
    (`forms_matching.CandidacyForm`), with the same fields, checks and messages."""

    first_name = forms.CharField(label="Prénom", max_length=120)
    last_name = forms.CharField(label="Nom d'usage", max_length=120)
    birth_name = forms.CharField(
        label="Nom de naissance", max_length=120, required=False, help_text="S'il diffère du nom d'usage."
    )
    birth_date = FrenchDateField(label="Date de naissance")
    sex = forms.ChoiceField(label="Sexe", choices=[("", "— Choisir —"), *Sex.choices])
    email = forms.EmailField(label="E-mail", required=False)
    phone = forms.CharField(label="Téléphone", max_length=30, required=False)
    address = forms.CharField(label="Adresse", max_length=255, required=False)
    postal_code = forms.RegexField(
        label="Code postal",
        regex=r"^\d{5}$",
        required=False,
        error_messages={"invalid": "Le code postal compte 5 chiffres."},
    )
    commune = CommuneField(label="Commune", required=False)

    error_messages_by_field = {
        "first_name": "Indiquez le prénom.",
        "last_name": "Indiquez le nom d'usage.",
        "birth_date": "Indiquez la date de naissance (jj/mm/aaaa).",
        "sex": "Indiquez le sexe.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, message in self.error_messages_by_field.items():
            self.fields[name].error_messages["required"] = message

    @property
    def identity_fields(self):
        return [self[name] for name in ("first_name", "last_name", "birth_name", "birth_date", "sex")]

    @property
    def contact_fields(self):
        return [self[name] for name in ("email", "phone", "address", "postal_code", "commune")]


class ParticipantForm(DsfrFormMixin, IdentityForm):
    """Create or edit a participant. On create, `create_anyway` confirms a record despite possible duplicates."""

    address = forms.CharField(label="Adresse", max_length=255, required=False, help_text="Numéro et voie.")
    qualification_level = CodeChoiceField(
        QualificationLevel.objects.none(), label="Niveau de qualification", required=False
    )
    situation_at_entry = forms.ChoiceField(
        label="Situation à l'entrée", choices=_situation_choices, required=False
    )
    entry_date = FrenchDateField(label="Date d'entrée dans le dispositif", required=False)
    prescriber = ScopedChoiceField(
        Organization.objects.none(), label="Prescripteur", required=False, empty_label="— Aucun —"
    )
    referent = forms.CharField(
        label="Référent", max_length=200, required=False, help_text="Le conseiller qui suit la personne."
    )
    informed_on = FrenchDateField(label="Informé(e) du traitement de ses données le", required=False)
    create_anyway = forms.BooleanField(
        label="Créer quand même",
        required=False,
        help_text="J'ai vérifié : il ne s'agit d'aucune des personnes ci-dessus.",
    )

    def __init__(self, *args, facilitator, instance=None, **kwargs):
        self.facilitator = facilitator
        self.instance = instance
        self.duplicates = []
        if instance is not None:
            given = kwargs.get("initial") or {}
            kwargs["initial"] = {
                name: getattr(instance, name)
                for name in (
                    "first_name",
                    "last_name",
                    "birth_name",
                    "birth_date",
                    "sex",
                    "email",
                    "phone",
                    "address",
                    "postal_code",
                    "commune",
                    "situation_at_entry",
                    "entry_date",
                    "referent",
                    "informed_on",
                )
            }
            kwargs["initial"]["qualification_level"] = (
                instance.qualification_level.code if instance.qualification_level_id else None
            )
            kwargs["initial"]["prescriber"] = instance.prescriber.uuid if instance.prescriber_id else None
            kwargs["initial"].update(given)
        super().__init__(*args, **kwargs)
        if instance is not None:
            del self.fields["create_anyway"]
        self.fields["qualification_level"].queryset = QualificationLevel.objects.active()
        self.fields["prescriber"].queryset = prescribers_of(facilitator)
        self.fields["birth_date"].error_messages["invalid"] = "Date de naissance invalide : jj/mm/aaaa."
        for name in ("entry_date", "informed_on"):
            self.fields[name].error_messages["invalid"] = "Date invalide : jj/mm/aaaa."

    def clean_birth_date(self):
        day = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if day > today:
            raise forms.ValidationError("La date de naissance ne peut pas être dans le futur.")
        if day < datetime.date(today.year - 110, 1, 1):
            raise forms.ValidationError("Date de naissance invraisemblable : vérifiez l'année.")
        return day

    def clean(self):
        super().clean()
        data = self.cleaned_data
        birth, entry = data.get("birth_date"), data.get("entry_date")
        if birth and entry and entry < birth:
            self.add_error("entry_date", "La date d'entrée ne peut pas précéder la date de naissance.")
        if self.instance is None and not self.errors and birth:
            from clausier.participants.duplicates import find_duplicates

            self.duplicates = find_duplicates(
                self.facilitator,
                data["first_name"],
                data["last_name"],
                birth,
                data.get("birth_name", ""),
            )
            if self.duplicates and not data.get("create_anyway"):
                self.add_error(
                    "create_anyway",
                    "Cette personne existe peut-être déjà : vérifiez les fiches proposées, puis cochez "
                    "« Créer quand même » si c'est bien une autre personne.",
                )
        return data

    def action_values(self) -> dict:
        values = dict(self.cleaned_data)
        values.pop("create_anyway", None)
        return values

    @property
    def pathway_fields(self):
        return [
            self[name]
            for name in (
                "qualification_level",
                "situation_at_entry",
                "entry_date",
                "prescriber",
                "referent",
                "informed_on",
            )
        ]


def add_criteria_fields(form) -> list:
    """Add crit_/kind_/date_ fields for every active criterion; return the rows for the template
    (`www/participants/_criteria_table.html`)."""
    form.criteria = list(EligibilityCriterion.objects.active())
    for criterion in form.criteria:
        code = criterion.code
        form.fields[f"crit_{code}"] = forms.BooleanField(label=criterion.label, required=False)
        form.fields[f"kind_{code}"] = forms.ChoiceField(
            label=f"Justificatif — {criterion.label}",
            choices=[("", "— Justificatif —"), *AssessmentCriterion.EvidenceKind.choices],
            required=False,
        )
        form.fields[f"date_{code}"] = FrenchDateField(
            label=f"Date du justificatif — {criterion.label}", required=False, help_text=""
        )
        form.fields[f"date_{code}"].error_messages["invalid"] = "Date invalide : jj/mm/aaaa."
    for visible in form.visible_fields():
        dsfr_input_class_attr(visible)
    form._bound_fields_cache.clear()
    return [
        (c, form[f"crit_{c.code}"], form[f"kind_{c.code}"], form[f"date_{c.code}"]) for c in form.criteria
    ]


def criteria_lines(form, *, assessed_on=None) -> list[CriterionLine]:
    """The criteria ticked in `form` (after `add_criteria_fields`), each with the kind of its evidence
    (required) and its date (not after `assessed_on`, when given)."""
    data, lines = form.cleaned_data, []
    for criterion in form.criteria:
        code = criterion.code
        if not data.get(f"crit_{code}"):
            continue
        kind = data.get(f"kind_{code}")
        if not kind:
            form.add_error(f"kind_{code}", f"Indiquez le justificatif du critère « {criterion.label} ».")
        evidence_date = data.get(f"date_{code}")
        if evidence_date and assessed_on and evidence_date > assessed_on:
            form.add_error(
                f"date_{code}", "La date du justificatif ne peut pas être postérieure à la validation."
            )
        lines.append(CriterionLine(criterion, kind or "", evidence_date))
    return lines


class AssessmentForm(DsfrFormMixin, forms.Form):
    """A new eligibility assessment: one line per criterion (checkbox, kind and date of the evidence)."""

    assessed_on = FrenchDateField(label="Date de validation")
    valid_until = FrenchDateField(label="Valable jusqu'au", required=False)
    prescriber = ScopedChoiceField(
        Organization.objects.none(),
        label="Prescripteur",
        required=False,
        empty_label="— Aucun —",
        help_text="Obligatoire pour le critère « autre, sur avis motivé ».",
    )
    reason = forms.CharField(
        label="Avis motivé du prescripteur",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire pour le critère « autre, sur avis motivé ».",
    )

    def __init__(self, *args, participant, **kwargs):
        self.participant = participant
        self.facilitator = participant.facilitator
        today = timezone.localdate()
        initial = {
            "assessed_on": today,
            "prescriber": participant.prescriber.uuid if participant.prescriber_id else None,
            **kwargs.pop("initial", {}),
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.validity_default = default_valid_until(self.facilitator, today)
        self.fields["valid_until"].help_text = (
            "Par défaut, la date de validation plus la durée de validité du facilitateur "
            f"(aujourd'hui : {self.validity_default:%d/%m/%Y})."
        )
        self.fields["assessed_on"].error_messages.update(
            required="Indiquez la date de validation.", invalid="Date invalide : jj/mm/aaaa."
        )
        self.fields["valid_until"].error_messages["invalid"] = "Date invalide : jj/mm/aaaa."
        self.fields["prescriber"].queryset = prescribers_of(self.facilitator)
        self.rows = add_criteria_fields(self)

    @property
    def main_fields(self):
        return [self[name] for name in ("assessed_on", "valid_until", "prescriber", "reason")]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        self.lines = criteria_lines(self, assessed_on=data.get("assessed_on"))
        if not self.lines:
            self.add_error(None, "Cochez au moins un critère d'éligibilité.")
        reasoned = [line.criterion for line in self.lines if line.criterion.requires_reason]
        if reasoned:
            if not data.get("prescriber") and "prescriber" not in self.errors:
                self.add_error(
                    "prescriber",
                    f"Le critère « {reasoned[0].label} » exige le prescripteur qui a donné son avis.",
                )
            if not (data.get("reason") or "").strip():
                self.add_error(
                    "reason", f"Le critère « {reasoned[0].label} » exige l'avis motivé du prescripteur."
                )
        assessed_on, valid_until = data.get("assessed_on"), data.get("valid_until")
        if assessed_on and valid_until and valid_until < assessed_on:
            self.add_error(
                "valid_until", "La fin de validité doit être postérieure ou égale à la date de validation."
            )
        return data

    def action_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "assessed_on": data["assessed_on"],
            "valid_until": data.get("valid_until"),
            "lines": self.lines,
            "prescriber": data.get("prescriber"),
            "reason": data.get("reason", ""),
        }


class MergeForm(DsfrFormMixin, forms.Form):
    """Merge two records: which one to keep, and an explicit confirmation."""

    kept = forms.ChoiceField(label="Fiche à conserver", widget=forms.RadioSelect)
    confirm = forms.BooleanField(
        label="Je confirme la fusion : les contrats, validations d'éligibilité et sorties de l'autre fiche "
        "seront rattachés à la fiche conservée.",
        error_messages={"required": "Cochez la case pour confirmer la fusion."},
    )

    def __init__(self, *args, first, second, **kwargs):
        self.records = {str(first.uuid): first, str(second.uuid): second}
        super().__init__(*args, **kwargs)
        self.fields["kept"].choices = [
            (str(p.uuid), f"{p} (né(e) le {p.birth_date:%d/%m/%Y})") for p in (first, second)
        ]
        self.fields["kept"].error_messages.update(
            required="Choisissez la fiche à conserver.",
            invalid_choice="Choix invalide : choisissez l'une des deux fiches comparées.",
        )

    def kept_and_duplicate(self):
        kept = self.records[self.cleaned_data["kept"]]
        duplicate = next(p for key, p in self.records.items() if key != self.cleaned_data["kept"])
        return kept, duplicate


class QpvOverrideForm(DsfrFormMixin, forms.Form):
    residence = forms.ChoiceField(
        label="Résidence à la date d'entrée",
        choices=[("inside", "Réside en QPV"), ("outside", "Hors QPV")],
        widget=forms.RadioSelect,
        error_messages={"required": "Indiquez si la personne réside en QPV."},
    )
    qpv_code = forms.CharField(
        label="Code QPV",
        max_length=12,
        required=False,
        help_text="Ex. : QP031007 (liste 2015) ou QN03101M (liste 2024).",
    )
    reason = forms.CharField(
        label="Motif",
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Indiquez le motif : il est obligatoire pour une saisie manuelle du QPV."
        },
        help_text="Ex. : adresse vérifiée sur le justificatif de domicile.",
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        data["qpv_code"] = (data.get("qpv_code") or "").strip().upper()
        if data.get("residence") == "inside" and not data["qpv_code"]:
            self.add_error("qpv_code", "Indiquez le code du QPV de résidence.")
        if data.get("residence") == "outside":
            data["qpv_code"] = ""
        return data


# --- The lists' filters: participants, contracts ------------------------------------------------


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
