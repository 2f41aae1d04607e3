"""`clausier reference <sous-commande>`: the large public referentials, read from the official files.

- `import-rome DOSSIER`: ROME 4.0 of France Travail (domaines, métiers, appellations);
- `import-naf DOSSIER`: NAF rév. 2 of the INSEE (sections to sous-classes).
"""

from django.core.management.base import BaseCommand, CommandError

from clausier.reference.referentials import ReferentialError, import_naf, import_rome


class Command(BaseCommand):
    help = "Référentiels publics volumineux (ROME, NAF) lus dans leurs fichiers officiels."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", metavar="SOUS-COMMANDE", required=True)
        rome = sub.add_parser("import-rome", help="importe le ROME 4.0 (dossier des CSV de France Travail)")
        rome.add_argument("folder", metavar="DOSSIER")
        naf = sub.add_parser(
            "import-naf", help="importe la NAF rév. 2 (naf_rev2_sections.csv, naf_rev2_codes.csv)"
        )
        naf.add_argument("folder", metavar="DOSSIER")

    def handle(self, *args, subcommand, folder, **options):
        try:
            if subcommand == "import-rome":
                for label, counts in import_rome(folder).items():
                    self.stdout.write(f"ROME, {label} : {counts}")
            else:
                self.stdout.write(f"NAF rév. 2 : {import_naf(folder)}")
        except ReferentialError as exc:
            raise CommandError(str(exc)) from exc
