"""`clausier geo <sous-commande>`: geographic reference data and QPV residence.

- `import-communes FICHIER [--departement CODE]`: communes (COG or a list of communes);
- `import-qpv FICHIER --millesime 2015|2024`: QPV perimeters (ANCT GeoJSON);
- `qpv-at LON LAT [--date AAAA-MM-JJ]`: prints the code of the QPV holding the point, or nothing;
- `resolve-qpv --facilitator SLUG`: QPV residence of every participant of a facilitator (BAN geocoding);
- `locate-communes [--departement CODE]`: latitude and longitude of the communes (BAN, municipalities).
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from clausier.geo import geocoder as geocoding
from clausier.geo.communes import CommuneFileError, import_communes
from clausier.geo.locate import locate_communes
from clausier.geo.qpv import MILLESIMES, QpvFileError, QpvStatus, import_qpv, qpv_at
from clausier.organizations.models import Organization, OrganizationKind


def _date(value: str) -> datetime.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise CommandError(f"Date « {value} » invalide : AAAA-MM-JJ ou JJ/MM/AAAA attendu.")


def _coordinate(value: str) -> float:
    try:
        return float(value.replace(",", "."))
    except ValueError as exc:
        raise CommandError(f"Coordonnée « {value} » invalide : un nombre décimal est attendu.") from exc


class Command(BaseCommand):
    help = "Référentiels géographiques (communes, QPV) et résidence en QPV des participants."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", metavar="SOUS-COMMANDE", required=True)
        communes = subcommands.add_parser(
            "import-communes",
            help="importe ou met à jour les communes d'un fichier CSV (COG de l'INSEE ou liste de communes)",
        )
        communes.add_argument("file", metavar="FICHIER", help="fichier CSV des communes")
        communes.add_argument(
            "--departement",
            dest="departments",
            action="append",
            metavar="CODE",
            help="ne garder que ce département (option répétable), par exemple --departement 31",
        )

        qpv = subcommands.add_parser(
            "import-qpv", help="importe ou met à jour les périmètres QPV d'un fichier GeoJSON de l'ANCT"
        )
        qpv.add_argument("file", metavar="FICHIER", help="fichier GeoJSON (WGS84) des QPV")
        qpv.add_argument(
            "--millesime",
            type=int,
            required=True,
            choices=sorted(MILLESIMES),
            help="liste QPV du fichier : 2015 (2015-2023) ou 2024 (depuis le 1er janvier 2024)",
        )

        at = subcommands.add_parser("qpv-at", help="affiche le code du QPV où se trouve un point, ou rien")
        at.add_argument("lon", metavar="LON", help="longitude WGS84, par exemple 1.4034")
        at.add_argument("lat", metavar="LAT", help="latitude WGS84, par exemple 43.5728")
        at.add_argument("--date", help="date de référence (AAAA-MM-JJ), aujourd'hui par défaut")

        resolve = subcommands.add_parser(
            "resolve-qpv",
            help="détermine la résidence en QPV des participants d'un facilitateur (géocodage BAN)",
        )
        resolve.add_argument(
            "--facilitator", required=True, metavar="SLUG", help="identifiant du facilitateur"
        )
        resolve.add_argument(
            "--chunk-size", type=int, default=None, help="adresses par requête de géocodage (500 par défaut)"
        )
        resolve.add_argument(
            "--non-resolus",
            dest="only_unresolved",
            action="store_true",
            help="ne traiter que les participants sans résidence QPV déterminée",
        )

        locate = subcommands.add_parser(
            "locate-communes",
            help="enregistre la latitude et la longitude des communes (géocodage BAN des communes)",
        )
        locate.add_argument(
            "--departement",
            dest="departments",
            action="append",
            metavar="CODE",
            help="ne traiter que ce département (option répétable), par exemple --departement 31",
        )
        locate.add_argument(
            "--toutes",
            dest="everything",
            action="store_true",
            help="relocaliser aussi les communes qui ont déjà des coordonnées",
        )

    def handle(self, *args, subcommand, **options):
        if subcommand == "import-communes":
            self.import_communes(options["file"], options["departments"])
        elif subcommand == "import-qpv":
            self.import_qpv(options["file"], options["millesime"])
        elif subcommand == "qpv-at":
            self.qpv_at(options["lon"], options["lat"], options["date"])
        elif subcommand == "resolve-qpv":
            self.resolve_qpv(options["facilitator"], options["chunk_size"], options["only_unresolved"])
        elif subcommand == "locate-communes":
            self.locate_communes(options["departments"], options["everything"])

    def import_communes(self, file, departments):
        try:
            report = import_communes(file, departments=departments)
        except CommuneFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())

    def import_qpv(self, file, millesime):
        try:
            report = import_qpv(file, millesime)
        except QpvFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())

    def qpv_at(self, lon, lat, date):
        lon, lat = _coordinate(lon), _coordinate(lat)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise CommandError("Coordonnées hors limites : longitude puis latitude en degrés WGS84.")
        day = _date(date) if date else datetime.date.today()
        result = qpv_at(lon, lat, day)
        if result.status == QpvStatus.INSIDE:
            self.stdout.write(result.code)
        elif result.status == QpvStatus.NO_LIST:
            self.stderr.write(result.message)

    def resolve_qpv(self, slug, chunk_size, only_unresolved):
        from clausier.participants.actions import resolve_facilitator_qpv

        facilitator = Organization.objects.filter(kind=OrganizationKind.FACILITATOR, slug=slug).first()
        if facilitator is None:
            raise CommandError(f"Facilitateur « {slug} » introuvable.")
        if chunk_size is not None and chunk_size < 1:
            raise CommandError("--chunk-size doit être un entier positif.")
        report = resolve_facilitator_qpv(
            facilitator=facilitator,
            geocoder=geocoding.default_geocoder(),
            chunk_size=chunk_size,
            only_unresolved=only_unresolved,
        )
        for error in dict.fromkeys(report.errors):
            self.stderr.write(error)
        self.stdout.write(f"{facilitator.name} — {report.summary()}")

    def locate_communes(self, departments, everything):
        report = locate_communes(geocoding.default_geocoder(), departments=departments, everything=everything)
        for line in report.problems + report.errors:
            self.stderr.write(line)
        self.stdout.write(report.summary())
