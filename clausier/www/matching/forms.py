"""Forms of the matching area: a prescriber's candidacy, its validation by the facilitator, job offers, the
pool search, a company's answer, the hire.

They parse and validate; writes go through `clausier.matching.actions`. Every choice is scoped: a lot,
a company, a participant or a prescriber posted by hand that the user may not see is an invalid choice, and
fields a role has no business with (criteria for a company) are not in its forms at all.
"""

from django import forms
from django.utils import timezone
from dsfr.utils import dsfr_input_class_attr

from clausier.matching.actions import CANDIDACY_FIELDS, OFFER_FIELDS
from clausier.matching.models import SITUATION_CHOICES
from clausier.matching.pool import Zone
from clausier.organizations.models import Organization, OrganizationKind
from clausier.reference.models import (
    ContractType,
    EligibilityCriterion,
    QualificationLevel,
    RomeDomain,
    RomeJob,
)
from clausier.www.clauses.forms import CodeChoiceField, ScopedChoiceField
from clausier.www.kit.fields import CommuneField, FrenchDateField, FrenchDecimalField
from clausier.www.kit.forms import check_dates
from clausier.www.kit.lists import ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin
from clausier.www.kit.widgets import QuickSelect
from clausier.www.participants.forms import AssessmentForm, IdentityForm, add_criteria_fields, criteria_lines

DATE_INVALID = "Date invalide : jj/mm/aaaa."


class QuickSelectMultiple(QuickSelect, forms.SelectMultiple):
    """`QuickSelect` for several values (the ROME has about 600 jobs)."""


class RomeJobChoiceField(forms.ModelChoiceField):
    widget = QuickSelect

    def __init__(self, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("empty_label", "— Choisir un métier —")
        kwargs.setdefault("error_messages", {"invalid_choice": "Métier inconnu du référentiel ROME."})
        super().__init__(RomeJob.objects.order_by("code"), **kwargs)

    def label_from_instance(self, obj):
        return f"{obj.code} — {obj.label}"


class RomeJobsField(forms.ModelMultipleChoiceField):
    widget = QuickSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault(
            "error_messages", {"invalid_choice": "Métier inconnu du référentiel ROME : %(value)s."}
        )
        super().__init__(RomeJob.objects.order_by("code"), **kwargs)

    def label_from_instance(self, obj):
        return f"{obj.code} — {obj.label}"


def _dated(field, required_message=None):
    field.error_messages["invalid"] = DATE_INVALID
    if required_message:
        field.error_messages["required"] = required_message
    return field


# --- Candidacy (prescriber) -----------------------------------------------------------------------------------


class CandidacyForm(DsfrFormMixin, IdentityForm):
    """A prescriber proposes a person. Criteria: one line per criterion (checkbox, kind and date of the evidence)."""

    situation = forms.ChoiceField(
        label="Situation", choices=[("", "— Choisir —"), *SITUATION_CHOICES], required=False
    )
    qualification_level = CodeChoiceField(
        QualificationLevel.objects.none(), label="Niveau de qualification", required=False
    )
    available_from = FrenchDateField(label="Disponible à partir du", required=False)
    wished_jobs = RomeJobsField(
        label="Métiers recherchés (ROME)",
        required=False,
        help_text="Un ou plusieurs métiers (Ctrl ou Cmd + clic pour en choisir plusieurs).",
    )
    referent = forms.CharField(
        label="Conseiller référent",
        max_length=200,
        required=False,
        help_text="Qui suit la personne chez vous.",
    )
    prescriber_opinion = forms.CharField(
        label="Avis motivé",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire pour le critère « autre, sur avis motivé ».",
    )
    informed = forms.BooleanField(
        label="La personne a été informée du traitement de ses données par le facilitateur.",
        error_messages={"required": "Confirmez que la personne a été informée du traitement de ses données."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["qualification_level"].queryset = QualificationLevel.objects.active()
        for name in ("birth_date", "available_from"):
            _dated(self.fields[name])
        self.rows = add_criteria_fields(self)

    def clean_birth_date(self):
        day = self.cleaned_data["birth_date"]
        if day > timezone.localdate():
            raise forms.ValidationError("La date de naissance ne peut pas être dans le futur.")
        return day

    def clean(self):
        super().clean()
        self.lines = criteria_lines(self)
        reasoned = [line.criterion for line in self.lines if line.criterion.requires_reason]
        if reasoned and not self.cleaned_data.get("prescriber_opinion"):
            self.add_error(
                "prescriber_opinion", f"Le critère « {reasoned[0].label} » exige votre avis motivé."
            )
        return self.cleaned_data

    def action_kwargs(self) -> dict:
        data = self.cleaned_data
        values = {name: data[name] for name in CANDIDACY_FIELDS if name in data}
        values["informed_on"] = timezone.localdate()  # the box is ticked today
        return {"wished_jobs": list(data.get("wished_jobs") or []), "criteria": self.lines, **values}

    @property
    def pathway_fields(self):
        return [
            self[name]
            for name in ("situation", "qualification_level", "available_from", "wished_jobs", "referent")
        ]


# --- Validation and decline (facilitator) ---------------------------------------------------------------------

NEW_RECORD = "nouvelle"


class CandidacyValidationForm(AssessmentForm):
    """Validate a candidacy: the record (a possible duplicate found, or a new one) and the assessment,
    pre-filled with the criteria the prescriber proposed. The prescriber is the candidacy's."""

    def __init__(self, *args, candidacy, duplicates, **kwargs):
        self.candidacy = candidacy
        self.duplicates = duplicates
        initial = kwargs.pop("initial", {})
        lines = list(candidacy.criterion_lines.select_related("criterion"))
        for line in lines:
            code = line.criterion.code
            initial[f"crit_{code}"] = True
            initial[f"kind_{code}"] = line.evidence_kind
            if line.evidence_date:
                initial[f"date_{code}"] = line.evidence_date.strftime("%d/%m/%Y")
        initial.setdefault("reason", candidacy.prescriber_opinion)
        initial["record"] = str(duplicates[0].participant.uuid) if duplicates else NEW_RECORD
        super().__init__(*args, participant=candidacy, initial=initial, **kwargs)
        self.fields["prescriber"].disabled = True
        self.fields["prescriber"].help_text = "Le prescripteur qui a proposé la candidature."
        choices = [
            (
                str(d.participant.uuid),
                f"Rattacher à la fiche existante de {d.participant} "
                f"(né(e) le {d.participant.birth_date:%d/%m/%Y}) — ressemblance {d.score * 100:.0f} %",
            )
            for d in duplicates
        ]
        choices.append((NEW_RECORD, "Créer une nouvelle fiche participant"))
        self.fields["record"] = forms.ChoiceField(
            label="Fiche participant",
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={
                "required": "Choisissez la fiche à rattacher ou la création d'une fiche.",
                "invalid_choice": "Choix invalide : choisissez l'une des fiches proposées ou une nouvelle fiche.",
            },
        )
        self.fields["comment"] = forms.CharField(
            label="Commentaire (pour l'historique)", required=False, max_length=1000
        )
        for name in ("record", "comment"):
            dsfr_input_class_attr(self[name])
        self._bound_fields_cache.clear()
        self.rows = [
            (c, self[f"crit_{c.code}"], self[f"kind_{c.code}"], self[f"date_{c.code}"]) for c in self.criteria
        ]

    def chosen_participant(self):
        value = self.cleaned_data["record"]
        if value == NEW_RECORD:
            return None
        return next(d.participant for d in self.duplicates if str(d.participant.uuid) == value)

    def validation_kwargs(self) -> dict:
        kwargs = self.action_kwargs()
        kwargs.pop("prescriber", None)  # the candidacy's
        participant = self.chosen_participant()
        return {
            **kwargs,
            "participant": participant,
            "create_anyway": participant is None,
            "comment": self.cleaned_data.get("comment", ""),
        }


class DeclineForm(DsfrFormMixin, forms.Form):
    reason = forms.CharField(
        label="Motif du refus",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Le prescripteur le lira.",
        error_messages={"required": "Indiquez le motif du refus : il est communiqué au prescripteur."},
    )


# --- Job offers -----------------------------------------------------------------------------------------------


class OfferForm(DsfrFormMixin, forms.Form):
    company = ScopedChoiceField(Organization.objects.none(), label="Entreprise")
    title = forms.CharField(label="Intitulé du poste", max_length=200)
    rome_job = RomeJobChoiceField(label="Métier (ROME)")
    contract_type = CodeChoiceField(ContractType.objects.none(), label="Type de contrat")
    start_date = _dated(FrenchDateField(label="Début"), "Indiquez la date de début.")
    end_date = _dated(FrenchDateField(label="Fin", required=False))
    weekly_hours = FrenchDecimalField(
        label="Durée hebdomadaire (h)", min_value=0, max_value=48, max_digits=5, decimal_places=2
    )
    positions = forms.IntegerField(label="Nombre de postes", min_value=1, max_value=999, initial=1)
    commune = CommuneField(label="Commune du lieu de travail")
    place = forms.CharField(
        label="Précision sur le lieu", max_length=255, required=False, help_text="Ex. : chantier rue…"
    )
    description = forms.CharField(
        label="Description du poste",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    publish = forms.BooleanField(
        label="Publier l'offre tout de suite", required=False, help_text="Sinon, elle reste en brouillon."
    )

    def __init__(self, *args, lot, company=None, instance=None, **kwargs):
        """`company`: the company posting (its own offers); None for the facilitator's staff, who choose
        among the companies awarded the lot."""
        self.lot, self.company, self.instance = lot, company, instance
        if instance is not None:
            initial = {name: getattr(instance, name) for name in OFFER_FIELDS}
            initial["rome_job"] = instance.rome_job.code
            initial["contract_type"] = instance.contract_type.code
            kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.fields["contract_type"].queryset = ContractType.objects.active()
        self.fields["rome_job"].error_messages["required"] = "Choisissez le métier dans le référentiel ROME."
        self.fields["commune"].error_messages["required"] = "Indiquez la commune du lieu de travail."
        self.fields["weekly_hours"].error_messages["required"] = "Indiquez la durée hebdomadaire."
        if company is not None or instance is not None:
            del self.fields["company"]
        else:
            self.fields["company"].queryset = (
                Organization.objects.filter(kind=OrganizationKind.COMPANY, awards__lot=lot)
                .distinct()
                .order_by("name")
            )
            self.fields["company"].error_messages["invalid_choice"] = (
                "Choix invalide : choisissez une entreprise attributaire de ce lot."
            )
        if instance is not None:
            del self.fields["publish"]

    def clean(self):
        super().clean()
        check_dates(self)
        return self.cleaned_data

    def offer_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in OFFER_FIELDS}


class OfferChoiceForm(DsfrFormMixin, forms.Form):
    """Choose the lot of a new offer (among the lots the user may post offers for)."""

    lot = ScopedChoiceField(Organization.objects.none(), label="Lot")

    def __init__(self, *args, lots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots
        self.fields["lot"].label_from_instance = lambda lot: f"{lot.market.reference} — {lot}"
        self.fields["lot"].error_messages.update(
            required="Choisissez le lot de l'offre.",
            invalid_choice="Choix invalide : choisissez l'un de vos lots.",
        )


# --- Pool search (facilitator) --------------------------------------------------------------------------------


class PoolFilterForm(ListFilterForm):
    job_words = forms.CharField(
        label="Métier",
        required=False,
        max_length=100,
        help_text="Ex. : maçon, plaquiste, ou un code ROME.",
        error_messages={"max_length": "Indiquez le métier en 100 caractères au plus."},
    )
    rome_job = RomeJobChoiceField(label="ou fiche ROME", required=False, empty_label="Toutes")
    domain = forms.ModelChoiceField(
        RomeDomain.objects.none(),
        label="ou domaine",
        required=False,
        to_field_name="code",
        empty_label="Tous",
        widget=QuickSelect,
    )
    commune = CommuneField(label="Commune", required=False, help_text="Code INSEE ou nom.")
    distance = forms.IntegerField(
        label="Distance (km)",
        required=False,
        min_value=1,
        max_value=200,
        help_text="Autour de la commune, à vol d'oiseau.",
        error_messages={
            "invalid": "Indiquez une distance en kilomètres (nombre entier).",
            "min_value": "La distance doit être d'au moins 1 km.",
            "max_value": "La distance ne peut dépasser 200 km.",
        },
    )
    zone = forms.ChoiceField(label="Autour de la commune", choices=Zone.CHOICES, required=False)
    department = forms.RegexField(
        label="Département",
        regex=r"^(\d{2,3}|2A|2B)$",
        required=False,
        error_messages={"invalid": "Code de département invalide (ex. : 31)."},
    )
    criterion = forms.ModelChoiceField(
        EligibilityCriterion.objects.none(),
        label="Critère d'éligibilité",
        required=False,
        to_field_name="code",
        empty_label="Tous",
    )
    qualification_level = CodeChoiceField(
        QualificationLevel.objects.none(), label="Niveau de qualification", required=False, empty_label="Tous"
    )
    day = _dated(
        FrenchDateField(
            label="Disponible et éligible au",
            required=False,
            help_text="Par défaut : le début du poste, ou aujourd'hui.",
        )
    )
    include_busy = forms.BooleanField(label="Inclure les personnes en contrat à cette date", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = RomeDomain.objects.order_by("code")
        self.fields["criterion"].queryset = EligibilityCriterion.objects.active()
        self.fields["qualification_level"].queryset = QualificationLevel.objects.active()

    def clean_job_words(self):
        """The ROME jobs the words name (their appellations: `RomeJob.objects.named`)."""
        text = self.cleaned_data["job_words"].strip()
        if not text:
            return []
        jobs = list(RomeJob.objects.named(text).order_by("code"))
        if not jobs:
            raise forms.ValidationError(
                f"Aucun métier du ROME ne correspond à « {text} » : essayez un autre mot, ou choisissez la fiche."
            )
        return jobs

    # The pool view applies these with `clausier.matching.pool` (they need the reference date).
    def filter_rome_job(self, queryset, value):
        return queryset

    filter_job_words = filter_domain = filter_commune = filter_distance = filter_zone = filter_department = (
        filter_rome_job
    )
    filter_criterion = filter_day = filter_include_busy = filter_rome_job
    lookups = {"qualification_level": "qualification_level"}

    def value(self, name, default=None):
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get(name) or default
        return default


# --- Answer (company) and hire (facilitator) ------------------------------------------------------------------


class AnswerForm(DsfrFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label="Votre réponse",
        choices=[("accept", "Je retiens ce candidat"), ("refuse", "Je ne retiens pas ce candidat")],
        widget=forms.RadioSelect,
        error_messages={"required": "Indiquez si vous retenez ce candidat."},
    )
    reason = forms.CharField(
        label="Motif (obligatoire si vous ne retenez pas le candidat)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        super().clean()
        if (
            self.cleaned_data.get("decision") == "refuse"
            and not (self.cleaned_data.get("reason") or "").strip()
        ):
            self.add_error("reason", "Indiquez le motif du refus.")
        return self.cleaned_data


class HireForm(DsfrFormMixin, forms.Form):
    contract_type = CodeChoiceField(ContractType.objects.none(), label="Type de contrat")
    start_date = _dated(FrenchDateField(label="Début du contrat"), "Indiquez la date de début du contrat.")
    end_date = _dated(FrenchDateField(label="Fin du contrat", required=False))

    def __init__(self, *args, offer, **kwargs):
        initial = {
            "contract_type": offer.contract_type.code,
            "start_date": offer.start_date,
            "end_date": offer.end_date,
            **kwargs.pop("initial", {}),
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["contract_type"].queryset = ContractType.objects.active()

    def clean(self):
        super().clean()
        check_dates(self)
        return self.cleaned_data
