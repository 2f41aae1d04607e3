"""`clausier reference <sous-commande>`: the large public referentials, read from the official files.

- `import-rome DOSSIER`: ROME 4.0 of France Travail (domaines, métiers, appellations);
- `import-naf DOSSIER`: NAF rév. 2 of the INSEE (sections to sous-classes);
- `update [--jeu JEU …] [--dry-run]`: the current official versions (QPV 2024, communes, ROME) fetched from
  their publishers, checked and loaded in one transaction (`clausier.reference.update`).
"""

from django.core.management.base import BaseCommand, CommandError

from clausier.reference.referentials import ReferentialError, import_naf, import_rome
from clausier.reference.sources import OfficialSourceError
from clausier.reference.update import UPDATERS, UpdateError, update_official


class Command(BaseCommand):
    help = "Référentiels publics volumineux (ROME, NAF) lus dans leurs fichiers officiels ; mise à jour en ligne."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", metavar="SOUS-COMMANDE", required=True)
        rome = sub.add_parser("import-rome", help="importe le ROME 4.0 (dossier des CSV de France Travail)")
        rome.add_argument("folder", metavar="DOSSIER")
        naf = sub.add_parser(
            "import-naf", help="importe la NAF rév. 2 (naf_rev2_sections.csv, naf_rev2_codes.csv)"
        )
        naf.add_argument("folder", metavar="DOSSIER")
        update = sub.add_parser(
            "update",
            help="télécharge chez leurs éditeurs les versions courantes (liste QPV 2024, communes du COG, "
            "ROME), les vérifie et les charge en une transaction ; hors ligne, ne change rien",
        )
        update.add_argument(
            "--jeu",
            dest="datasets",
            action="append",
            metavar="JEU",
            help=f"ne mettre à jour que ce jeu de données (option répétable, parmi : {', '.join(UPDATERS)})",
        )
        update.add_argument(
            "--dry-run",
            action="store_true",
            help="télécharger et vérifier (chargement compris, puis annulé) sans rien modifier",
        )

    def handle(self, *args, subcommand, **options):
        if subcommand == "update":
            return self.update(options["datasets"], options["dry_run"], options["verbosity"])
        folder = options["folder"]
        try:
            if subcommand == "import-rome":
                for label, counts in import_rome(folder).items():
                    self.stdout.write(f"ROME, {label} : {counts}")
            else:
                self.stdout.write(f"NAF rév. 2 : {import_naf(folder)}")
        except ReferentialError as exc:
            raise CommandError(str(exc)) from exc

    def update(self, datasets, dry_run, verbosity):
        try:
            reports = update_official(keys=datasets, dry_run=dry_run)
        except (OfficialSourceError, UpdateError) as exc:
            raise CommandError(f"{exc} Rien n'a été modifié.") from exc
        if verbosity:
            for report in reports:
                self.stdout.write(report.summary())
        if dry_run:
            self.stdout.write(
                f"Vérification terminée ({len(reports)} jeu(x) de données) : rien n'a été modifié."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Mise à jour terminée : {len(reports)} jeu(x) de données chargé(s) en une transaction."
                )
            )
