"""`clausier geo <sous-commande>`: geographic reference data (communes today; QPV import and look-up next)."""

from django.core.management.base import BaseCommand, CommandError

from clausier.geo.communes import CommuneFileError, import_communes


class Command(BaseCommand):
    help = "Référentiels géographiques : import des communes (COG ou liste de communes)."

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

    def handle(self, *args, subcommand, **options):
        if subcommand == "import-communes":
            self.import_communes(options["file"], options["departments"])

    def import_communes(self, file, departments):
        try:
            report = import_communes(file, departments=departments)
        except CommuneFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
