"""Participants (bénéficiaires), their eligibility assessments and outcomes.

A participant belongs to one facilitator. A duplicate merged into another record keeps a pointer
(`merged_into`) so that every indicator counts the person once.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from clausier.utils.locking import version_field
from clausier.utils.models import OfParentTenant, TenantModel, TenantQuerySet
from clausier.utils.names import normalize_name


class Sex(models.TextChoices):
    FEMALE = "F", "Femme"
    MALE = "M", "Homme"


class QpvResidence(models.TextChoices):
    """Where the participant lived at entry, against the QPV list in force then.

    "No list in force" (an entry before 2015) and "address not located" are unknowns, never "outside".
    """

    INSIDE = "inside", "Réside en QPV"
    OUTSIDE = "outside", "Hors QPV"
    NO_LIST = "no_list", "Inconnu : aucune liste QPV en vigueur à la date d'entrée"
    UNLOCATED = "unlocated", "Inconnu : adresse non localisée"
    NOT_LOADED = "not_loaded", "Inconnu : périmètres QPV de la date d'entrée non importés"


class QpvMethod(models.TextChoices):
    GEOCODING = "geocoding", "Géocodage de l'adresse (BAN)"
    MANUAL = "manual", "Saisie manuelle"


class ParticipantQuerySet(TenantQuerySet):
    def active_records(self):
        """Records that stand for a person (not merged into another)."""
        return self.filter(merged_into__isnull=True)

    def eligible_on(self, day):
        """People with an eligibility assessment valid on `day`."""
        return self.filter(assessments__assessed_on__lte=day, assessments__valid_until__gte=day).distinct()

    def with_person_id(self):
        """`person_id`: the kept record's id, so that merged duplicates count once."""
        return self.annotate(person_id=Coalesce("merged_into_id", "id"))

    def with_profile(self):
        """Join the profile at entry (`participant.profile`; filter with `profile__age_band=…` etc.).

        Profiles are computed by `clausier.participants.profiles.refresh_profiles` (and the actions that
        change a participant, its assessments or its contracts); a participant never refreshed has none.
        """
        return self.select_related("profile")


class Participant(TenantModel):
    first_name = models.CharField("prénom", max_length=120)
    last_name = models.CharField("nom d'usage", max_length=120)
    birth_name = models.CharField("nom de naissance", max_length=120, blank=True)
    birth_date = models.DateField("date de naissance")
    sex = models.CharField("sexe", max_length=1, choices=Sex.choices)
    email = models.EmailField("e-mail", blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    address = models.CharField("adresse", max_length=255, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    commune = models.ForeignKey(
        "geo.Commune", verbose_name="commune", null=True, blank=True, on_delete=models.PROTECT
    )
    qualification_level = models.ForeignKey(
        "reference.QualificationLevel",
        verbose_name="niveau de qualification",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    situation_at_entry = models.CharField(
        "situation à l'entrée",
        max_length=30,
        blank=True,
        choices=[
            ("job_seeker", "Demandeur d'emploi"),
            ("long_term_job_seeker", "Demandeur d'emploi de longue durée"),
            ("social_benefits", "Bénéficiaire de minima sociaux"),
            ("young", "Jeune sans qualification"),
            ("siae_employee", "Salarié en parcours d'insertion"),
            ("other", "Autre"),
        ],
    )
    entry_date = models.DateField("date d'entrée dans le dispositif", null=True, blank=True)
    prescriber = models.ForeignKey(
        "organizations.Organization",
        verbose_name="prescripteur",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_participants",
    )
    referent = models.CharField("référent", max_length=200, blank=True)
    informed_on = models.DateField("informé(e) du traitement de ses données le", null=True, blank=True)
    normalized_name = models.CharField(max_length=255, editable=False, db_index=True)
    # QPV residence at entry (clausier.participants.actions.resolve_participant_qpv / override_participant_qpv).
    qpv_status = models.CharField(
        "résidence en QPV", max_length=10, choices=QpvResidence.choices, blank=True, editable=False
    )
    qpv_code = models.CharField("code QPV", max_length=12, blank=True, editable=False)
    qpv_millesime = models.PositiveSmallIntegerField("millésime QPV", null=True, blank=True, editable=False)
    qpv_method = models.CharField(
        "méthode QPV", max_length=10, choices=QpvMethod.choices, blank=True, editable=False
    )
    qpv_geocoding_score = models.FloatField("score de géocodage", null=True, blank=True, editable=False)
    qpv_resolved_on = models.DateField("QPV déterminé le", null=True, blank=True, editable=False)
    qpv_reason = models.CharField(
        "motif (saisie manuelle) ou raison de l'indétermination", max_length=500, blank=True, editable=False
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name="fusionné dans",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_records",
    )
    version = version_field()  # optimistic locking (clausier.utils.locking)
    anonymised_on = models.DateField("anonymisé(e) le", null=True, blank=True, editable=False)

    objects = ParticipantQuerySet.as_manager()

    class Meta(TenantModel.Meta):
        verbose_name = "participant"
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["facilitator", "last_name", "first_name"], name="participant_fac_name"),
            models.Index(
                fields=["facilitator", "updated_at", "id"], name="participant_fac_updated"
            ),  # API cursor
            models.Index(
                fields=["facilitator", "normalized_name", "birth_date"], name="participant_fac_identity"
            ),
            # Duplicate detection: every record of the facilitator born that day (names are compared in Python).
            models.Index(fields=["facilitator", "birth_date"], name="participant_fac_birth_date"),
            models.Index(fields=["facilitator", "prescriber"], name="participant_fac_prescriber"),
        ]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")), name="participant_not_merged_into_self"
            ),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name.upper()}"

    def is_eligible_on(self, day) -> bool:
        return self.assessments.filter(assessed_on__lte=day, valid_until__gte=day).exists()

    def save(self, *args, **kwargs):
        self.normalized_name = normalize_name(self.first_name, self.last_name)
        super().save(*args, **kwargs)


class EligibilityAssessment(TenantModel):
    """Who validated which criteria, when, on what evidence, until when. Never overwritten."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="assessments")
    assessed_on = models.DateField("validée le")
    valid_until = models.DateField("valable jusqu'au")
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="validée par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    prescriber = models.ForeignKey(
        "organizations.Organization",
        verbose_name="prescripteur",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField("avis motivé", blank=True)
    criteria = models.ManyToManyField(
        "reference.EligibilityCriterion", through="AssessmentCriterion", verbose_name="critères"
    )

    class Meta(TenantModel.Meta):
        verbose_name = "validation d'éligibilité"
        verbose_name_plural = "validations d'éligibilité"
        ordering = ["-assessed_on"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("assessed_on")), name="assessment_dates_in_order"
            ),
        ]
        indexes = [models.Index(fields=["facilitator", "valid_until"], name="assessment_fac_valid_until")]

    def __str__(self):
        return f"Éligibilité de {self.participant} du {self.assessed_on:%d/%m/%Y}"

    def is_valid_on(self, day) -> bool:
        return self.assessed_on <= day <= self.valid_until


class AssessmentCriterion(OfParentTenant):
    TENANT_PARENT = "assessment"

    class EvidenceKind(models.TextChoices):
        PRESCRIBER_CERTIFICATE = "prescriber", "Attestation du prescripteur"
        FRANCE_TRAVAIL = "france_travail", "Avis de situation France Travail"
        CAF = "caf", "Attestation CAF / MSA"
        MDPH = "mdph", "Notification MDPH"
        ID_DOCUMENT = "id", "Pièce d'identité"
        SIAE = "siae", "Attestation de la structure"
        ADDRESS = "address", "Justificatif de domicile"
        OTHER = "other", "Autre"

    assessment = models.ForeignKey(
        EligibilityAssessment, on_delete=models.CASCADE, related_name="criterion_lines"
    )
    # The assessment's, copied so the lines are distributed with it (Citus, issue 18).
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    criterion = models.ForeignKey("reference.EligibilityCriterion", on_delete=models.PROTECT)
    evidence_kind = models.CharField("justificatif", max_length=20, choices=EvidenceKind.choices)
    evidence_date = models.DateField("date du justificatif", null=True, blank=True)

    class Meta:
        verbose_name = "critère retenu"
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "assessment", "criterion"], name="assessment_criterion_unique"
            )
        ]

    def __str__(self):
        return f"{self.criterion} ({self.get_evidence_kind_display()})"


class Outcome(TenantModel):
    class Timing(models.TextChoices):
        END = "end", "À la fin du contrat"
        SIX_MONTHS = "6m", "À 6 mois"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="outcomes")
    contract = models.ForeignKey(
        "employment.Contract", null=True, blank=True, on_delete=models.CASCADE, related_name="outcomes"
    )
    timing = models.CharField("moment", max_length=3, choices=Timing.choices)
    category = models.ForeignKey(
        "reference.OutcomeCategory", verbose_name="situation", on_delete=models.PROTECT
    )
    detail = models.CharField("précision", max_length=255, blank=True)
    observed_on = models.DateField("constatée le")

    class Meta(TenantModel.Meta):
        verbose_name = "sortie"
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["facilitator", "contract", "timing"], name="outcome_unique_per_contract_timing"
            ),
        ]
        indexes = [models.Index(fields=["facilitator", "observed_on"], name="outcome_fac_observed")]


# --- Profile at entry, for reporting ---------------------------------------------------------------------------


class AgeBand(models.TextChoices):
    UNDER_26 = "lt26", "Moins de 26 ans"
    FROM_26_TO_49 = "26_49", "26 à 49 ans"
    FROM_50 = "ge50", "50 ans et plus"
    UNKNOWN = "unknown", "Inconnu"


class QualificationBand(models.TextChoices):
    """The reporting bands of `reference.QualificationLevel.band` ("infra 3", "3", "4", "5+")."""

    INFRA_3 = "infra3", "Infra 3"
    LEVEL_3 = "3", "Niveau 3"
    LEVEL_4 = "4", "Niveau 4"
    LEVEL_5_PLUS = "5plus", "Niveau 5 et plus"
    UNKNOWN = "unknown", "Inconnu"


class QpvFlag(models.TextChoices):
    INSIDE = "inside", "Réside en QPV"
    OUTSIDE = "outside", "Hors QPV"
    UNKNOWN = "unknown", "Inconnu"


class QpvSource(models.TextChoices):
    """What a profile's QPV residence rests on (`clausier.participants.profiles.QPV_RULE`)."""

    ADDRESS = "address", "d'après l'adresse géocodée"
    CRITERION = "criterion", "d'après le critère déclaré à l'éligibilité"
    NONE = "none", "aucune source"


class ParticipantProfile(models.Model):
    """What a participant was at entry, computed once and stored for SQL reporting.

    Entry is the start of the first contract, else the entry date in the scheme (`reference_date`).
    Written only by `clausier.participants.profiles` (derived data: no audit entry of its own).
    """

    participant = models.OneToOneField(
        Participant, primary_key=True, on_delete=models.CASCADE, related_name="profile"
    )
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    reference_date = models.DateField("date d'entrée retenue", null=True, blank=True)
    age_at_entry = models.PositiveSmallIntegerField("âge à l'entrée", null=True, blank=True)
    age_band = models.CharField("tranche d'âge à l'entrée", max_length=7, choices=AgeBand.choices)
    qualification_band = models.CharField(
        "niveau de qualification à l'entrée", max_length=7, choices=QualificationBand.choices
    )
    qpv_flag = models.CharField("résidence en QPV à l'entrée", max_length=7, choices=QpvFlag.choices)
    qpv_source = models.CharField(
        "source de la résidence en QPV", max_length=9, choices=QpvSource.choices, default=QpvSource.NONE
    )
    qpv_code = models.CharField("code QPV", max_length=12, blank=True)
    commune = models.ForeignKey(
        "geo.Commune",
        verbose_name="commune",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assessment = models.ForeignKey(
        EligibilityAssessment,
        verbose_name="validation d'éligibilité en cours à l'entrée",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    criteria = models.ManyToManyField(
        "reference.EligibilityCriterion",
        through="ProfileCriterion",
        verbose_name="critères à l'entrée",
        related_name="+",
    )
    computed_at = models.DateTimeField("calculé le")

    class Meta:
        verbose_name = "profil à l'entrée"
        verbose_name_plural = "profils à l'entrée"
        indexes = [
            models.Index(fields=["facilitator", "age_band"], name="profile_fac_age"),
            models.Index(fields=["facilitator", "qualification_band"], name="profile_fac_qualification"),
            models.Index(fields=["facilitator", "qpv_flag"], name="profile_fac_qpv"),
            models.Index(fields=["facilitator", "commune"], name="profile_fac_commune"),
        ]

    def __str__(self):
        return f"Profil à l'entrée de {self.participant_id}"


class ProfileCriterion(models.Model):
    """One eligibility criterion held at entry (a row per criterion: countable in SQL on any database)."""

    profile = models.ForeignKey(ParticipantProfile, on_delete=models.CASCADE, related_name="criterion_lines")
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    criterion = models.ForeignKey(
        "reference.EligibilityCriterion", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "critère à l'entrée"
        verbose_name_plural = "critères à l'entrée"
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "profile", "criterion"], name="profile_criterion_unique"
            )
        ]
        indexes = [models.Index(fields=["facilitator", "criterion"], name="profile_criterion_fac")]

    def __str__(self):
        return str(self.criterion_id)
