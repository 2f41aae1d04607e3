"""`clausier import KIND FILE --facilitator SLUG [--dry-run] [--mapping NAME] [--json]`.

Exit code 0 when the file was imported (or is valid, in a dry run), 1 when it was refused; the report is
written on stdout (JSON with `--json`).
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clausier.imports.kinds import KINDS
from clausier.imports.models import MappingTemplate
from clausier.imports.pipeline import run
from clausier.organizations.models import Facilitator, User


class Command(BaseCommand):
    help = (
        "Importe un tableur (XLSX, XLS, ODS, CSV) ou un fichier DECP (JSON) : tout ou rien ; "
        "code de sortie 1 si le fichier est refusé."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS), help="type d'import")
        parser.add_argument("file", help="chemin du fichier")
        parser.add_argument("--facilitator", required=True, help="identifiant (slug) du facilitateur")
        parser.add_argument("--dry-run", action="store_true", help="valider sans rien enregistrer")
        parser.add_argument("--mapping", help="nom d'un modèle de correspondance de colonnes enregistré")
        parser.add_argument("--sheet", help="nom de la feuille (défaut : la première)")
        parser.add_argument("--user", help="e-mail de l'utilisateur au nom duquel importer (journal d'audit)")
        parser.add_argument("--json", action="store_true", help="bilan en JSON")
        parser.add_argument(
            "--create-duplicates",
            action="store_true",
            help="participants : créer aussi les fiches signalées comme doublons probables",
        )
        parser.add_argument(
            "--only-new",
            action="store_true",
            help="decp : n'importer que les marchés non encore suivis (les autres restent tels quels)",
        )

    def handle(self, *args, kind, file, facilitator, dry_run, mapping, sheet, user, json: bool, **options):
        try:
            org = Facilitator.objects.get(slug=facilitator)
        except Facilitator.DoesNotExist as exc:
            raise CommandError(f"Aucun facilitateur avec l'identifiant « {facilitator} ».") from exc
        saved = None
        if mapping:
            template = MappingTemplate.objects.filter(facilitator=org, kind=kind, name=mapping).first()
            if template is None:
                raise CommandError(f"Aucun modèle de correspondance « {mapping} » pour ce type d'import.")
            saved = template.mapping
        by = None
        if user:
            by = User.objects.filter(email=user).first()
            if by is None:
                raise CommandError(f"Aucun utilisateur avec l'e-mail « {user} ».")
        report, _ = run(
            kind,
            Path(file),
            filename=Path(file).name,
            facilitator=org,
            by=by,
            mapping=saved,
            sheet=sheet,
            dry_run=dry_run,
            options={key: True for key in ("create_duplicates", "only_new") if options.get(key)} or None,
        )
        if json:
            self.stdout.write(_dumps(report.as_json()))
        else:
            for line in report.lines():
                self.stdout.write(line)
        if not report.ok:
            sys.exit(1)


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
