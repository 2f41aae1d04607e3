"""Saved column mappings (per organization and kind of import) and import runs (the uploaded file between steps)."""

from django.conf import settings
from django.db import models

from clausier.utils.models import TenantModel


class ImportKind(models.TextChoices):
    """Every kind of `kinds.KINDS` (a test keeps the two lists equal)."""

    HOURS = "heures", "Relevé d'heures mensuel"
    PARTICIPANTS = "participants", "Participants"
    BUYERS = "donneurs-d-ordre", "Donneurs d'ordre"
    COMPANIES = "entreprises", "Entreprises"
    STRUCTURES = "structures", "Structures d'insertion (SIAE, GEIQ, EA, ESAT)"
    MARKETS = "marches", "Marchés, lots et clauses"
    CONTRACTS = "contrats", "Contrats"
    DECP = "decp", "Marchés publiés (DECP, JSON)"


class MappingTemplate(TenantModel):
    """A named column mapping, reusable for the next files of the same shape: {field key: column label}."""

    kind = models.CharField("type d'import", max_length=20, choices=ImportKind.choices)
    name = models.CharField("nom", max_length=100)
    mapping = models.JSONField("correspondance des colonnes", default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "modèle de correspondance de colonnes"
        verbose_name_plural = "modèles de correspondance de colonnes"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "kind", "name"], name="mapping_template_unique_name"
            )
        ]

    def __str__(self):
        return self.name


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Déposé"
    COMMITTED = "committed", "Importé"


class ImportRun(TenantModel):
    """One uploaded file on its way through the pipeline; the file is kept until it is imported."""

    kind = models.CharField("type d'import", max_length=20, choices=ImportKind.choices)
    filename = models.CharField("fichier", max_length=255)
    content = models.BinaryField("contenu", editable=False)
    sheet = models.CharField("feuille", max_length=255, blank=True)
    mapping = models.JSONField("correspondance des colonnes", default=dict, blank=True)
    status = models.CharField(
        "état", max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    summary = models.JSONField("bilan", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    committed_at = models.DateTimeField("importé le", null=True, blank=True)

    class Meta:
        verbose_name = "import"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["facilitator", "created_at"], name="import_run_fac_created")]

    def __str__(self):
        return f"Import « {self.filename} » ({self.get_kind_display()})"
