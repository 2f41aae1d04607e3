import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from clausier.organizations.models import Facilitator
from clausier.procurement.models import Lot
from clausier.procurement.progress import lots_progress


class Command(BaseCommand):
    help = "Liste les lots avec clause : objectif, heures réalisées, projection à la fin du lot et statut."

    def add_arguments(self, parser):
        parser.add_argument("--facilitator", required=True, help="identifiant (slug) du facilitateur")
        parser.add_argument("--json", action="store_true", help="sortie JSON")
        parser.add_argument("--date", type=datetime.date.fromisoformat, help="date du calcul (AAAA-MM-JJ)")

    def handle(self, *args, facilitator, date, **options):
        try:
            org = Facilitator.objects.get(slug=facilitator)
        except Facilitator.DoesNotExist as exc:
            raise CommandError(f"Aucun facilitateur avec l'identifiant « {facilitator} ».") from exc
        lots = (
            Lot.objects.filter(facilitator=org, clause__isnull=False)
            .select_related("clause", "market__buyer")
            .order_by("market__reference", "number")
        )
        progress = lots_progress(lots, today=date or datetime.date.today())
        rows = [
            {
                "lot": str(p.lot.uuid),
                "market": p.lot.market.reference,
                "number": p.lot.number,
                "title": p.lot.title,
                "buyer": p.lot.market.buyer.name,
                "target": float(p.followup.target),
                "realised": float(p.followup.realised),
                "from_pool": float(p.from_pool),
                "projection": None if p.followup.projection is None else float(p.followup.projection),
                "status": p.followup.status.value,
            }
            for p in progress.values()
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        self.stdout.write(
            f"{'Marché':<16} {'Lot':<6} {'Objectif':>10} {'Réalisé':>10} {'Projection':>11}  Statut"
        )
        for row, p in zip(rows, progress.values(), strict=True):
            projection = "—" if row["projection"] is None else f"{row['projection']:.0f}"
            self.stdout.write(
                f"{row['market'][:16]:<16} {row['number'][:6]:<6} {row['target']:>10.0f} {row['realised']:>10.0f} "
                f"{projection:>11}  {p.followup.status.label}"
            )
