"""Contracts (one participant × one employer × one lot) and monthly hours records."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from clausier.procurement.models import HOURS
from clausier.utils.models import OfParentTenant, TenantModel, TenantQuerySet


class ContractQuerySet(TenantQuerySet):
    def active_on(self, day):
        return self.filter(Q(end_date__isnull=True) | Q(end_date__gte=day), start_date__lte=day)


class Contract(TenantModel):
    participant = models.ForeignKey(
        "participants.Participant",
        verbose_name="participant",
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    lot = models.ForeignKey(
        "procurement.Lot", verbose_name="lot", on_delete=models.PROTECT, related_name="contracts"
    )
    company = models.ForeignKey(
        "organizations.Organization",
        verbose_name="entreprise attributaire",
        on_delete=models.PROTECT,
        related_name="clause_contracts",
        help_text="L'entreprise dont l'obligation est remplie par ce contrat.",
    )
    employer = models.ForeignKey(
        "organizations.Organization",
        verbose_name="employeur",
        on_delete=models.PROTECT,
        related_name="employer_contracts",
        help_text="L'entreprise elle-même, ou la structure d'insertion (mise à disposition, sous-traitance).",
    )
    modality = models.ForeignKey("reference.Modality", verbose_name="modalité", on_delete=models.PROTECT)
    contract_type = models.ForeignKey(
        "reference.ContractType", verbose_name="type de contrat", on_delete=models.PROTECT
    )
    rome_code = models.CharField("métier (code ROME)", max_length=5, blank=True)
    job_title = models.CharField("intitulé du poste", max_length=200, blank=True)
    start_date = models.DateField("début")
    end_date = models.DateField("fin", null=True, blank=True)
    weekly_hours = models.DecimalField(
        "durée hebdomadaire (h)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(48)],
        null=True,
        blank=True,
    )
    eligibility_override_reason = models.TextField("motif du placement sans éligibilité valide", blank=True)
    eligibility_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="placement autorisé par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ContractQuerySet.as_manager()

    class Meta(TenantModel.Meta):
        verbose_name = "contrat"
        ordering = ["-start_date"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="contract_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(weekly_hours__isnull=True) | Q(weekly_hours__gte=0),
                name="contract_weekly_hours_ge0",
            ),
        ]
        indexes = [
            models.Index(fields=["facilitator", "start_date"], name="contract_fac_start"),
            # The API's lists are walked in (updated_at, id) order from a cursor (`api/pagination.py`): with
            # the index the database stops after a page, without it it sorts the territory's rows each page.
            models.Index(fields=["facilitator", "updated_at", "id"], name="contract_fac_updated"),
            models.Index(fields=["facilitator", "participant"], name="contract_fac_participant"),
            models.Index(fields=["facilitator", "company"], name="contract_fac_company"),
            models.Index(fields=["facilitator", "employer"], name="contract_fac_employer"),
            models.Index(fields=["facilitator", "lot"], name="contract_fac_lot"),
            # Outcomes due (clausier.participants.outcomes.outcomes_due): contracts by end date.
            models.Index(fields=["facilitator", "end_date"], name="contract_fac_end"),
        ]

    def __str__(self):
        return f"{self.contract_type} — {self.participant} ({self.start_date:%d/%m/%Y})"


class CountingRule(TenantModel):
    """How a facilitator counts hours, by modality and contract type (empty = any). Versioned by `valid_from`:
    a change is a new row, and every hours record keeps the rule it was counted with."""

    modality = models.ForeignKey(
        "reference.Modality", verbose_name="modalité", null=True, blank=True, on_delete=models.PROTECT
    )
    contract_type = models.ForeignKey(
        "reference.ContractType",
        verbose_name="type de contrat",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    coefficient = models.DecimalField(
        "coefficient", max_digits=4, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )
    count_training = models.BooleanField("les heures de formation comptent", default=True)
    months_after_market_end = models.PositiveSmallIntegerField(
        "mois comptés après la fin du marché", default=0
    )
    valid_from = models.DateField("applicable à partir du")
    note = models.CharField("commentaire", max_length=255, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = "règle de comptage"
        verbose_name_plural = "règles de comptage"
        ordering = ["-valid_from"]
        constraints = [
            *TenantModel.Meta.constraints,
            # One version per scope and date; an empty scope (NULL) counts as a value (works on SQLite too).
            models.UniqueConstraint(
                "facilitator",
                Coalesce("modality", Value(0)),
                Coalesce("contract_type", Value(0)),
                "valid_from",
                name="counting_rule_unique_version",
            ),
            models.CheckConstraint(condition=Q(coefficient__gte=0), name="counting_rule_coefficient_ge0"),
        ]

    def __str__(self):
        scope = " / ".join(str(x) for x in (self.modality, self.contract_type) if x) or "toutes modalités"
        # 1.25 → « 125 % »: what the coefficient does, written the French way (a model does not load www).
        percent = format((self.coefficient * 100).normalize(), "f").replace(".", ",")
        return f"Heures comptées à {percent} % ({scope}, règle du {self.valid_from:%d/%m/%Y})"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SUBMITTED = "submitted", "Transmis"
    VALIDATED = "validated", "Validé"
    RETURNED = "returned", "Renvoyé pour correction"


class MonthlyStatement(TenantModel):
    """An employer's statement of hours for one month: draft → submitted → validated, or returned."""

    employer = models.ForeignKey(
        "organizations.Organization",
        verbose_name="employeur",
        on_delete=models.PROTECT,
        related_name="statements",
    )
    month = models.DateField("mois")
    status = models.CharField(
        "état", max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT, db_index=True
    )

    class Meta(TenantModel.Meta):
        verbose_name = "relevé mensuel"
        verbose_name_plural = "relevés mensuels"
        ordering = ["-month"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["facilitator", "employer", "month"], name="statement_unique_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="statement_month_is_first_day"),
        ]
        indexes = [
            models.Index(fields=["facilitator", "month", "status"], name="statement_fac_month"),
            models.Index(
                fields=["facilitator", "updated_at", "id"], name="statement_fac_updated"
            ),  # API cursor
        ]

    def __str__(self):
        return f"Relevé {self.month:%m/%Y} — {self.employer} ({self.get_status_display()})"


class StatementTransition(OfParentTenant):
    TENANT_PARENT = "statement"
    statement = models.ForeignKey(MonthlyStatement, on_delete=models.CASCADE, related_name="transitions")
    # The statement's, copied so the log is distributed with it (Citus, issue 18).
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=10, choices=StatementStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=StatementStatus.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField("commentaire", blank=True)

    class Meta:
        verbose_name = "changement d'état du relevé"
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_from_status_display() or 'Création'} → {self.get_to_status_display()}"


class HoursRecord(TenantModel):
    """Hours actually worked on one contract in one month (month = first day of the month).

    `counted_hours` is what counts toward the clause, under `rule` (kept with the record).
    Only records of a validated statement count in the indicators.
    """

    contract = models.ForeignKey(
        Contract, verbose_name="contrat", on_delete=models.CASCADE, related_name="hours"
    )
    statement = models.ForeignKey(
        MonthlyStatement,
        verbose_name="relevé",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
    )
    rule = models.ForeignKey(
        CountingRule,
        verbose_name="règle appliquée",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    month = models.DateField("mois")
    hours = models.DecimalField("heures travaillées", validators=[MinValueValidator(0)], **HOURS)
    training_hours = models.DecimalField(
        "dont heures de formation", default=0, validators=[MinValueValidator(0)], **HOURS
    )
    counted_hours = models.DecimalField(
        "heures comptées", default=0, validators=[MinValueValidator(0)], **HOURS
    )

    class Meta(TenantModel.Meta):
        verbose_name = "relevé d'heures"
        verbose_name_plural = "relevés d'heures"
        ordering = ["month"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["facilitator", "contract", "month"], name="hours_one_per_contract_month"
            ),
            models.CheckConstraint(condition=Q(hours__gte=0), name="hours_ge0"),
            models.CheckConstraint(condition=Q(training_hours__gte=0), name="hours_training_ge0"),
            models.CheckConstraint(
                condition=Q(training_hours__lte=F("hours")), name="hours_training_le_hours"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="hours_month_is_first_day"),
            models.CheckConstraint(condition=Q(counted_hours__gte=0), name="hours_counted_ge0"),
        ]
        indexes = [
            models.Index(fields=["facilitator", "month"], name="hours_fac_month"),
            # The API's cursor (updated_at, id): 160 ms a page of 500 at 200 territories without it.
            models.Index(fields=["facilitator", "updated_at", "id"], name="hours_fac_updated"),
        ]

    def __str__(self):
        return f"{self.contract} — {self.month:%m/%Y} : {self.hours} h"
