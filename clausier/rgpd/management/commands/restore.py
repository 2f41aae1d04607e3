"""`clausier restore FILE`: load a backup into an EMPTY database at the same migration state."""

from django.core.management.base import BaseCommand, CommandError

from clausier.rgpd.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde dans une base vide, au même état de migrations "
        "(créez-la d'abord avec « clausier migrate »)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Fichier produit par « clausier backup ».")
        parser.add_argument("--database", default="default", help="Alias de la base (par défaut : default).")

    def handle(self, *args, file, database, **options):
        try:
            summary = restore(file, using=database)
        except FileNotFoundError as error:
            raise CommandError(f"Fichier introuvable : {file}") from error
        except BackupError as error:
            raise CommandError(f"Restauration refusée, rien n'a été écrit : {error}") from error
        self.stdout.write(f"Restauration terminée : {summary.tables} tables, {summary.rows} lignes.")
