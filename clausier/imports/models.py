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

    class Meta(TenantModel.Meta):
        verbose_name = "modèle de correspondance de colonnes"
        verbose_name_plural = "modèles de correspondance de colonnes"
        ordering = ["name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["facilitator", "kind", "name"], name="mapping_template_unique_name"
            ),
        ]

    def __str__(self):
        return self.name


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Déposé"
    COMMITTED = "committed", "Importé"


class ImportState(models.TextChoices):
    """Where a big file stands in its background processing (`tasks.py`); blank for a file processed within
    the request. queued → validating → ready (preview) → queued → committing → done, or refused / failed."""

    QUEUED = "queued", "En attente de traitement"
    VALIDATING = "validating", "Vérification en cours"
    READY = "ready", "Prêt pour l'aperçu"
    COMMITTING = "committing", "Enregistrement en cours"
    DONE = "done", "Terminé"
    REFUSED = "refused", "Refusé"
    FAILED = "failed", "Échec"


RUNNING_STATES = frozenset({ImportState.QUEUED, ImportState.VALIDATING, ImportState.COMMITTING})


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
    # Big files (more than IMPORT_BACKGROUND_ROWS data rows) are validated and committed by a task.
    background = models.BooleanField("traité en arrière-plan", default=False)
    row_count = models.PositiveIntegerField("lignes de données", default=0)
    state = models.CharField("traitement", max_length=10, choices=ImportState.choices, blank=True, default="")
    progress_step = models.CharField("étape en cours", max_length=10, blank=True, default="")
    progress_done = models.PositiveIntegerField("avancement", default=0)
    progress_total = models.PositiveIntegerField("total", default=0)
    job = models.CharField("traitement en cours (jeton)", max_length=32, blank=True, editable=False)
    task_id = models.CharField("identifiant de la tâche", max_length=64, blank=True, editable=False)
    # The process working on it (`workers.identity`) and its last heartbeat: a dead worker is seen (`workers.reap`).
    worker = models.CharField("processus de traitement", max_length=300, blank=True, editable=False)
    beat_at = models.DateTimeField(
        "dernier signe de vie du traitement", null=True, blank=True, editable=False
    )
    message = models.TextField("message", blank=True)  # French: why the processing was refused or failed
    result = models.JSONField("résultat de la vérification", default=dict, blank=True)
    # An import that left out the rows in error (an explicit choice): those rows alone, in the user's format,
    # with an "erreurs" column, kept for download (the rows imported are not: they are in the database now).
    left_out_file = models.BinaryField(
        "lignes écartées, avec leurs erreurs", blank=True, default=b"", editable=False
    )
    left_out_type = models.CharField(
        "type du fichier des lignes écartées", max_length=100, blank=True, default=""
    )

    class Meta(TenantModel.Meta):
        verbose_name = "import"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["facilitator", "created_at"], name="import_run_fac_created"),
            # Each worker's reaper looks every 30 s for the runs in progress of every territory (a handful):
            # 0.03 ms with this index, a scan of every run without it (45 ms measured with 50,000 runs).
            models.Index(
                fields=["state"],
                condition=models.Q(state__in=["validating", "committing"]),
                name="import_run_working",
            ),
        ]

    def __str__(self):
        return f"Import « {self.filename} » ({self.get_kind_display()})"

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def last_news(self):
        """When its task last gave news: a progress report or a state (`updated_at`), or a heartbeat."""
        return max(filter(None, [self.updated_at, self.beat_at]))
