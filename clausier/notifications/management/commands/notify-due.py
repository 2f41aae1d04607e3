import datetime
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clausier.notifications.models import Category
from clausier.notifications.periodic import due_notifications, send_due


class Command(BaseCommand):
    help = (
        "Envoie les notifications périodiques dues à cette date : relevés du mois précédent à transmettre "
        "(par défaut à partir du 1er) ou en retard (par défaut à partir du 10), éligibilités qui prennent fin "
        "dans les 30 jours (par défaut) ; chaque facilitateur règle ces jours dans ses paramètres. "
        "Idempotent : relancée, la commande n'envoie rien deux fois. À lancer une fois par jour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="date du jour à considérer, AAAA-MM-JJ (défaut : aujourd'hui)")
        parser.add_argument(
            "--dry-run", action="store_true", help="affiche ce qui serait envoyé, sans rien envoyer ni écrire"
        )

    def handle(self, *args, date=None, dry_run=False, **options):
        try:
            today = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"Date invalide « {date} » : attendu AAAA-MM-JJ.") from exc
        if not settings.SITE_URL:
            self.stderr.write(
                "SITE_URL n'est pas défini : les liens des e-mails seront relatifs (définissez l'adresse du site)."
            )
        outgoing = due_notifications(today) if dry_run else send_due(today)
        for o in outgoing:
            self.stdout.write(f"{o.user.email} — {o.subject}")
        counts = Counter(str(o.category) for o in outgoing)
        detail = ", ".join(f"{Category(c).label} : {n}" for c, n in sorted(counts.items()))
        verb = "à envoyer (simulation, rien n'est envoyé)" if dry_run else "envoyé(s)"
        self.stdout.write(
            f"{len(outgoing)} e-mail(s) {verb} pour le {today:%d/%m/%Y}"
            + (f" — {detail}." if detail else ".")
        )
