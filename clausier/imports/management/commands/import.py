"""`clausier import KIND FILE --facilitator SLUG [--dry-run] [--skip-invalid] [--mapping NAME] [--json]`.

All or nothing by default. With `--skip-invalid`, the rows in error are left out and the others imported (in
one transaction); the rows left out are written, with an "erreurs" column, in the user's own format next to
FILE (`NAME-erreurs.csv` or `.xlsx`, or `--errors-file PATH`). A problem of the file as a whole (a required
column missing, an unreadable file) still refuses everything.

Exit code 0 when the file was imported (or is valid, in a dry run), 1 when it was refused; the report is
written on stdout (JSON with `--json`).
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clausier.imports.kinds import KINDS
from clausier.imports.models import MappingTemplate
from clausier.imports.pipeline import error_file, run
from clausier.organizations.models import Facilitator, User


class Command(BaseCommand):
    help = (
        "Importe un tableur (XLSX, XLS, ODS, CSV) ou un fichier DECP (JSON) : tout ou rien, sauf avec "
        "--skip-invalid (les lignes en erreur sont écartées, les autres importées, et les lignes écartées "
        "rendues dans un fichier des erreurs) ; code de sortie 1 si le fichier est refusé."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS), help="type d'import")
        parser.add_argument("file", help="chemin du fichier")
        parser.add_argument("--facilitator", required=True, help="identifiant (slug) du facilitateur")
        parser.add_argument("--dry-run", action="store_true", help="valider sans rien enregistrer")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help=(
                "écarter les lignes en erreur et importer les autres (en une seule transaction) au lieu de tout "
                "refuser ; les lignes écartées sont écrites, avec une colonne « erreurs », dans le format du "
                "fichier, à côté de lui (NOM-erreurs.csv ou .xlsx, ou --errors-file). Une erreur qui concerne "
                "le fichier entier (colonne obligatoire absente, fichier illisible) refuse toujours tout"
            ),
        )
        parser.add_argument(
            "--errors-file",
            help="où écrire les lignes écartées avec leurs erreurs (défaut : NOM-erreurs.EXT à côté du fichier)",
        )
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

    def handle(
        self,
        *args,
        kind,
        file,
        facilitator,
        dry_run,
        mapping,
        sheet,
        user,
        json: bool,
        skip_invalid: bool = False,
        errors_file: str | None = None,
        **options,
    ):
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
        path = Path(file)
        report, validation = run(
            kind,
            path,
            filename=path.name,
            facilitator=org,
            by=by,
            mapping=saved,
            sheet=sheet,
            dry_run=dry_run,
            options={key: True for key in ("create_duplicates", "only_new") if options.get(key)} or None,
            skip_invalid=skip_invalid,
        )
        written = None
        if report.ok and report.left_out:
            errors = error_file(
                path.read_bytes(), validation.records, validation.left_out_problems, only=validation.left_out
            )
            written = Path(errors_file or path.with_name(f"{path.stem}-erreurs.{errors.extension}"))
            try:
                written.write_bytes(errors.content)
            except OSError as exc:
                self.stderr.write(f"Impossible d'écrire le fichier des lignes écartées {written} : {exc}")
                written = None
        if json:
            self.stdout.write(_dumps({**report.as_json(), "errors_file": str(written) if written else None}))
        else:
            for line in report.lines():
                self.stdout.write(line)
            if written:
                self.stdout.write(f"Lignes écartées, avec leurs erreurs : {written}")
        if not report.ok:
            sys.exit(1)


def _dumps(data):
    return json.dumps(data, ensure_ascii=False)
