"""`clausier consolidation <sous-commande>`: the national consolidation (docs/consolidation.md).

- `export --facilitator SLUG --year AAAA [--output FICHIER]`: the yearly file of one territory (indicators and
  one keyed hash per person, no identity), to send to the national network; needs `CONSOLIDATION_KEY`;
- `merge FICHIER… [--json]`: checks the territories' files and prints the national counts.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clausier.organizations.models import Facilitator
from clausier.reporting.consolidation import ConsolidationError, dumps, export, merge_paths


def _fr(value) -> str:
    """1 824 868 ; 1 234,5."""
    text = f"{value:,}".replace(",", " ").replace(".", ",")
    return text[:-3] if text.endswith(",00") else text


class Command(BaseCommand):
    help = "Consolidation nationale : fichier annuel d'un territoire (export) et comptes nationaux (merge)."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", metavar="SOUS-COMMANDE", required=True)
        out = subcommands.add_parser(
            "export", help="écrit le fichier annuel d'un territoire (indicateurs et empreintes des personnes)"
        )
        out.add_argument("--facilitator", required=True, metavar="SLUG", help="identifiant du facilitateur")
        out.add_argument("--year", required=True, type=int, metavar="AAAA", help="année civile")
        out.add_argument("--output", metavar="FICHIER", help="fichier à écrire (sortie standard par défaut)")

        merged = subcommands.add_parser(
            "merge", help="vérifie les fichiers des territoires et affiche les comptes nationaux"
        )
        merged.add_argument("files", nargs="+", metavar="FICHIER", help="fichiers annuels des territoires")
        merged.add_argument("--json", action="store_true", help="sortie JSON")

    def handle(self, *args, subcommand, **options):
        try:
            if subcommand == "export":
                self.export(options["facilitator"], options["year"], options.get("output"))
            else:
                self.merge(options["files"], options["json"])
        except ConsolidationError as exc:
            raise CommandError(str(exc)) from exc

    def export(self, slug: str, year: int, output: str | None):
        try:
            facilitator = Facilitator.objects.get(slug=slug)
        except Facilitator.DoesNotExist as exc:
            raise CommandError(f"Aucun facilitateur avec l'identifiant « {slug} ».") from exc
        if not 2000 <= year <= 2100:
            raise CommandError(f"Année « {year} » invalide : une année entre 2000 et 2100 est attendue.")
        data = export(facilitator, year)
        text = dumps(data)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(
                f"{output} : {facilitator.name}, {year}, {len(data['persons'])} personnes, "
                f"{data['indicators']['contracts']} contrats."
            )
        else:
            self.stdout.write(text, ending="")

    def merge(self, files: list[str], as_json: bool):
        counts = merge_paths(files)
        if as_json:
            self.stdout.write(json.dumps(counts.as_json(), ensure_ascii=False))
            return
        self.stdout.write(f"Consolidation nationale {counts.year}")
        self.stdout.write(f"Territoires : {len(counts.territories)}")
        self.stdout.write(f"Donneurs d'ordre (somme des territoires) : {_fr(counts.buyers)}")
        self.stdout.write(f"Heures réalisées : {_fr(counts.hours)}")
        self.stdout.write(f"Contrats : {_fr(counts.contracts)}")
        self.stdout.write(
            f"Bénéficiaires sans double compte : {_fr(counts.participants)} "
            f"(somme des territoires : {_fr(counts.participants_sum)})"
        )
        self.stdout.write(
            f"Personnes présentes dans plusieurs territoires : {_fr(counts.in_several_territories)}"
        )
