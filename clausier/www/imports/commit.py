"""The commit of an import (POST): all or nothing, or the rows without errors when asked; a big file by a task."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.actions import Refused
from clausier.imports.models import ImportState, ImportStatus
from clausier.imports.pipeline import commit, error_file, keep_valid_rows, validate
from clausier.imports.tasks import queue_commit
from clausier.www.imports.common import LEFT_OUT, SKIP_INVALID, chosen_options, records_of, run_for
from clausier.www.imports.preview import ImportPreviewView
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin


class ImportCommitView(FacilitatorStaffRequiredMixin, View):
    """POST: import the file; GET: back to its preview (after the access check)."""

    def get(self, request, uuid):
        return redirect("www:import_preview", uuid=run_for(request, uuid).uuid)

    def post(self, request, uuid):
        run = run_for(request, uuid)
        if run.status != ImportStatus.UPLOADED:
            messages.info(request, "Ce fichier a déjà été importé.")
            return redirect("www:import_preview", uuid=run.uuid)
        skip = bool(request.POST.get(SKIP_INVALID))
        announced = _announced(request.POST) if skip else None
        if run.background:
            options = {**run.result.get("options", {}), **chosen_options(request.POST)}
            if run.state == ImportState.READY and queue_commit(
                run, by=request.user, options=options, skip_invalid=skip, left_out=announced
            ):
                messages.info(
                    request,
                    "L'enregistrement des lignes sans erreur est lancé : toutes ou aucune, il peut prendre "
                    "quelques minutes."
                    if skip and not run.result.get("ok")
                    else "L'enregistrement est lancé : tout ou rien, il peut prendre quelques minutes.",
                )
            return redirect("www:import_preview", uuid=run.uuid)
        kind, records = records_of(run)
        options = chosen_options(request.POST)
        validation = validate(records, kind, run.mapping, facilitator=run.facilitator, options=options)
        if not validation.ok:
            if not skip:
                return redirect("www:import_preview", uuid=run.uuid)
            try:
                validation = keep_valid_rows(validation, kind, facilitator=run.facilitator)
            except Refused as refusal:
                return self.refuse(request, uuid, refusal)
            if announced is not None and len(validation.left_out) != announced:
                messages.warning(
                    request,
                    f"Les données ont changé depuis l'aperçu : {len(validation.left_out)} ligne(s) seraient "
                    f"maintenant écartées au lieu de {announced}. Rien n'a été enregistré : vérifiez l'aperçu "
                    "avant d'importer.",
                )
                return redirect("www:import_preview", uuid=run.uuid)
        fields = ["status", "summary", "committed_at", "content", "updated_at"]
        if validation.left_out:
            errors = error_file(
                bytes(run.content), validation.records, validation.left_out_problems, only=validation.left_out
            )
            run.left_out_file, run.left_out_type = errors.content, errors.content_type
            fields += ["left_out_file", "left_out_type"]
        try:
            with transaction.atomic():
                counts = commit(validation, kind, facilitator=run.facilitator, by=request.user)
                if validation.left_out:
                    counts["left_out"] = len(validation.left_out)
                run.status, run.summary, run.committed_at = ImportStatus.COMMITTED, counts, timezone.now()
                run.content = b""  # the figures are in the database now: do not keep the personal data twice
                run.save(update_fields=fields)
                record(action=Action.CREATE, obj=run, by=request.user, changes={"bilan": [None, counts]})
        except Refused as refusal:
            return self.refuse(request, uuid, refusal)
        done = (
            f"Import terminé : {counts['create']} ligne(s) créée(s), {counts['update']} mise(s) à jour, "
            f"{counts['unchanged']} inchangée(s)"
        )
        if validation.left_out:
            done += (
                f" ; {len(validation.left_out)} ligne(s) en erreur écartée(s), non enregistrées : "
                "téléchargez-les avec leurs erreurs pour les corriger"
            )
        messages.success(request, done + ".")
        return redirect("www:import_preview", uuid=run.uuid)

    def refuse(self, request, uuid, refusal: Refused):
        view = ImportPreviewView()
        view.setup(request, uuid=uuid)
        return view.get(request, uuid, refusal=refusal.messages)


def _announced(data) -> int | None:
    """The number of rows the preview said would be left out (`lignes_ecartees`), if it is one."""
    try:
        return int(data.get(LEFT_OUT, ""))
    except ValueError:
        return None
