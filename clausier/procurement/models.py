"""Operations, markets, lots, awards and clauses: where insertion hours come from."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from clausier.utils.locking import version_field
from clausier.utils.models import OfParentTenant, TenantModel, TenantOneToOneField, TenantQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}
HOURS = {"max_digits": 12, "decimal_places": 2}
RATE = {"max_digits": 5, "decimal_places": 4, "validators": [MinValueValidator(0), MaxValueValidator(1)]}


def dates_in_order(prefix: str, start: str = "start_date", end: str = "end_date"):
    return models.CheckConstraint(
        condition=Q(**{f"{end}__isnull": True})
        | Q(**{f"{start}__isnull": True})
        | Q(**{f"{end}__gte": F(start)}),
        name=f"{prefix}_dates_in_order",
    )


class Operation(TenantModel):
    """A programme grouping several markets (NPNRU project, school building…)."""

    buyer = models.ForeignKey(
        "organizations.Organization",
        verbose_name="donneur d'ordre",
        on_delete=models.PROTECT,
        related_name="operations",
    )
    name = models.CharField("nom", max_length=255)
    kind = models.CharField(
        "nature",
        max_length=30,
        choices=[
            ("anru", "Renouvellement urbain (ANRU / NPNRU)"),
            ("building", "Construction / réhabilitation"),
            ("infrastructure", "Infrastructure / voirie"),
            ("services", "Services"),
            ("other", "Autre"),
        ],
        default="building",
    )
    commune = models.ForeignKey(
        "geo.Commune", verbose_name="commune", null=True, blank=True, on_delete=models.PROTECT
    )
    description = models.TextField("description", blank=True)
    start_date = models.DateField("début", null=True, blank=True)
    end_date = models.DateField("fin", null=True, blank=True)

    version = version_field()  # optimistic locking (clausier.utils.locking)

    class Meta(TenantModel.Meta):
        verbose_name = "opération"
        ordering = ["name"]
        constraints = [*TenantModel.Meta.constraints, dates_in_order("operation")]
        indexes = [models.Index(fields=["facilitator", "buyer"], name="operation_fac_buyer")]

    def __str__(self):
        return self.name


class MarketQuerySet(TenantQuerySet):
    def with_clause(self):
        return self.filter(lots__clause__isnull=False).distinct()


class Market(TenantModel):
    class Procedure(models.TextChoices):
        OPEN = "open", "Appel d'offres ouvert"
        RESTRICTED = "restricted", "Appel d'offres restreint"
        ADAPTED = "adapted", "Procédure adaptée (MAPA)"
        NEGOTIATED = "negotiated", "Procédure avec négociation"
        DIALOGUE = "dialogue", "Dialogue compétitif"
        OTHER = "other", "Autre"

    class Family(models.TextChoices):
        WORKS = "works", "Travaux"
        SERVICES = "services", "Services"
        SUPPLIES = "supplies", "Fournitures"

    buyer = models.ForeignKey(
        "organizations.Organization",
        verbose_name="donneur d'ordre",
        on_delete=models.PROTECT,
        related_name="markets",
    )
    operation = models.ForeignKey(
        Operation,
        verbose_name="opération",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="markets",
    )
    reference = models.CharField("numéro du marché", max_length=60)
    title = models.CharField("objet", max_length=500)
    family = models.CharField("nature", max_length=20, choices=Family.choices, default=Family.WORKS)
    procedure = models.CharField(
        "procédure", max_length=20, choices=Procedure.choices, default=Procedure.OPEN
    )
    is_framework = models.BooleanField("accord-cadre", default=False)
    notified_on = models.DateField("notifié le", null=True, blank=True)
    start_date = models.DateField("début d'exécution", null=True, blank=True)
    end_date = models.DateField("fin d'exécution", null=True, blank=True)
    amount_ht = models.DecimalField(
        "montant HT (€)", null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    social_consideration = models.CharField(
        "considération sociale (DECP)",
        max_length=40,
        blank=True,
        choices=[
            ("Clause sociale", "Clause sociale"),
            ("Critère social", "Critère social"),
            ("Marché réservé", "Marché réservé"),
            ("Pas de considération sociale", "Pas de considération sociale"),
        ],
    )

    version = version_field()  # optimistic locking (clausier.utils.locking)
    objects = MarketQuerySet.as_manager()

    class Meta(TenantModel.Meta):
        verbose_name = "marché"
        ordering = ["-notified_on", "reference"]
        constraints = [
            *TenantModel.Meta.constraints,
            dates_in_order("market"),
            models.UniqueConstraint(
                fields=["facilitator", "buyer", "reference"], name="market_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(amount_ht__gte=0) | Q(amount_ht__isnull=True), name="market_amount_ge0"
            ),
        ]
        indexes = [
            models.Index(fields=["facilitator", "buyer"], name="market_fac_buyer"),
            models.Index(fields=["facilitator", "operation"], name="market_fac_operation"),
            models.Index(fields=["facilitator", "notified_on"], name="market_fac_notified"),
        ]

    def __str__(self):
        return f"{self.reference} — {self.title}"


class Lot(TenantModel):
    market = models.ForeignKey(Market, verbose_name="marché", on_delete=models.CASCADE, related_name="lots")
    number = models.CharField("numéro de lot", max_length=20)
    title = models.CharField("intitulé", max_length=500)
    family = models.ForeignKey(
        "reference.LotFamily", verbose_name="famille de lot", null=True, blank=True, on_delete=models.PROTECT
    )
    amount_ht = models.DecimalField(
        "montant HT (€)", null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    start_date = models.DateField("début", null=True, blank=True)
    end_date = models.DateField("fin", null=True, blank=True)

    version = version_field()  # optimistic locking (clausier.utils.locking)

    class Meta(TenantModel.Meta):
        verbose_name = "lot"
        ordering = ["market", "number"]
        constraints = [
            *TenantModel.Meta.constraints,
            dates_in_order("lot"),
            models.UniqueConstraint(fields=["facilitator", "market", "number"], name="lot_unique_number"),
            models.CheckConstraint(
                condition=Q(amount_ht__gte=0) | Q(amount_ht__isnull=True), name="lot_amount_ge0"
            ),
        ]
        indexes = [models.Index(fields=["facilitator", "end_date"], name="lot_fac_end")]

    def __str__(self):
        return f"Lot {self.number} — {self.title}"


class Clause(TenantModel):
    """The insertion obligation on a lot: legal basis + hours target, with the sizing parameters used."""

    class Method(models.TextChoices):
        FORMULA = "formula", "Calcul (montant × main-d'œuvre × taux ÷ coût horaire)"
        FIXED = "fixed", "Nombre d'heures fixé"
        PERCENT_OF_HOURS = "percent", "Pourcentage des heures travaillées"
        CLEANING = "cleaning", "Propreté avec reprise de personnel"

    lot = TenantOneToOneField(Lot, verbose_name="lot", on_delete=models.CASCADE, related_name="clause")
    legal_basis = models.ForeignKey(
        "reference.LegalBasis", verbose_name="base juridique", on_delete=models.PROTECT
    )
    method = models.CharField("mode de calcul", max_length=20, choices=Method.choices, default=Method.FORMULA)
    hours_target = models.DecimalField(
        "heures d'insertion prévues", validators=[MinValueValidator(0)], **HOURS
    )
    amount_ht = models.DecimalField("montant HT retenu (€)", null=True, blank=True, **MONEY)
    labour_share = models.DecimalField("part de main-d'œuvre", null=True, blank=True, **RATE)
    insertion_rate = models.DecimalField("taux d'insertion", null=True, blank=True, **RATE)
    hourly_cost = models.DecimalField(
        "coût horaire (€)",
        null=True,
        blank=True,
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    months = models.PositiveSmallIntegerField("durée en mois (N)", null=True, blank=True)
    transferred_monthly_hours = models.DecimalField(
        "heures mensuelles du personnel repris (S)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        **HOURS,
    )
    estimated_total_hours = models.DecimalField(
        "heures travaillées estimées", null=True, blank=True, validators=[MinValueValidator(0)], **HOURS
    )
    computed_hours = models.DecimalField("heures calculées", null=True, blank=True, **HOURS)
    override_reason = models.TextField("motif de la modification manuelle", blank=True)
    sized_on = models.DateField("calculée le", null=True, blank=True)
    eligible_publics = models.TextField("publics éligibles", blank=True)
    notes = models.TextField("observations", blank=True)

    version = version_field()  # optimistic locking (clausier.utils.locking)

    class Meta(TenantModel.Meta):
        verbose_name = "clause"
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["facilitator", "lot"], name="clause_one_per_lot"),
            models.CheckConstraint(condition=Q(hours_target__gte=0), name="clause_hours_ge0"),
        ]

    def __str__(self):
        return f"Clause {self.lot} : {self.hours_target} h"

    @staticmethod
    def formula_hours(
        amount_ht: Decimal, labour_share: Decimal, insertion_rate: Decimal, hourly_cost: Decimal
    ) -> int:
        """heures = montant HT × part de main-d'œuvre × taux d'insertion ÷ coût horaire, arrondi à l'heure inférieure."""
        return int(amount_ht * labour_share * insertion_rate // hourly_cost)


class Award(TenantModel):
    """A company's share of a lot: holder, co-contractor or subcontractor."""

    class AwardRole(models.TextChoices):
        HOLDER = "holder", "Titulaire"
        LEAD = "lead", "Mandataire"
        CO_CONTRACTOR = "co", "Co-traitant"
        SUBCONTRACTOR = "sub", "Sous-traitant"

    lot = models.ForeignKey(Lot, verbose_name="lot", on_delete=models.CASCADE, related_name="awards")
    company = models.ForeignKey(
        "organizations.Organization",
        verbose_name="entreprise",
        on_delete=models.PROTECT,
        related_name="awards",
    )
    role = models.CharField("rôle", max_length=10, choices=AwardRole.choices, default=AwardRole.HOLDER)
    awarded_on = models.DateField("attribué le", null=True, blank=True)
    amount_ht = models.DecimalField(
        "montant HT (€)", null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )

    class Meta(TenantModel.Meta):
        verbose_name = "attribution"
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["facilitator", "lot", "company", "role"], name="award_unique"),
        ]
        indexes = [models.Index(fields=["facilitator", "company"], name="award_fac_company")]

    def __str__(self):
        return f"{self.company} ({self.get_role_display()}) — {self.lot}"


class LabourShare(models.Model):
    """A facilitator's labour share for a family of lots (defaults from the reference table)."""

    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.CASCADE, related_name="+"
    )
    family = models.ForeignKey(
        "reference.LotFamily", verbose_name="famille de lots", on_delete=models.PROTECT
    )
    share = models.DecimalField("part de main-d'œuvre", **RATE)

    class Meta:
        verbose_name = "part de main-d'œuvre"
        verbose_name_plural = "parts de main-d'œuvre"
        constraints = [models.UniqueConstraint(fields=["facilitator", "family"], name="labour_share_unique")]

    def __str__(self):
        return f"{self.family} : {self.share:.0%}"


class HourlyCostQuerySet(models.QuerySet):
    def in_force(self, facilitator, day, family=None):
        """The cost in force on `day`: the family's own if any, else the facilitator's general one."""
        rows = self.filter(facilitator=facilitator, valid_from__lte=day).filter(
            Q(family=family) | Q(family=None)
        )
        return rows.order_by(models.F("family").asc(nulls_last=True), "-valid_from").first()


class HourlyCost(models.Model):
    """Dated hourly cost used to size clauses (25–30 €/h in works, 20 €/h in cleaning)."""

    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.CASCADE, related_name="+"
    )
    family = models.ForeignKey(
        "reference.LotFamily",
        verbose_name="famille de lots",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Vide : s'applique à toutes les familles sans coût propre.",
    )
    valid_from = models.DateField("applicable à partir du")
    amount = models.DecimalField(
        "coût horaire (€)", max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    objects = HourlyCostQuerySet.as_manager()

    class Meta:
        verbose_name = "coût horaire"
        verbose_name_plural = "coûts horaires"
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(
                "facilitator", Coalesce("family", Value(0)), "valid_from", name="hourly_cost_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="hourly_cost_gt0"),
        ]

    def __str__(self):
        return f"{self.amount} €/h depuis le {self.valid_from:%d/%m/%Y}"


class GlobalisationAgreement(TenantModel):
    """Convention de globalisation: one company's obligations on several lots (possibly of several buyers) pooled."""

    company = models.ForeignKey(
        "organizations.Organization", verbose_name="entreprise", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("intitulé", max_length=255)
    # Adding lots gives the facilitator: `lots.set(lots, through_defaults={"facilitator": ...})`.
    lots = models.ManyToManyField(
        Lot, verbose_name="lots mutualisés", related_name="globalisations", through="GlobalisationLot"
    )
    start_date = models.DateField("début", null=True, blank=True)
    end_date = models.DateField("fin", null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = "convention de globalisation"
        verbose_name_plural = "conventions de globalisation"
        constraints = [*TenantModel.Meta.constraints, dates_in_order("globalisation")]

    def __str__(self):
        return self.name


class GlobalisationLot(OfParentTenant):
    """A lot pooled in a convention; the table Django created for the many-to-many, now with the
    convention's facilitator so that it is distributed with it (Citus, issue 18)."""

    TENANT_PARENT = "globalisationagreement"
    facilitator = models.ForeignKey(
        "organizations.Organization", verbose_name="facilitateur", on_delete=models.PROTECT, related_name="+"
    )
    # The names Django gave the columns of the many-to-many table (clausier.procurement.progress reads them).
    globalisationagreement = models.ForeignKey(
        GlobalisationAgreement, on_delete=models.CASCADE, related_name="+"
    )
    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "procurement_globalisationagreement_lots"
        verbose_name = "lot d'une convention de globalisation"
        verbose_name_plural = "lots des conventions de globalisation"
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "globalisationagreement", "lot"], name="globalisation_lot_unique"
            )
        ]

    def __str__(self):
        return f"{self.globalisationagreement_id} — {self.lot_id}"
