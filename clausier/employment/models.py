"""Contracts (one participant × one employer × one lot) and monthly hours records."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from clausier.procurement.models import HOURS
from clausier.utils.models import TenantModel, TenantQuerySet


class ContractQuerySet(TenantQuerySet):
    def active_on(self, day):
        return self.filter(Q(end_date__isnull=True) | Q(end_date__gte=day), start_date__lte=day)


class Contract(TenantModel):
    participant = models.ForeignKey(
        "participants.Participant", verbose_name="participant", on_delete=models.PROTECT, related_name="contracts"
    )
    lot = models.ForeignKey("procurement.Lot", verbose_name="lot", on_delete=models.PROTECT, related_name="contracts")
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
    contract_type = models.ForeignKey("reference.ContractType", verbose_name="type de contrat", on_delete=models.PROTECT)
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

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = "contrat"
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")), name="contract_dates_in_order"
            ),
            models.CheckConstraint(
                condition=Q(weekly_hours__isnull=True) | Q(weekly_hours__gte=0), name="contract_weekly_hours_ge0"
            ),
        ]
        indexes = [
            models.Index(fields=["facilitator", "start_date"], name="contract_fac_start"),
            models.Index(fields=["facilitator", "participant"], name="contract_fac_participant"),
            models.Index(fields=["facilitator", "company"], name="contract_fac_company"),
            models.Index(fields=["facilitator", "employer"], name="contract_fac_employer"),
            models.Index(fields=["facilitator", "lot"], name="contract_fac_lot"),
        ]

    def __str__(self):
        return f"{self.contract_type} — {self.participant} ({self.start_date:%d/%m/%Y})"


class HoursRecord(TenantModel):
    """Hours actually worked on one contract in one month (month = first day of the month)."""

    contract = models.ForeignKey(Contract, verbose_name="contrat", on_delete=models.CASCADE, related_name="hours")
    month = models.DateField("mois")
    hours = models.DecimalField("heures travaillées", validators=[MinValueValidator(0)], **HOURS)
    training_hours = models.DecimalField(
        "dont heures de formation", default=0, validators=[MinValueValidator(0)], **HOURS
    )

    class Meta:
        verbose_name = "relevé d'heures"
        verbose_name_plural = "relevés d'heures"
        ordering = ["month"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "month"], name="hours_one_per_contract_month"),
            models.CheckConstraint(condition=Q(hours__gte=0), name="hours_ge0"),
            models.CheckConstraint(condition=Q(training_hours__gte=0), name="hours_training_ge0"),
            models.CheckConstraint(condition=Q(training_hours__lte=F("hours")), name="hours_training_le_hours"),
            models.CheckConstraint(condition=Q(month__day=1), name="hours_month_is_first_day"),
        ]
        indexes = [models.Index(fields=["facilitator", "month"], name="hours_fac_month")]

    def __str__(self):
        return f"{self.contract} — {self.month:%m/%Y} : {self.hours} h"
