import json

from django.core.management.base import BaseCommand, CommandError

from clausier.organizations.models import Facilitator
from clausier.reporting.indicators import territory_figures


class Command(BaseCommand):
    help = "Affiche les chiffres du territoire d'un facilitateur (donneurs d'ordre, heures, contrats, bénéficiaires, ETP)."

    def add_arguments(self, parser):
        parser.add_argument("--facilitator", required=True, help="identifiant (slug) du facilitateur")
        parser.add_argument("--year", type=int, help="limiter à une année civile")
        parser.add_argument("--json", action="store_true", help="sortie JSON")

    def handle(self, *args, facilitator, year, json: bool = False, **options):
        try:
            org = Facilitator.objects.get(slug=facilitator)
        except Facilitator.DoesNotExist as exc:
            raise CommandError(f"Aucun facilitateur avec l'identifiant « {facilitator} ».") from exc
        figures = territory_figures(org, year=year)
        data = {"facilitator": org.slug, "year": year, **figures.as_json()}
        if json:
            self.stdout.write(_dumps(data))
            return
        self.stdout.write(f"{org.name}{f' — {year}' if year else ''}")
        self.stdout.write(f"Donneurs d'ordre : {figures.buyers}")
        self.stdout.write(f"Heures réalisées : {figures.hours}")
        self.stdout.write(f"Contrats : {figures.contracts}")
        self.stdout.write(f"Bénéficiaires (sans double compte) : {figures.participants}")
        self.stdout.write(f"ETP : {figures.fte}")


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
