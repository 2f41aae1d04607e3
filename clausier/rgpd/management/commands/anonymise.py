"""`clausier anonymise --facilitator SLUG [--years 2] [--dry-run]`: the retention rule (clausier.rgpd.anonymisation)."""

from django.core.management.base import BaseCommand, CommandError

from clausier.organizations.models import Organization, OrganizationKind
from clausier.rgpd.anonymisation import apply_retention


class Command(BaseCommand):
    help = (
        "Anonymise les participants sans contact depuis la durée de conservation du facilitateur "
        "(2 ans par défaut, référentiel CNIL) ; les indicateurs ne bougent pas."
    )

    def add_arguments(self, parser):
        parser.add_argument("--facilitator", required=True, help="Identifiant (slug) du facilitateur.")
        parser.add_argument(
            "--years",
            type=int,
            default=None,
            help="Durée sans contact, en années (par défaut : paramètre du facilitateur).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien modifier.")

    def handle(self, *args, facilitator, years, dry_run, **options):
        org = Organization.objects.filter(kind=OrganizationKind.FACILITATOR, slug=facilitator).first()
        if org is None:
            raise CommandError(f"Facilitateur inconnu : {facilitator}")
        if years is not None and years < 1:
            raise CommandError("La durée de conservation est d'au moins 1 an.")
        report = apply_retention(org, years=years, dry_run=dry_run)
        self.stdout.write(report.summary())
