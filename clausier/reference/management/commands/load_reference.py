import time

from django.core.management.base import BaseCommand, CommandError

from clausier.reference.loader import REFERENCE_FILES, ReferenceFileError, load_reference
from clausier.reference.official import LOADERS, OfficialDataError, load_official


class Command(BaseCommand):
    help = (
        "Charge les référentiels livrés avec Clausier : les petits référentiels versionnés (catégories "
        "d'organisation, bases juridiques, modalités, types de contrat, niveaux de qualification, sorties, "
        "critères d'éligibilité, familles de lots) puis les données officielles (ROME, NAF, communes du COG, "
        "périmètres QPV), dont les empreintes SHA-256 sont vérifiées. Relançable sans risque : ce qui est "
        "déjà chargé n'est pas relu ; les codes retirés d'un fichier sont désactivés, jamais supprimés."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files",
            nargs="*",
            metavar="FICHIER",
            help=f"ne charger que ces fichiers (parmi : {', '.join(REFERENCE_FILES)}), "
            "sans les données officielles ; par défaut, tout",
        )
        parser.add_argument(
            "--data-dir", help="dossier des fichiers (par défaut : ceux livrés avec Clausier)"
        )
        parser.add_argument(
            "--officiel",
            dest="datasets",
            action="append",
            metavar="JEU",
            help=f"ne charger que ce jeu de données officiel (option répétable, parmi : {', '.join(LOADERS)})",
        )
        parser.add_argument(
            "--sans-officiel",
            dest="skip_official",
            action="store_true",
            help="ne pas charger les données officielles (ROME, NAF, communes, QPV)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="recharger les données officielles même déjà chargées (y compris par-dessus une mise à jour)",
        )

    def handle(self, *args, files, data_dir, datasets, skip_official, force, verbosity, **options):
        started = time.monotonic()
        say = self.stdout.write if verbosity else lambda line: None
        if not datasets:
            try:
                reports = load_reference(data_dir=data_dir, files=files or None)
            except ReferenceFileError as exc:
                raise CommandError(f"{exc} Aucun référentiel n'a été modifié.") from exc
            for report in reports:
                say(report.summary())
        if files or skip_official:
            return
        try:
            official = load_official(keys=datasets, force=force)
        except OfficialDataError as exc:
            raise CommandError(f"{exc} Aucune donnée officielle n'a été chargée.") from exc
        for report in official:
            say(report.summary())
        say(f"Référentiels chargés en {time.monotonic() - started:.1f} s.")
