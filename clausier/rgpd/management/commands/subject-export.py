"""`clausier subject-export --facilitator SLUG --participant UUID FILE`: the subject access export (one ZIP)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clausier.participants.models import Participant
from clausier.rgpd.export import export_subject


class Command(BaseCommand):
    help = "Exporte toutes les données d'une personne (droit d'accès) dans un fichier ZIP (JSON + HTML)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Fichier ZIP à écrire.")
        parser.add_argument("--facilitator", required=True, help="Identifiant (slug) du facilitateur.")
        parser.add_argument("--participant", required=True, help="Identifiant (UUID) de la fiche.")

    def handle(self, *args, file, facilitator, participant, **options):
        try:
            person = Participant.objects.select_related("facilitator").get(
                facilitator__slug=facilitator, uuid=participant
            )
        except (Participant.DoesNotExist, ValidationError) as error:
            raise CommandError("Aucune fiche de ce facilitateur ne porte cet identifiant.") from error
        Path(file).write_bytes(export_subject(participant=person, by=None, channel="commande subject-export"))
        self.stdout.write(f"Données de la personne exportées dans {file}.")
