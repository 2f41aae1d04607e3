"""The preview of an import: the validation of the file (within the request, or by a task for a big file, whose
progress the page polls), its problems and options; then the report of the committed import."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views import View

from clausier.imports.kinds import KINDS
from clausier.imports.models import ImportRun, ImportState, ImportStatus
from clausier.imports.pipeline import skip_preview, validate
from clausier.imports.tasks import queue_validation, stalled, stored_problems
from clausier.www.imports.common import SHOWN_PROBLEMS, chosen_options, records_of, run_for
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin

# The list whose rows each kind of import writes (it has the « Importer » button): where to look after the commit.
FILLED_LISTS = {
    "heures": ("www:statement_list", "Voir les relevés d'heures"),
    "participants": ("www:participant_list", "Voir les participants"),
    "donneurs-d-ordre": ("www:buyer_list", "Voir les donneurs d'ordre"),
    "entreprises": ("www:company_list", "Voir les entreprises"),
    "structures": ("www:structure_list", "Voir les structures d'insertion"),
    "marches": ("www:market_list", "Voir les marchés"),
    "contrats": ("www:contract_list", "Voir les contrats"),
    "decp": ("www:market_list", "Voir les marchés"),
}


class ImportPreviewView(FacilitatorStaffRequiredMixin, View):
    http_method_names = ["get"]
    template_name = "www/imports/preview.html"

    def get(self, request, uuid, refusal=None):
        run = run_for(request, uuid)
        options = chosen_options(request.POST if refusal else request.GET)
        context = {
            "run": run,
            "title": f"Import « {run.filename} »",
            "refusal": refusal or [],
            "create_duplicates": bool(options.get("create_duplicates")),
            "notes": [],
            "kind_preview": {},
            "skip": {},
            "filled_list": FILLED_LISTS.get(run.kind),
        }
        if run.status == ImportStatus.UPLOADED and run.background:
            context.update(_background_context(run))
        elif run.status == ImportStatus.UPLOADED:
            kind, records = records_of(run)
            validation = validate(records, kind, run.mapping, facilitator=run.facilitator, options=options)
            context.update(
                validation=validation,
                counts=validation.counts,
                problems=validation.problems[:SHOWN_PROBLEMS],
                more_problems=max(0, validation.problem_count - SHOWN_PROBLEMS),
                rows=len(records.rows),
                skipped=len(records.skipped),
                mapping=[(kind.field(key).label, label) for key, label in run.mapping.items()],
                notes=validation.notes,
                kind_preview=kind.preview_context(validation) if validation.ok else {},
                skip={} if validation.ok else skip_preview(validation, kind, facilitator=run.facilitator),
            )
        return TemplateResponse(request, self.template_name, context, status=422 if refusal else 200)


@dataclass(frozen=True)
class StoredValidation:
    """The figures of a validation made by a task (`run.result`), as the preview template reads them."""

    ok: bool
    problem_count: int
    duplicate_count: int


def _background_context(run: ImportRun) -> dict:
    """The preview of a big file: its progress while a task works on it, then the validation it stored."""
    context = {"progress": _progress_context(run)}
    result = run.result
    if run.state != ImportState.READY or not result:
        return context
    kind = KINDS[run.kind]
    problems = stored_problems(result)
    options = result.get("options", {})
    context.update(
        validation=StoredValidation(result["ok"], result["problem_count"], result["duplicate_count"]),
        counts=result["counts"],
        problems=problems[:SHOWN_PROBLEMS],
        more_problems=max(0, result["problem_count"] - SHOWN_PROBLEMS),
        rows=result["rows"],
        skipped=result["skipped"],
        mapping=[(kind.field(key).label, label) for key, label in result["mapping"].items()],
        notes=result["notes"],
        create_duplicates=bool(options.get("create_duplicates")),
        refusal=run.message.splitlines(),
        skip=result.get("skip") or {},
    )
    return context


def _progress_context(run: ImportRun) -> dict:
    done, total = run.progress_done, run.progress_total
    return {
        "run": run,
        "done": done,
        "total": total,
        "percent": min(100, done * 100 // total) if total else 0,
        "writing": run.state == ImportState.COMMITTING and run.progress_step == "commit",
        "stalled": stalled(run),
        "messages": run.message.splitlines(),
    }


class ImportProgressView(FacilitatorStaffRequiredMixin, View):
    """The progress partial the preview polls (htmx, every 2 s); once the task has finished, it asks htmx to
    reload the page (`HX-Refresh`), which then shows the preview or the report."""

    http_method_names = ["get"]
    template_name = "www/imports/_progress.html"

    def get(self, request, uuid):
        run = run_for(request, uuid)
        response = TemplateResponse(request, self.template_name, {"progress": _progress_context(run)})
        if not run.running:
            response["HX-Refresh"] = "true"
        return response


class ImportVerifyView(FacilitatorStaffRequiredMixin, View):
    """POST: (re)validate a big file in the background, with the preview's options; GET: back to the preview."""

    def get(self, request, uuid):
        return redirect("www:import_preview", uuid=run_for(request, uuid).uuid)

    def post(self, request, uuid):
        run = run_for(request, uuid)
        if run.status != ImportStatus.UPLOADED:
            messages.info(request, "Ce fichier a déjà été importé.")
        elif run.background and not queue_validation(run, options=chosen_options(request.POST)):
            messages.info(request, "Ce fichier est en cours d'enregistrement.")
        # (a small file is validated by the preview itself)
        return redirect("www:import_preview", uuid=run.uuid)
