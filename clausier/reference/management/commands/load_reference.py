from django.core.management.base import BaseCommand, CommandError

from clausier.reference.loader import REFERENCE_FILES, ReferenceFileError, load_reference


class Command(BaseCommand):
    help = (
        "Charge les référentiels (catégories d'organisation, bases juridiques, modalités, types de contrat, "
        "niveaux de qualification, sorties, critères d'éligibilité, familles de lots) depuis leurs fichiers "
        "versionnés. Relançable sans risque ; les codes retirés d'un fichier sont désactivés, "
        "jamais supprimés."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files",
            nargs="*",
            metavar="FICHIER",
            help=f"ne charger que ces fichiers (parmi : {', '.join(REFERENCE_FILES)}) ; par défaut, tous",
        )
        parser.add_argument(
            "--data-dir", help="dossier des fichiers (par défaut : ceux livrés avec Clausier)"
        )

    def handle(self, *args, files, data_dir, **options):
        try:
            reports = load_reference(data_dir=data_dir, files=files or None)
        except ReferenceFileError as exc:
            raise CommandError(f"{exc} Aucun référentiel n'a été modifié.") from exc
        for report in reports:
            self.stdout.write(report.summary())
