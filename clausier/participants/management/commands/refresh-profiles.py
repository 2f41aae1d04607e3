import json
import time

from django.core.management.base import BaseCommand, CommandError

from clausier.organizations.models import Facilitator
from clausier.participants.profiles import (
    DEFAULT_BATCH_SIZE,
    missing_profiles,
    profile_breakdown,
    refresh_facilitator_profiles,
    refresh_profiles,
)


class Command(BaseCommand):
    help = (
        "Recalcule les profils à l'entrée (tranche d'âge, niveau de qualification, critères, QPV, commune) "
        "des participants d'un facilitateur, par lots."
    )

    def add_arguments(self, parser):
        parser.add_argument("--facilitator", required=True, help="identifiant (slug) du facilitateur")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="participants par lot (défaut : 1000)"
        )
        parser.add_argument(
            "--missing-only", action="store_true", help="seulement les participants sans profil"
        )
        parser.add_argument("--json", action="store_true", help="sortie JSON (nombre et répartition)")

    def handle(self, *args, facilitator, batch_size, missing_only, **options):
        try:
            org = Facilitator.objects.get(slug=facilitator)
        except Facilitator.DoesNotExist as exc:
            raise CommandError(f"Aucun facilitateur avec l'identifiant « {facilitator} ».") from exc
        if batch_size < 1:
            raise CommandError("--batch-size doit être un entier positif.")
        started = time.monotonic()
        if missing_only:
            count = refresh_profiles(missing_profiles(org), batch_size=batch_size)
        else:
            count = refresh_facilitator_profiles(org, batch_size=batch_size)
        elapsed = time.monotonic() - started
        if options["json"]:
            payload = {"refreshed": count, "seconds": round(elapsed, 3), "breakdown": profile_breakdown(org)}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        self.stdout.write(f"{count} profil(s) recalculé(s) pour {org.name} en {elapsed:.1f} s.")
