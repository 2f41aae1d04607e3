"""The audit log: who did what to which record, when, for which organization, with before/after values.

Entries are append-only: the application never updates or deletes one.
"""

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    CREATE = "create", "Création"
    UPDATE = "update", "Modification"
    DELETE = "delete", "Suppression"
    VIEW = "view", "Consultation de données personnelles"
    EXPORT = "export", "Export de données personnelles"
    TRANSITION = "transition", "Changement d'état"
    MERGE = "merge", "Fusion"


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Le journal d'audit ne se modifie pas.")

    def delete(self):
        raise PermissionError("Le journal d'audit ne se supprime pas.")


class AuditEntry(models.Model):
    at = models.DateTimeField("date", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name="au titre de",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    facilitator = models.ForeignKey(
        "organizations.Organization",
        verbose_name="facilitateur",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField("action", max_length=12, choices=Action.choices)
    object_type = models.CharField("type d'objet", max_length=60)
    object_id = models.CharField("identifiant", max_length=64, blank=True)
    object_repr = models.CharField("objet", max_length=255, blank=True)
    changes = models.JSONField("valeurs avant / après", default=dict, blank=True)
    detail = models.CharField("précision", max_length=500, blank=True)
    # How the author acted when not through the pages: « API, jeton « Paie » » (issue 16).
    channel = models.CharField("canal", max_length=120, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal d'audit"
        verbose_name_plural = "journal d'audit"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["facilitator", "at"], name="audit_fac_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self):
        return f"{self.at:%d/%m/%Y %H:%M} {self.get_action_display()} {self.object_type} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Le journal d'audit ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le journal d'audit ne se supprime pas.")
