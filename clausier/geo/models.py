from django.db import models


class Commune(models.Model):
    insee_code = models.CharField("code INSEE", max_length=5, primary_key=True)
    name = models.CharField("nom", max_length=120)
    postal_codes = models.CharField("codes postaux", max_length=200, blank=True)
    department_code = models.CharField("département", max_length=3, db_index=True)
    epci_code = models.CharField("EPCI (SIREN)", max_length=9, blank=True, db_index=True)
    epci_name = models.CharField("EPCI", max_length=200, blank=True)
    population = models.PositiveIntegerField("population municipale", null=True, blank=True)
    # WGS84 point of the commune (its BAN "municipality" answer), set by `clausier geo locate-communes`.
    latitude = models.FloatField("latitude", null=True, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)

    class Meta:
        verbose_name = "commune"
        ordering = ["name"]
        # The bounding-box prefilter of the distance search (`clausier.matching.pool.by_distance`).
        indexes = [models.Index(fields=["latitude", "longitude"], name="commune_lat_lon")]

    def __str__(self):
        return f"{self.name} ({self.insee_code})"

    @property
    def postal_code_list(self) -> list[str]:
        """The postal codes, stored space-separated by `clausier geo import-communes`."""
        return self.postal_codes.split()


class Qpv(models.Model):
    """A quartier prioritaire de la politique de la ville, for one millésime (2015 or 2024)."""

    code = models.CharField("code", max_length=12)
    name = models.CharField("nom", max_length=200)
    millesime = models.PositiveSmallIntegerField("millésime")
    valid_from = models.DateField("en vigueur du")
    valid_until = models.DateField("en vigueur jusqu'au", null=True, blank=True)
    commune_codes = models.CharField("communes (INSEE)", max_length=200, blank=True)
    geometry = models.JSONField("périmètre (GeoJSON)")
    # Bounding box, indexed: the coarse filter before the exact point-in-polygon test.
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    imported_at = models.DateTimeField("importé le", null=True, blank=True)

    class Meta:
        verbose_name = "QPV"
        verbose_name_plural = "QPV"
        constraints = [
            models.UniqueConstraint(fields=["millesime", "code"], name="qpv_unique_code_per_millesime")
        ]
        indexes = [
            models.Index(fields=["millesime", "min_lon", "max_lon", "min_lat", "max_lat"], name="qpv_bbox")
        ]

    def __str__(self):
        return f"{self.code} {self.name} ({self.millesime})"
