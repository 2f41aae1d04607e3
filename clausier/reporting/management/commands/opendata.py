"""`clausier opendata --facilitator SLUG [--output FICHIER]`: the open data file of a territory
(participants, contracts and hours by year and commune of residence, statistical secret applied;
docs/opendata.md). The same file is served on the cellule's public site."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clausier.organizations.models import Facilitator
from clausier.reporting.opendata import commune_rows, to_csv


class Command(BaseCommand):
    help = (
        "Écrit le fichier de données ouvertes d'un territoire : bénéficiaires, contrats et heures par année "
        "et commune de résidence, secret statistique appliqué (CSV)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--facilitator", required=True, metavar="SLUG", help="identifiant du facilitateur"
        )
        parser.add_argument(
            "--output", metavar="FICHIER", help="fichier à écrire (sortie standard par défaut)"
        )

    def handle(self, *args, facilitator, output=None, **options):
        try:
            org = Facilitator.objects.get(slug=facilitator)
        except Facilitator.DoesNotExist as exc:
            raise CommandError(f"Aucun facilitateur avec l'identifiant « {facilitator} ».") from exc
        rows = commune_rows(org)
        text = to_csv(rows)
        if output:
            # newline="": the CSV's own CRLF line ends are written as they are.
            with Path(output).open("w", encoding="utf-8", newline="") as file:
                file.write(text)
            self.stderr.write(f"{output} : {org.name}, {len(rows)} lignes.")
        else:
            self.stdout.write(text, ending="")
