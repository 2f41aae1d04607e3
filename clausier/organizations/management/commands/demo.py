"""`clausier demo`: the Toulouse Métropole Emploi demo territory (logic in `clausier.demo.builder`)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clausier.demo.builder import build_demo, delete_territory
from clausier.demo.calibration import DEMO
from clausier.demo.users import demo_credentials
from clausier.organizations.models import Facilitator
from clausier.reporting.indicators import territory_figures

DEBUG_ONLY = (
    "La démo crée des comptes dont le mot de passe est public : elle ne s'exécute qu'en développement "
    "(DEBUG=1). Pour générer les données sans comptes, ajoutez --no-users."
)


class Command(BaseCommand):
    help = (
        "Construit le territoire de démonstration « Toulouse Métropole Emploi » (2012 à aujourd'hui) "
        "et ses comptes de démonstration."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="supprime puis reconstruit le territoire de démo"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="ne fait rien si la base contient déjà un facilitateur"
        )
        parser.add_argument(
            "--logins", action="store_true", help="affiche seulement les comptes de démonstration"
        )
        parser.add_argument("--no-users", action="store_true", help="ne crée pas de comptes de démonstration")

    def handle(self, *args, reset=False, if_empty=False, logins=False, no_users=False, **options):
        if logins:
            if not settings.DEBUG:
                raise CommandError(DEBUG_ONLY)
            self._print_logins()
            return
        if not no_users and not settings.DEBUG:
            raise CommandError(DEBUG_ONLY)
        if if_empty and Facilitator.objects.exists():
            return
        existing = Facilitator.objects.filter(slug=DEMO.slug).first()
        if existing is not None:
            if not reset:
                raise CommandError(
                    f"Le facilitateur de démonstration « {DEMO.name} » existe déjà. "
                    "Relancez avec --reset pour le reconstruire."
                )
            delete_territory(existing)
            self.stdout.write(f"Territoire « {DEMO.name} » supprimé.")
        started = time.monotonic()
        builder = build_demo(with_users=not no_users)
        if options.get("verbosity", 1) == 0:
            return
        figures = territory_figures(builder.facilitator)
        self.stdout.write(
            self.style.SUCCESS(
                f"Territoire « {DEMO.name} » construit en {time.monotonic() - started:.1f} s : "
            )
            + f"{figures.buyers} donneurs d'ordre, {figures.hours} heures, {figures.contracts} contrats, "
            f"{figures.participants} bénéficiaires sans double compte, dont {figures.qpv_residents} résidents "
            "d'un QPV."
        )
        for note in builder.notes:  # the official data: QPV residence, SIAE directory (or why not)
            self.stdout.write(f"  {note}")
        if not no_users:
            self._print_logins()

    def _print_logins(self):
        self.stdout.write("Comptes de démonstration :")
        for role, email, password in demo_credentials():
            self.stdout.write(f"  {role:<48} {email:<24} {password}")
