"""Coordinates of the communes (`clausier geo locate-communes`), from the BAN's "municipality" answers.

A commune is stored only when the answer's `citycode` is its own INSEE code (a merged commune answers with
its commune nouvelle's code: reported, not stored). Each commune is written in one UPDATE of both columns,
so a network error leaves it as it was; the error is reported and the next commune is tried.
"""

from dataclasses import dataclass, field

from clausier.geo.geocoder import Geocoder, GeocoderError, GeocodingStatus
from clausier.geo.models import Commune


@dataclass
class LocateReport:
    located: int = 0
    problems: list[str] = field(default_factory=list)  # not stored: mismatch, not found, low score
    errors: list[str] = field(default_factory=list)  # the service failed for these communes

    def summary(self) -> str:
        return (
            f"{self.located} commune(s) localisée(s), {len(self.problems)} non localisée(s), "
            f"{len(self.errors)} erreur(s) du service de géocodage."
        )


def locate_communes(geocoder: Geocoder, *, departments=None, everything: bool = False) -> LocateReport:
    communes = Commune.objects.order_by("insee_code")
    if departments:
        communes = communes.filter(department_code__in=departments)
    if not everything:
        communes = communes.filter(latitude__isnull=True)
    report = LocateReport()
    for commune in communes.only("insee_code", "name").iterator():
        try:
            result = geocoder.geocode_municipality(commune.name, commune.insee_code)
        except GeocoderError as exc:
            report.errors.append(f"{commune} : {exc}")
            continue
        if result.status != GeocodingStatus.FOUND:
            report.problems.append(f"{commune} : {result.reason}")
        elif result.citycode != commune.insee_code:
            report.problems.append(
                f"{commune} : la BAN répond « {result.label} » de code INSEE {result.citycode or '(aucun)'}, "
                "coordonnées non enregistrées"
            )
        else:
            Commune.objects.filter(pk=commune.pk).update(latitude=result.lat, longitude=result.lon)
            report.located += 1
    return report
