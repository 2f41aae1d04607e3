"""Bringing people and jobs together: candidacies referred by prescribers, job offers, proposals.

- A `Candidacy` is a person a prescriber proposes to a facilitator, with the criteria the prescriber can
  attest (`CandidacyCriterion`, never shown outside the facilitator's staff). The facilitator validates it
  (creating or linking the `Participant` and recording its eligibility assessment) or declines it.
- A `JobOffer` is a job on a lot, posted by the facilitator or by the company awarded the lot.
- A `Proposal` is one participant proposed for one offer: shortlisted by the facilitator, sent to the
  company, accepted or refused by it, then hired (the contract is created from the offer).

Every transition of a candidacy or a proposal is a row of its log (who, as which organization, when, comment).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from clausier.participants.duplicates import find_duplicates
from clausier.participants.models import AssessmentCriterion, Participant, Sex
from clausier.utils.locking import version_field
from clausier.utils.models import OfParentTenant, TenantModel, TenantOneToOneField, TenantQuerySet

SITUATION_CHOICES = Participant._meta.get_field("situation_at_entry").choices
EvidenceKind = AssessmentCriterion.EvidenceKind


# --- Candidacies ----------------------------------------------------------------------------------------------


class CandidacyStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposée, à examiner"
    VALIDATED = "validated", "Validée"
    DECLINED = "declined", "Refusée"


class CandidacyQuerySet(TenantQuerySet):
    def to_review(self):
        return self.filter(status=CandidacyStatus.PROPOSED)

    def validated(self):
        return self.filter(status=CandidacyStatus.VALIDATED)


class Candidacy(TenantModel):
    """A person a prescriber proposes to the facilitator (`facilitator`), to be validated or declined."""

    prescriber = models.ForeignKey(
        "organizations.Organization",
        verbose_name="prescripteur",
        on_delete=models.PROTECT,
        related_name="candidacies",
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="proposée par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    referent = models.CharField("conseiller référent", max_length=200, blank=True)
    # Identity and contact
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
    # Pathway
    situation = models.CharField("situation", max_length=30, blank=True, choices=SITUATION_CHOICES)
    qualification_level = models.ForeignKey(
        "reference.QualificationLevel",
        verbose_name="niveau de qualification",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    available_from = models.DateField("disponible à partir du", null=True, blank=True)
    # Setting them gives the facilitator: `wished_jobs.set(jobs, through_defaults={"facilitator": ...})`.
    wished_jobs = models.ManyToManyField(
        "reference.RomeJob",
        verbose_name="métiers recherchés",
        blank=True,
        related_name="+",
        through="CandidacyWishedJob",
    )
    prescriber_opinion = models.TextField("avis motivé du prescripteur", blank=True)
    informed_on = models.DateField("informé(e) du traitement de ses données le")
    # Decision
    status = models.CharField(
        "état", max_length=10, choices=CandidacyStatus.choices, default=CandidacyStatus.PROPOSED
    )
    decided_at = models.DateTimeField("décision le", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décision par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decline_reason = models.TextField("motif du refus", blank=True)
    participant = models.ForeignKey(
        "participants.Participant",
        verbose_name="fiche participant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidacies",
    )

    objects = CandidacyQuerySet.as_manager()

    class Meta(TenantModel.Meta):
        verbose_name = "candidature"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["facilitator", "status", "created_at"], name="candidacy_fac_status"),
            models.Index(fields=["facilitator", "prescriber"], name="candidacy_fac_prescriber"),
            models.Index(fields=["facilitator", "participant"], name="candidacy_fac_participant"),
        ]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=~Q(status=CandidacyStatus.VALIDATED) | Q(participant__isnull=False),
                name="candidacy_validated_has_participant",
            ),
        ]

    def __str__(self):
        return f"Candidature de {self.first_name} {self.last_name.upper()}"

    def possible_duplicates(self):
        """The facilitator's participant records that may be this person (`find_duplicates`), best first."""
        return find_duplicates(
            self.facilitator_id, self.first_name, self.last_name, self.birth_date, self.birth_name
        )


class CandidacyWishedJob(OfParentTenant):
    """A job the candidate looks for; the table Django created for the many-to-many, now with the
    candidacy's facilitator so that it is distributed with it (Citus, issue 18)."""

    TENANT_PARENT = "candidacy"
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    # The names Django gave the columns of the many-to-many table.
    candidacy = models.ForeignKey(Candidacy, on_delete=models.CASCADE, related_name="+")
    romejob = models.ForeignKey("reference.RomeJob", on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "matching_candidacy_wished_jobs"
        verbose_name = "métier recherché"
        verbose_name_plural = "métiers recherchés"
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "candidacy", "romejob"], name="candidacy_wished_job_unique"
            )
        ]

    def __str__(self):
        return f"{self.candidacy_id} — {self.romejob_id}"


class CandidacyCriterion(OfParentTenant):
    """A criterion the prescriber says it can attest, with the kind of evidence (never the document)."""

    TENANT_PARENT = "candidacy"
    candidacy = models.ForeignKey(Candidacy, on_delete=models.CASCADE, related_name="criterion_lines")
    # The candidacy's, copied so the lines are distributed with it (Citus, issue 18).
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    criterion = models.ForeignKey("reference.EligibilityCriterion", on_delete=models.PROTECT)
    evidence_kind = models.CharField("justificatif", max_length=20, choices=EvidenceKind.choices)
    evidence_date = models.DateField("date du justificatif", null=True, blank=True)

    class Meta:
        verbose_name = "critère proposé"
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "candidacy", "criterion"], name="candidacy_criterion_unique"
            )
        ]

    def __str__(self):
        return f"{self.criterion} ({self.get_evidence_kind_display()})"


class Transition(OfParentTenant):
    """A change of state (candidacy, proposal): who, for which organization, when, with what comment.
    Each subclass adds the object and its `from_status` (blank at creation) and `to_status`."""

    # The object's, copied so the log is distributed with it (Citus, issue 18).
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    organization = models.ForeignKey(
        "organizations.Organization", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField("commentaire", blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_status or 'création'} → {self.to_status}"


class CandidacyTransition(Transition):
    TENANT_PARENT = "candidacy"
    candidacy = models.ForeignKey(Candidacy, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=10, choices=CandidacyStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=CandidacyStatus.choices)

    class Meta(Transition.Meta):
        verbose_name = "changement d'état d'une candidature"


# --- Job offers -----------------------------------------------------------------------------------------------


class OfferStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    OPEN = "open", "Ouverte"
    FILLED = "filled", "Pourvue"
    CLOSED = "closed", "Clôturée"


class JobOffer(TenantModel):
    """A job on a lot: posted by the facilitator or by the company awarded the lot (`company`)."""

    lot = models.ForeignKey(
        "procurement.Lot", verbose_name="lot", on_delete=models.PROTECT, related_name="job_offers"
    )
    company = models.ForeignKey(
        "organizations.Organization",
        verbose_name="entreprise",
        on_delete=models.PROTECT,
        related_name="job_offers",
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="publiée par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    posted_as = models.ForeignKey(
        "organizations.Organization",
        verbose_name="au titre de",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField("intitulé du poste", max_length=200)
    rome_job = models.ForeignKey(
        "reference.RomeJob", verbose_name="métier (ROME)", on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField("description", blank=True)
    commune = models.ForeignKey("geo.Commune", verbose_name="lieu de travail", on_delete=models.PROTECT)
    place = models.CharField("précision sur le lieu", max_length=255, blank=True)
    contract_type = models.ForeignKey(
        "reference.ContractType", verbose_name="type de contrat", on_delete=models.PROTECT
    )
    start_date = models.DateField("début")
    end_date = models.DateField("fin", null=True, blank=True)
    weekly_hours = models.DecimalField(
        "durée hebdomadaire (h)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(48)],
    )
    positions = models.PositiveSmallIntegerField("nombre de postes", default=1)
    positions_filled = models.PositiveSmallIntegerField("postes pourvus", default=0, editable=False)
    status = models.CharField("état", max_length=10, choices=OfferStatus.choices, default=OfferStatus.DRAFT)
    version = version_field()  # optimistic locking (clausier.utils.locking)

    class Meta(TenantModel.Meta):
        verbose_name = "offre d'emploi"
        verbose_name_plural = "offres d'emploi"
        ordering = ["-start_date", "-pk"]
        indexes = [
            models.Index(fields=["facilitator", "status", "start_date"], name="joboffer_fac_status"),
            models.Index(fields=["facilitator", "company"], name="joboffer_fac_company"),
            models.Index(fields=["facilitator", "lot"], name="joboffer_fac_lot"),
        ]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="joboffer_dates_in_order",
            ),
            models.CheckConstraint(condition=Q(positions__gte=1), name="joboffer_positions_ge1"),
            models.CheckConstraint(
                condition=Q(positions_filled__lte=F("positions")), name="joboffer_filled_le_positions"
            ),
            models.CheckConstraint(
                condition=Q(weekly_hours__gte=0) & Q(weekly_hours__lte=48), name="joboffer_weekly_hours"
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.rome_job.code})"

    @property
    def positions_left(self) -> int:
        return max(self.positions - self.positions_filled, 0)


# --- Proposals ------------------------------------------------------------------------------------------------


class ProposalStatus(models.TextChoices):
    SHORTLISTED = "shortlisted", "Présélectionné(e)"
    SENT = "sent", "Proposé(e) à l'entreprise"
    ACCEPTED = "accepted", "Retenu(e) par l'entreprise"
    REFUSED = "refused", "Refusé(e) par l'entreprise"
    HIRED = "hired", "Embauché(e)"
    WITHDRAWN = "withdrawn", "Retiré(e)"


class Proposal(TenantModel):
    """One participant proposed for one offer. The company sees it once sent (`sent_at`), and then only the
    person's name, contact, availability and "éligibilité : validée" — never why."""

    offer = models.ForeignKey(
        JobOffer, verbose_name="offre", on_delete=models.PROTECT, related_name="proposals"
    )
    participant = models.ForeignKey(
        "participants.Participant",
        verbose_name="participant",
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    available_from = models.DateField("disponible à partir du", null=True, blank=True)
    status = models.CharField(
        "état", max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.SHORTLISTED
    )
    shortlisted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="présélectionné(e) par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    answered_at = models.DateTimeField("réponse le", null=True, blank=True)
    refusal_reason = models.TextField("motif du refus", blank=True)
    contract = TenantOneToOneField(
        "employment.Contract",
        verbose_name="contrat",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposal",
    )

    class Meta(TenantModel.Meta):
        verbose_name = "proposition de candidat"
        verbose_name_plural = "propositions de candidats"
        ordering = ["-created_at"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["facilitator", "offer", "participant"], name="proposal_unique_per_offer"
            ),
            models.UniqueConstraint(fields=["facilitator", "contract"], name="proposal_one_per_contract"),
            models.CheckConstraint(
                condition=~Q(status=ProposalStatus.HIRED) | Q(contract__isnull=False),
                name="proposal_hired_has_contract",
            ),
        ]
        indexes = [
            models.Index(fields=["facilitator", "status"], name="proposal_fac_status"),
            models.Index(fields=["offer", "status"], name="proposal_offer_status"),
            models.Index(fields=["facilitator", "participant"], name="proposal_fac_participant"),
        ]

    def __str__(self):
        return f"Proposition de {self.participant} — {self.offer.title}"


class ProposalTransition(Transition):
    TENANT_PARENT = "proposal"
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=ProposalStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ProposalStatus.choices)

    class Meta(Transition.Meta):
        verbose_name = "changement d'état d'une proposition"
