"""Organizations of five kinds, their members, and the links that make a facilitator the tenant.

A facilitator (cellule clause) is the tenant: the data it follows carries its id. Buyers are attached
to it by a facilitation agreement; companies, insertion structures and prescribers may work with
several facilitators, each link being a `Partnership`.
"""

import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from clausier.utils.locking import version_field
from clausier.utils.models import TenantModel, gate

siret_validator = RegexValidator(r"^\d{14}$", "Le SIRET doit compter exactement 14 chiffres.")
naf_validator = RegexValidator(
    r"^\d{2}\.\d{2}[A-Z]$", "Le code NAF s'écrit comme 43.99C (nomenclature NAF rév. 2, sous-classe)."
)


class OrganizationKind(models.TextChoices):
    FACILITATOR = "facilitator", "Facilitateur (cellule clause)"
    BUYER = "buyer", "Donneur d'ordre"
    COMPANY = "company", "Entreprise"
    INSERTION_STRUCTURE = "insertion_structure", "Structure d'insertion"
    PRESCRIBER = "prescriber", "Prescripteur"


class Role(models.TextChoices):
    ADMIN = "admin", "Administrateur"
    MEMBER = "member", "Membre"


class User(AbstractUser):
    """A person who logs in. The login is the e-mail address."""

    email = models.EmailField("adresse e-mail", unique=True)

    objects = UserManager()

    class Meta:
        verbose_name = "utilisateur"

    def __str__(self):
        return self.get_full_name() or self.email


class OrganizationQuerySet(models.QuerySet):
    def of_kind(self, kind):
        return self.filter(kind=kind)

    def facilitators(self):
        return self.filter(kind=OrganizationKind.FACILITATOR)

    def partners_of(self, facilitator):
        return self.filter(partnerships__facilitator=facilitator)

    def visible_to(self, user):
        gate.check()
        return gate.organizations(user, self)


class Organization(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField("type", max_length=30, choices=OrganizationKind.choices, db_index=True)
    category = models.ForeignKey(
        "reference.OrganizationCategory",
        verbose_name="catégorie",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    name = models.CharField("nom", max_length=255)
    slug = models.SlugField("identifiant", max_length=80, unique=True)
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[siret_validator])
    naf_code = models.CharField(
        "code NAF (APE)", max_length=6, blank=True, validators=[naf_validator], help_text="ex. : 43.99C"
    )
    address = models.CharField("adresse", max_length=255, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    commune = models.ForeignKey(
        "geo.Commune", verbose_name="commune", null=True, blank=True, on_delete=models.PROTECT
    )
    email = models.EmailField("e-mail de contact", blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    website = models.URLField("site web", blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    version = version_field()  # optimistic locking (clausier.utils.locking)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = "organisation"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "siret"], condition=~Q(siret=""), name="organization_unique_siret_per_kind"
            ),
        ]
        indexes = [models.Index(fields=["kind", "name"], name="organization_kind_name")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(self.name)
        super().save(*args, **kwargs)

    @property
    def is_facilitator(self):
        return self.kind == OrganizationKind.FACILITATOR


def unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "organisation"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class KindManager(models.Manager.from_queryset(OrganizationQuerySet)):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def get_queryset(self):
        return super().get_queryset().filter(kind=self.kind)

    def create(self, **kwargs):
        kwargs.setdefault("kind", self.kind)
        return super().create(**kwargs)


class Facilitator(Organization):
    objects = KindManager(OrganizationKind.FACILITATOR)

    class Meta:
        proxy = True
        verbose_name = "facilitateur"


class Buyer(Organization):
    objects = KindManager(OrganizationKind.BUYER)

    class Meta:
        proxy = True
        verbose_name = "donneur d'ordre"
        verbose_name_plural = "donneurs d'ordre"


class Company(Organization):
    objects = KindManager(OrganizationKind.COMPANY)

    class Meta:
        proxy = True
        verbose_name = "entreprise"


class InsertionStructure(Organization):
    objects = KindManager(OrganizationKind.INSERTION_STRUCTURE)

    class Meta:
        proxy = True
        verbose_name = "structure d'insertion"
        verbose_name_plural = "structures d'insertion"


class Prescriber(Organization):
    objects = KindManager(OrganizationKind.PRESCRIBER)

    class Meta:
        proxy = True
        verbose_name = "prescripteur"


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, organization__is_active=True)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("rôle", max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField("actif", default=True)
    joined_at = models.DateTimeField("depuis le", auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = "adhésion"
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} — {self.organization} ({self.get_role_display()})"

    @property
    def is_admin(self):
        return self.role == Role.ADMIN


class Partnership(models.Model):
    """The link between a facilitator and an organization it works with.

    For a buyer this is the facilitation agreement (convention de facilitation).
    """

    facilitator = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="partner_links",
        limit_choices_to={"kind": OrganizationKind.FACILITATOR},
    )
    partner = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="partnerships")
    agreement_reference = models.CharField("référence de la convention", max_length=100, blank=True)
    start_date = models.DateField("début", null=True, blank=True)
    end_date = models.DateField("fin", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "partenariat"
        constraints = [
            models.UniqueConstraint(fields=["facilitator", "partner"], name="partnership_unique"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="partnership_dates_in_order",
            ),
        ]

    def __str__(self):
        return f"{self.facilitator} ↔ {self.partner}"


class FacilitatorSettings(models.Model):
    """Parameters a facilitator chooses (domain.md: every [decision] is a parameter)."""

    facilitator = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="settings", primary_key=True
    )
    fte_hours = models.PositiveIntegerField("heures par ETP", default=1600)
    eligibility_validity_months = models.PositiveSmallIntegerField(
        "validité de l'éligibilité (mois)", default=24
    )
    territory_label = models.CharField("territoire", max_length=200, blank=True)
    first_year = models.PositiveSmallIntegerField("première année d'activité", null=True, blank=True)
    minimum_clause_hours = models.PositiveIntegerField(
        "seuil en dessous duquel une clause est déconseillée (h)", default=150
    )
    max_monthly_hours = models.DecimalField(
        "maximum plausible d'heures par contrat et par mois", max_digits=6, decimal_places=2, default=220
    )
    retention_years = models.PositiveSmallIntegerField(
        "durée de conservation des données des participants sans contact (années)",
        default=2,
        help_text="Référentiel CNIL (délibération 2023-095) : 2 ans après le dernier contact, puis anonymisation.",
    )
    require_two_factor = models.BooleanField(
        "double authentification obligatoire pour l'équipe",
        default=False,
        help_text="Chaque membre de l'équipe doit configurer un code à usage unique (TOTP) pour se connecter.",
    )
    accept_proconnect_second_factor = models.BooleanField(
        "accepter le second facteur de ProConnect",
        default=True,
        help_text=(
            "Une connexion avec ProConnect qui a déjà demandé un second facteur (carte agent, application) "
            "vaut double authentification ; sinon, Clausier demande son propre code."
        ),
    )
    # The days of the periodic notifications (`clausier notify-due`); bounds and messages in
    # `clausier.notifications.actions`, which changes them.
    statement_due_day = models.PositiveSmallIntegerField(
        "jour du mois où le relevé d'heures du mois précédent est demandé",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
    )
    statement_overdue_day = models.PositiveSmallIntegerField(
        "jour du mois où le relevé d'heures du mois précédent est en retard",
        default=10,
        validators=[MinValueValidator(2), MaxValueValidator(28)],
    )
    eligibility_expiring_days = models.PositiveSmallIntegerField(
        "préavis avant la fin d'une éligibilité (jours)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )

    class Meta:
        verbose_name = "paramètres du facilitateur"
        verbose_name_plural = "paramètres des facilitateurs"

    def __str__(self):
        return f"Paramètres de {self.facilitator}"


# --- Structures proposed to companies (directory of insertion structures) ---------------------------------------


class SuggestionModality(models.TextChoices):
    """How the company would work with the structure (codes of the reference `Modality`)."""

    PROVISION = "provision", "Mise à disposition"
    SUBCONTRACTING = "subcontracting", "Sous-traitance"


class SuggestionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposé"
    CONTACTED = "contacted", "Contacté"
    RETAINED = "retained", "Retenu"
    NOT_RETAINED = "not_retained", "Non retenu"


class StructureSuggestion(TenantModel):
    """The facilitator proposes an insertion structure to a company awarded a lot, for a mise à disposition or
    subcontracting; the company says what came of it (contacted, retained, not retained). Each step audited."""

    lot = models.ForeignKey(
        "procurement.Lot", verbose_name="lot", on_delete=models.PROTECT, related_name="structure_suggestions"
    )
    company = models.ForeignKey(
        Organization, verbose_name="entreprise", on_delete=models.PROTECT, related_name="received_suggestions"
    )
    structure = models.ForeignKey(
        Organization,
        verbose_name="structure d'insertion",
        on_delete=models.PROTECT,
        related_name="structure_suggestions",
    )
    modality = models.CharField("modalité", max_length=20, choices=SuggestionModality.choices)
    note = models.TextField("message à l'entreprise", blank=True)
    status = models.CharField(
        "suite donnée", max_length=20, choices=SuggestionStatus.choices, default=SuggestionStatus.PROPOSED
    )
    proposed_by = models.ForeignKey(
        "organizations.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_changed_at = models.DateTimeField("suite donnée le", null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = "structure proposée"
        verbose_name_plural = "structures proposées"
        ordering = ["-created_at"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["facilitator", "lot", "company", "structure", "modality"],
                name="structure_suggestion_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["facilitator", "company"], name="suggestion_fac_company"),
            models.Index(fields=["facilitator", "lot"], name="suggestion_fac_lot"),
        ]

    def __str__(self):
        return f"{self.structure} proposée à {self.company} ({self.get_modality_display().lower()})"
