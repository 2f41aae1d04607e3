"""Spreadsheet imports for the facilitator's staff: upload → column mapping → preview → commit (POST).

The uploaded file is kept in an `ImportRun` between steps; every step reads it again (a few hundred ms for a
large file). Files up to IMPORT_BACKGROUND_ROWS data rows are validated and committed within the request; the
bigger ones by a task (`clausier.imports.tasks`), whose progress the preview page polls (htmx, every 2 s, the
`_progress.html` partial) until the preview or the report can be shown.

All or nothing by default; a preview with problems offers to ignore the rows in error (checkbox
`ignorer_erreurs`, with the number of rows to leave out it announced, `lignes_ecartees`): the other rows are then
imported in one transaction, and the rows left out stay downloadable, with their errors, after the import.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.actions import Refused
from clausier.imports.kinds import KINDS
from clausier.imports.limits import ImportRefused, Limits, format_megabytes
from clausier.imports.models import ImportRun, ImportState, ImportStatus, MappingTemplate
from clausier.imports.pipeline import (
    commit,
    error_file,
    extension_of,
    keep_valid_rows,
    read,
    resolve_mapping,
    same_title,
    skip_preview,
    suggest_mapping,
    unchosen_namesakes,
    validate,
)
from clausier.imports.tasks import (
    in_background,
    queue_commit,
    queue_validation,
    stalled,
    stored_problems,
)
from clausier.imports.template import (
    blank_template,
    blank_template_filename,
    statement_template,
    template_filename,
)
from clausier.imports.workers import reap
from clausier.organizations.access import get_object_for_user_or_404
from clausier.organizations.models import Organization
from clausier.utils.dates import month_label
from clausier.utils.exports import XLSX_CONTENT_TYPE
from clausier.www.hours.views import parse_month, previous_month, today
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin

SHOWN_PROBLEMS = 200
KIND_PARAMETER = "type"  # `/imports/?type=participants`: the kind chosen (the lists' "Importer" buttons)


class UploadForm(DsfrFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="Type de fichier", choices=[(name, kind.label) for name, kind in KINDS.items()]
    )
    file = forms.FileField(label="Fichier", help_text="XLSX, XLS, ODS ou CSV ; JSON pour les DECP.")
    template = forms.ModelChoiceField(
        label="Correspondance de colonnes enregistrée",
        required=False,
        queryset=MappingTemplate.objects.none(),
        empty_label="Aucune : la proposer d'après les titres de colonnes",
    )
    sheet = forms.CharField(
        label="Feuille", required=False, max_length=255, help_text="Laissez vide pour la première feuille."
    )

    def __init__(self, *args, facilitator, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MappingTemplate.objects.filter(facilitator=facilitator)
        self.fields["file"].help_text = (
            f"XLSX, XLS, ODS ou CSV (JSON pour les DECP), "
            f"{format_megabytes(Limits.from_settings().max_bytes)} au plus."
        )


class MappingForm(DsfrFormMixin, forms.Form):
    save_as = forms.CharField(
        label="Enregistrer cette correspondance sous le nom",
        required=False,
        max_length=100,
        help_text="Facultatif : pour les prochains fichiers de même forme (par exemple le nom de l'entreprise).",
    )

    def __init__(self, *args, kind, columns, initial_mapping, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— aucune —"), *((c.choice, f"{c.letter} — {c.label}") for c in columns)]
        for spec in reversed(kind.fields):
            self.fields = {
                f"col_{spec.key}": forms.ChoiceField(
                    label=spec.label + (" (obligatoire)" if spec.required else ""),
                    help_text=spec.help,
                    choices=choices,
                    required=False,
                    initial=initial_mapping.get(spec.key, ""),
                ),
                **self.fields,
            }
        self.kind = kind

    def mapping(self) -> dict[str, str]:
        return {
            spec.key: self.cleaned_data[f"col_{spec.key}"]
            for spec in self.kind.fields
            if self.cleaned_data.get(f"col_{spec.key}")
        }


def _run(request, uuid) -> ImportRun:
    run = get_object_for_user_or_404(ImportRun, request.user, uuid=uuid)
    if run.running and reap(ImportRun.objects.filter(pk=run.pk)):  # its worker died: the page says so
        run.refresh_from_db()
    return run


CREATE_DUPLICATES = "creer_doublons"  # preview (GET) and commit (POST) parameter
ONLY_NEW = "nouveaux_seulement"  # commit (POST) parameter: DECP, import only the markets not yet followed
SKIP_INVALID = "ignorer_erreurs"  # commit (POST) parameter: leave the rows in error out, import the others
LEFT_OUT = "lignes_ecartees"  # commit (POST) parameter: how many rows the preview said would be left out


def _options(data) -> dict:
    """The kind's options chosen on the preview: create the likely duplicates anyway (participants), import
    only the markets not yet followed (DECP)."""
    options = {CREATE_DUPLICATES: "create_duplicates", ONLY_NEW: "only_new"}
    return {option: True for parameter, option in options.items() if data.get(parameter)}


def _records(run: ImportRun):
    kind = KINDS[run.kind]
    return kind, read(
        bytes(run.content), filename=run.filename, kind=kind, sheet=run.sheet or None, mapping=run.mapping
    )


class ImportStartView(FacilitatorStaffRequiredMixin, View):
    template_name = "www/imports/start.html"

    def render(self, form, status=200):
        runs = ImportRun.objects.visible_to(self.request.user)
        reap(runs)  # the runs whose worker died show as failed
        runs = runs.defer("content", "result", "left_out_file")[:10]
        templates = [kind for kind in KINDS.values() if kind.spreadsheet]
        return TemplateResponse(
            self.request,
            self.template_name,
            {"form": form, "runs": runs, "title": "Importer un tableur", "templates": templates},
            status=status,
        )

    def get(self, request):
        # `?type=participants`: from the list that the import fills, its kind chosen.
        kind = request.GET.get(KIND_PARAMETER)
        initial = {"kind": kind} if kind in KINDS else {}
        return self.render(UploadForm(facilitator=request.organization, initial=initial))

    def post(self, request):
        form = UploadForm(request.POST, request.FILES, facilitator=request.organization)
        if not form.is_valid():
            return self.render(form)
        upload, kind = form.cleaned_data["file"], KINDS[form.cleaned_data["kind"]]
        template = form.cleaned_data["template"]
        saved = template.mapping if template else None
        try:
            records = read(
                upload, filename=upload.name, kind=kind, sheet=form.cleaned_data["sheet"], mapping=saved
            )
        except ImportRefused as refusal:
            form.add_error("file", refusal.message)
            return self.render(form)
        upload.seek(0)
        mapping = suggest_mapping(records, kind, saved)
        run = ImportRun.objects.create(
            facilitator=request.organization,
            kind=kind.name,
            filename=upload.name[:255],
            content=upload.read(),
            sheet=records.table.sheet or "",
            mapping=mapping,
            created_by=request.user,
            background=in_background(len(records.rows)),
            row_count=len(records.rows),
        )
        _, problems = resolve_mapping(records, kind, mapping)
        if not problems and (kind.is_template(records) or template is not None):
            if run.background:
                queue_validation(run)
            return redirect("www:import_preview", uuid=run.uuid)
        return redirect("www:import_mapping", uuid=run.uuid)


class ImportMappingView(FacilitatorStaffRequiredMixin, View):
    template_name = "www/imports/mapping.html"

    def setup_run(self, request, uuid):
        self.run = _run(request, uuid)
        if self.run.status != ImportStatus.UPLOADED:
            raise Http404("Cet import est terminé.")
        self.kind, self.records = _records(self.run)

    def form(self, data=None):
        return MappingForm(
            data, kind=self.kind, columns=self.records.header.columns, initial_mapping=self.run.mapping
        )

    def render(self, form, problems=()):
        return TemplateResponse(
            self.request,
            self.template_name,
            {
                "form": form,
                "run": self.run,
                "problems": problems,
                "header_row": self.records.header.number,
                "samples": [
                    [row[column.index] for column in self.records.header.columns]
                    for row in self.records.rows[:3]
                ],
                "columns": self.records.header.columns,
                "title": f"Colonnes du fichier « {self.run.filename} »",
            },
        )

    def get(self, request, uuid):
        try:
            self.setup_run(request, uuid)
        except ImportRefused as refusal:  # pragma: no cover - the file was read at upload
            raise Http404(refusal.message) from refusal
        # Columns sharing a title are never chosen automatically: say so before the user picks.
        unchosen = unchosen_namesakes(self.records, self.kind, self.run.mapping)
        return self.render(
            self.form(), [same_title(c, self.kind.field(k).label) for k, c in unchosen.items()]
        )

    def post(self, request, uuid):
        self.setup_run(request, uuid)
        if self.run.state == ImportState.COMMITTING:
            messages.info(request, "Ce fichier est en cours d'enregistrement.")
            return redirect("www:import_preview", uuid=self.run.uuid)
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render(form)
        mapping = form.mapping()
        _, problems = resolve_mapping(self.records, self.kind, mapping)
        if problems:
            return self.render(form, problems)
        with transaction.atomic():
            self.run.mapping = mapping
            self.run.save(update_fields=["mapping", "updated_at"])
            name = form.cleaned_data["save_as"].strip()
            if name:
                MappingTemplate.objects.update_or_create(
                    facilitator=self.run.facilitator,
                    kind=self.run.kind,
                    name=name,
                    defaults={"mapping": mapping, "created_by": request.user},
                )
        if name:
            messages.success(request, f"Correspondance enregistrée sous le nom « {name} ».")
        if self.run.background:
            queue_validation(self.run)
        return redirect("www:import_preview", uuid=self.run.uuid)


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
        run = _run(request, uuid)
        options = _options(request.POST if refusal else request.GET)
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
            kind, records = _records(run)
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
        run = _run(request, uuid)
        response = TemplateResponse(request, self.template_name, {"progress": _progress_context(run)})
        if not run.running:
            response["HX-Refresh"] = "true"
        return response


class ImportVerifyView(FacilitatorStaffRequiredMixin, View):
    """POST: (re)validate a big file in the background, with the preview's options; GET: back to the preview."""

    def get(self, request, uuid):
        return redirect("www:import_preview", uuid=_run(request, uuid).uuid)

    def post(self, request, uuid):
        run = _run(request, uuid)
        if run.status != ImportStatus.UPLOADED:
            messages.info(request, "Ce fichier a déjà été importé.")
        elif run.background and not queue_validation(run, options=_options(request.POST)):
            messages.info(request, "Ce fichier est en cours d'enregistrement.")
        # (a small file is validated by the preview itself)
        return redirect("www:import_preview", uuid=run.uuid)


class ImportCommitView(FacilitatorStaffRequiredMixin, View):
    """POST: import the file; GET: back to its preview (after the access check)."""

    def get(self, request, uuid):
        return redirect("www:import_preview", uuid=_run(request, uuid).uuid)

    def post(self, request, uuid):
        run = _run(request, uuid)
        if run.status != ImportStatus.UPLOADED:
            messages.info(request, "Ce fichier a déjà été importé.")
            return redirect("www:import_preview", uuid=run.uuid)
        skip = bool(request.POST.get(SKIP_INVALID))
        announced = _announced(request.POST) if skip else None
        if run.background:
            options = {**run.result.get("options", {}), **_options(request.POST)}
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
        kind, records = _records(run)
        options = _options(request.POST)
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


class ImportErrorsView(FacilitatorStaffRequiredMixin, View):
    """The user's own file with an added "erreurs" column: a CSV as a CSV (same encoding and separator), a
    workbook as an XLSX (same sheet, rows in place); after an import that left the rows in error out, those
    rows alone (`run.left_out_file`). The file leaves the application: logged as an export."""

    http_method_names = ["get"]

    def get(self, request, uuid):
        run = _run(request, uuid)
        if run.status == ImportStatus.COMMITTED and run.left_out_type:
            return _left_out_file(request, run)
        if run.status != ImportStatus.UPLOADED:
            raise Http404("Cet import est terminé.")
        if run.background and run.state != ImportState.READY:
            return redirect("www:import_preview", uuid=run.uuid)
        kind, records = _records(run)
        if run.background:  # a big file: the problems its task found, not a new validation in the request
            problems, count = stored_problems(run.result), run.result.get("problem_count", 0)
        else:
            validation = validate(records, kind, run.mapping, facilitator=run.facilitator)
            problems, count = validation.problems, validation.problem_count
        errors = error_file(bytes(run.content), records, problems)
        record(
            action=Action.EXPORT,
            obj=run,
            by=request.user,
            detail=f"fichier des erreurs ({errors.extension.upper()}, {count} problème(s))",
        )
        return _attachment(run, errors.content, errors.content_type, errors.extension)


def _left_out_file(request, run: ImportRun) -> HttpResponse:
    """After an import that left the rows in error out: those rows alone, with their errors."""
    extension = extension_of(run.left_out_type)
    record(
        action=Action.EXPORT,
        obj=run,
        by=request.user,
        detail=f"fichier des lignes écartées ({extension.upper()}, {run.summary.get('left_out', 0)} ligne(s))",
    )
    return _attachment(run, bytes(run.left_out_file), run.left_out_type, extension)


def _attachment(run: ImportRun, content: bytes, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    stem = run.filename.rsplit(".", 1)[0][:80] or "fichier"
    response["Content-Disposition"] = f'attachment; filename="{_ascii(stem)}-erreurs.{extension}"'
    return response


class ImportTemplateView(FacilitatorStaffRequiredMixin, View):
    """A blank file of an import kind (`?type=participants`): its column titles, and what each column takes;
    without a kind that has one, back to the import page (which lists them)."""

    http_method_names = ["get"]

    def get(self, request):
        kind = request.GET.get(KIND_PARAMETER)
        if kind not in KINDS or not KINDS[kind].spreadsheet:
            return redirect("www:import_start")
        response = HttpResponse(blank_template(KINDS[kind]), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{blank_template_filename(KINDS[kind])}"'
        return response


class StatementTemplateView(FacilitatorStaffRequiredMixin, View):
    """The statement template of an employer (company or insertion structure) for a month (`?mois=AAAA-MM`)."""

    http_method_names = ["get"]

    def get(self, request, uuid):
        employer = get_object_for_user_or_404(Organization, request.user, uuid=uuid)
        month = parse_month(request.GET.get("mois")) or previous_month(today())
        data = statement_template(facilitator=request.organization, employer=employer, month=month)
        # Names and birth dates leave the application: an export of personal data, logged.
        record(action=Action.EXPORT, obj=employer, by=request.user, detail=f"modèle de relevé {month:%m/%Y}")
        response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{template_filename(employer, month)}"'
        response["X-Clausier-Month"] = month_label(month)
        return response


def _ascii(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in plain)


def preview_url(run) -> str:
    return reverse("www:import_preview", kwargs={"uuid": run.uuid})
