"""Reference data: versioned files in `reference/data/`, loaded by `clausier load_reference`.

Never edited by hand in migrations; each row keeps the version of the file it came from.
"""

from django.db import models

from clausier.utils.names import searchable


class ReferenceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class ReferenceItem(models.Model):
    code = models.CharField("code", max_length=40, unique=True)
    label = models.CharField("libellé", max_length=255)
    order = models.PositiveSmallIntegerField("ordre", default=0)
    is_active = models.BooleanField("actif", default=True)
    version = models.CharField("version du référentiel", max_length=20)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["order", "label"]

    def __str__(self):
        return self.label


class OrganizationCategory(ReferenceItem):
    """Sub-kind of an organization: commune, bailleur social, ACI, ETTI, Mission locale…"""

    kind = models.CharField("type d'organisation", max_length=30)

    class Meta(ReferenceItem.Meta):
        verbose_name = "catégorie d'organisation"
        verbose_name_plural = "catégories d'organisation"


class LegalBasis(ReferenceItem):
    """A legal lever for a social clause, with the article numbers it replaced."""

    lever = models.CharField("levier", max_length=60)
    article = models.CharField("article", max_length=40)
    code_version = models.CharField("texte", max_length=60, help_text="CCP 2019, ordonnance 2015, CMP 2006…")
    replaced_by = models.ForeignKey(
        "self",
        verbose_name="remplacé par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaces",
    )
    in_force_from = models.DateField("en vigueur du", null=True, blank=True)
    in_force_until = models.DateField("en vigueur jusqu'au", null=True, blank=True)

    class Meta(ReferenceItem.Meta):
        verbose_name = "base juridique"
        verbose_name_plural = "bases juridiques"

    def __str__(self):
        return f"{self.article} ({self.code_version}) — {self.label}"

    def current(self):
        """The article in force today for the same lever (follows the old → new mapping)."""
        basis = self
        while basis.replaced_by_id:
            basis = basis.replaced_by
        return basis


class Modality(ReferenceItem):
    """How a company fulfils its clause: direct hiring, mise à disposition, subcontracting, training."""

    class Meta(ReferenceItem.Meta):
        verbose_name = "modalité"
        verbose_name_plural = "modalités"


class ContractType(ReferenceItem):
    is_durable = models.BooleanField("emploi durable", default=False)

    class Meta(ReferenceItem.Meta):
        verbose_name = "type de contrat"
        verbose_name_plural = "types de contrat"


class QualificationLevel(ReferenceItem):
    band = models.CharField("tranche de reporting", max_length=20, help_text="infra 3, 3, 4, 5+")

    class Meta(ReferenceItem.Meta):
        verbose_name = "niveau de qualification"
        verbose_name_plural = "niveaux de qualification"


class OutcomeCategory(ReferenceItem):
    group = models.CharField(
        "famille",
        max_length=30,
        choices=[
            ("durable", "Emploi durable"),
            ("transition", "Emploi de transition"),
            ("positive", "Sortie positive"),
            ("other", "Autre sortie"),
        ],
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = "catégorie de sortie"
        verbose_name_plural = "catégories de sortie"

    @property
    def is_dynamic(self) -> bool:
        return self.group in {"durable", "transition", "positive"}


class EligibilityCriterion(ReferenceItem):
    category = models.CharField("famille", max_length=60)
    requires_reason = models.BooleanField("avis motivé requis", default=False)
    is_sensitive = models.BooleanField("donnée sensible (RGPD art. 9/10)", default=False)

    class Meta(ReferenceItem.Meta):
        verbose_name = "critère d'éligibilité"
        verbose_name_plural = "critères d'éligibilité"


class LotFamily(ReferenceItem):
    """Family of lots used to pre-fill the labour share when sizing a clause."""

    default_labour_share = models.DecimalField(
        "part de main-d'œuvre par défaut", max_digits=5, decimal_places=4
    )

    class Meta(ReferenceItem.Meta):
        verbose_name = "famille de lots"
        verbose_name_plural = "familles de lots"


# --- Large public referentials, imported from the official files (`clausier reference import-rome/-naf`) ---


class RomeDomain(models.Model):
    """Grand domaine (one letter) or domaine professionnel (letter + two digits) of the ROME."""

    code = models.CharField("code", max_length=3, unique=True)
    label = models.CharField("libellé", max_length=255)
    parent = models.ForeignKey(
        "self",
        verbose_name="grand domaine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.CharField("version du référentiel", max_length=20)

    class Meta:
        verbose_name = "domaine du ROME"
        verbose_name_plural = "domaines du ROME"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.label}"


class RomeJobQuerySet(models.QuerySet):
    def named(self, text: str):
        """The jobs `text` names: a ROME code (F1703), or words that begin words of one of its appellations
        ("maçon" finds F1703 Maçon / Maçonne and F1704 Aide-maçon / Aide-maçonne), accents and case aside."""
        text = (text or "").strip()
        words = searchable(text).split()[:8]
        if not words:
            return self.none()
        titles = RomeAppellation.objects.all()
        for word in words:
            titles = titles.filter(search__contains=f" {word}")
        return self.filter(models.Q(code=text.upper()) | models.Q(pk__in=titles.values("job_id")))


class RomeJob(models.Model):
    """A ROME job (fiche métier, e.g. F1703 Maçon), in the domain of its first three characters."""

    code = models.CharField("code ROME", max_length=5, unique=True)
    label = models.CharField("libellé", max_length=255)
    domain = models.ForeignKey(RomeDomain, verbose_name="domaine professionnel", on_delete=models.PROTECT)
    version = models.CharField("version du référentiel", max_length=20)

    objects = RomeJobQuerySet.as_manager()

    class Meta:
        verbose_name = "métier du ROME"
        verbose_name_plural = "métiers du ROME"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.label}"


class RomeAppellation(models.Model):
    """A job title people use (appellation), searchable, pointing to its ROME job."""

    code = models.CharField("code OGR", max_length=10, unique=True)
    label = models.CharField("appellation", max_length=255)
    # The label's words, for `RomeJob.objects.named` (`clausier.utils.names.searchable`; kept by the loader).
    search = models.CharField("mots de l'appellation", max_length=300, blank=True, editable=False)
    job = models.ForeignKey(
        RomeJob, verbose_name="métier", on_delete=models.CASCADE, related_name="appellations"
    )
    version = models.CharField("version du référentiel", max_length=20)

    class Meta:
        verbose_name = "appellation du ROME"
        verbose_name_plural = "appellations du ROME"
        ordering = ["label"]
        indexes = [models.Index(fields=["job"], name="rome_appellation_job")]

    def __str__(self):
        return self.label


class NafCode(models.Model):
    """A code of the French activity nomenclature NAF rév. 2, at any level (section A … sous-classe 43.99C)."""

    code = models.CharField("code", max_length=6, unique=True)
    level = models.CharField("niveau", max_length=12)  # section, division, groupe, classe, sous-classe
    label = models.CharField("libellé", max_length=255)
    section = models.CharField("section", max_length=1)
    version = models.CharField("version du référentiel", max_length=20)

    class Meta:
        verbose_name = "code NAF"
        verbose_name_plural = "codes NAF"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.label}"


class OfficialDataset(models.Model):
    """What is loaded of each official open-data set (`clausier load_reference`, `clausier reference update`).

    `sha256` identifies the loaded files: the shipped ones (their manifest checksums) or what was downloaded.
    A dataset updated from its publisher is never taken back to the older version that ships with Clausier.
    """

    class Origin(models.TextChoices):
        SHIPPED = "shipped", "livré avec Clausier"
        DOWNLOADED = "downloaded", "téléchargé chez l'éditeur"

    key = models.CharField("jeu de données", max_length=30, unique=True)
    version = models.CharField("version", max_length=200)
    origin = models.CharField("origine", max_length=10, choices=Origin.choices)
    source_url = models.URLField("adresse", max_length=500, blank=True)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    rows = models.PositiveIntegerField("lignes lues", default=0)
    loaded_at = models.DateTimeField("chargé le")

    class Meta:
        verbose_name = "jeu de données officiel"
        verbose_name_plural = "jeux de données officiels"
        ordering = ["key"]

    def __str__(self):
        return f"{self.key} — {self.version} ({self.get_origin_display()})"
