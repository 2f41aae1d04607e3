"""`clausier backup FILE`: every Clausier table in one portable file (gzip JSON lines, see clausier.rgpd.backup)."""

from django.core.management.base import BaseCommand, CommandError

from clausier.rgpd.backup import backup


class Command(BaseCommand):
    help = "Sauvegarde toutes les tables de Clausier dans un fichier portable (SQLite ↔ PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Fichier à écrire (par convention .jsonl.gz).")
        parser.add_argument("--database", default="default", help="Alias de la base (par défaut : default).")

    def handle(self, *args, file, database, **options):
        try:
            summary = backup(file, using=database)
        except OSError as error:
            raise CommandError(f"Écriture impossible : {error}") from error
        self.stdout.write(f"Sauvegarde écrite dans {file} : {summary.tables} tables, {summary.rows} lignes.")
