"""Spreadsheet imports for the facilitator's staff: upload → column mapping → preview → commit (POST), in
`upload`, `preview` and `commit`; the files to download (errors, blank templates, statement templates) in
`downloads`. This module holds what the steps share: the run of the URL, its records, the preview's options.

The uploaded file is kept in an `ImportRun` between steps; every step reads it again (a few hundred ms for a
large file). Files up to IMPORT_BACKGROUND_ROWS data rows are validated and committed within the request; the
bigger ones by a task (`clausier.imports.tasks`), whose progress the preview page polls (htmx, every 2 s, the
`_progress.html` partial) until the preview or the report can be shown.

All or nothing by default; a preview with problems offers to ignore the rows in error (checkbox
`ignorer_erreurs`, with the number of rows to leave out it announced, `lignes_ecartees`): the other rows are then
imported in one transaction, and the rows left out stay downloadable, with their errors, after the import.
"""

from django.urls import reverse

from clausier.imports.kinds import KINDS
from clausier.imports.models import ImportRun
from clausier.imports.pipeline import read
from clausier.imports.workers import reap
from clausier.organizations.access import get_object_for_user_or_404

SHOWN_PROBLEMS = 200
KIND_PARAMETER = "type"  # `/imports/?type=participants`: the kind chosen (the lists' "Importer" buttons)


def run_for(request, uuid) -> ImportRun:
    run = get_object_for_user_or_404(ImportRun, request.user, uuid=uuid)
    if run.running and reap(ImportRun.objects.filter(pk=run.pk)):  # its worker died: the page says so
        run.refresh_from_db()
    return run


CREATE_DUPLICATES = "creer_doublons"  # preview (GET) and commit (POST) parameter
ONLY_NEW = "nouveaux_seulement"  # commit (POST) parameter: DECP, import only the markets not yet followed
SKIP_INVALID = "ignorer_erreurs"  # commit (POST) parameter: leave the rows in error out, import the others
LEFT_OUT = "lignes_ecartees"  # commit (POST) parameter: how many rows the preview said would be left out


def chosen_options(data) -> dict:
    """The kind's options chosen on the preview: create the likely duplicates anyway (participants), import
    only the markets not yet followed (DECP)."""
    options = {CREATE_DUPLICATES: "create_duplicates", ONLY_NEW: "only_new"}
    return {option: True for parameter, option in options.items() if data.get(parameter)}


def records_of(run: ImportRun):
    kind = KINDS[run.kind]
    return kind, read(
        bytes(run.content), filename=run.filename, kind=kind, sheet=run.sheet or None, mapping=run.mapping
    )


def preview_url(run) -> str:
    return reverse("www:import_preview", kwargs={"uuid": run.uuid})
