"""The public site of a cellule clause: its texts, its documents, its partners, and the stamp of its figures.

Files are stored under MEDIA_ROOT with a random name (never the name the user gave) and served by views
that set Content-Disposition; the name shown to visitors is kept in `original_name`.
"""

import uuid
from pathlib import PurePath

from django.db import models

from clausier.organizations.models import Organization, OrganizationKind
from clausier.utils.models import TenantModel


def _random_name(folder: str, instance, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    return f"publicsite/{folder}/{instance.facilitator.uuid}/{uuid.uuid4().hex}{suffix}"


def document_path(instance, filename: str) -> str:
    return _random_name("documents", instance, filename)


def logo_path(instance, filename: str) -> str:
    return _random_name("logos", instance, filename)


class PublicProfile(models.Model):
    """The texts of the cellule's public home page (plain text: paragraphs separated by a blank line)."""

    facilitator = models.OneToOneField(
        Organization,
        verbose_name="facilitateur",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="public_profile",
        limit_choices_to={"kind": OrganizationKind.FACILITATOR},
    )
    role_text = models.TextField("rôle et missions", blank=True)
    history_text = models.TextField("historique", blank=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "page publique"
        verbose_name_plural = "pages publiques"

    def __str__(self):
        return f"Page publique de {self.facilitator}"


class Audience(models.TextChoices):
    BUYERS = "buyers", "Donneurs d'ordre"
    COMPANIES = "companies", "Entreprises"
    INSERTION_STRUCTURES = "insertion_structures", "Structures d'insertion"
    PARTNERS = "partners", "Partenaires"


class PublicDocument(TenantModel):
    title = models.CharField("titre", max_length=200)
    audience = models.CharField("public concerné", max_length=30, choices=Audience.choices)
    description = models.TextField("description", blank=True)
    is_model_clause = models.BooleanField(
        "texte de clause type",
        default=False,
        help_text="Cochez si le document est un modèle de clause à reprendre dans un marché.",
    )
    file = models.FileField("fichier", upload_to=document_path, max_length=255)
    original_name = models.CharField("nom du fichier", max_length=255)
    content_type = models.CharField("type de contenu", max_length=100)
    size = models.PositiveIntegerField("taille (octets)")

    class Meta(TenantModel.Meta):
        verbose_name = "document public"
        verbose_name_plural = "documents publics"
        ordering = ["audience", "title"]

    def __str__(self):
        return self.title

    @property
    def extension(self) -> str:
        return PurePath(self.original_name).suffix.lstrip(".").upper()


class Partner(TenantModel):
    """A partner shown under "Nous travaillons avec", with its logo (PNG or JPEG, re-encoded on upload)."""

    name = models.CharField("nom", max_length=200)
    url = models.URLField("lien", blank=True)
    logo = models.FileField("logo", upload_to=logo_path, max_length=255, blank=True)
    logo_content_type = models.CharField("type du logo", max_length=30, blank=True)
    order = models.PositiveSmallIntegerField("ordre d'affichage", default=0)

    class Meta(TenantModel.Meta):
        verbose_name = "partenaire affiché"
        verbose_name_plural = "partenaires affichés"
        ordering = ["order", "name"]

    def __str__(self):
        return self.name


class FiguresVersion(models.Model):
    """A stamp changed whenever data behind a facilitator's public figures change: the cache key carries it,
    so invalidating is one write (`clausier.publicsite.figures.bump`)."""

    facilitator = models.OneToOneField(
        Organization,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        limit_choices_to={"kind": OrganizationKind.FACILITATOR},
    )
    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = "version des chiffres publics"
        verbose_name_plural = "versions des chiffres publics"

    def __str__(self):
        return f"{self.facilitator_id}: {self.token}"
