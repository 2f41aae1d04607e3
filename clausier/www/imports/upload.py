"""The first steps of an import: the upload (the kind, the file, a saved column mapping) and the column mapping,
saved under a name if asked."""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views import View

from clausier.imports.kinds import KINDS
from clausier.imports.limits import ImportRefused, Limits, format_megabytes
from clausier.imports.models import ImportRun, ImportState, ImportStatus, MappingTemplate
from clausier.imports.pipeline import read, resolve_mapping, same_title, suggest_mapping, unchosen_namesakes
from clausier.imports.tasks import in_background, queue_validation
from clausier.imports.workers import reap
from clausier.www.imports.common import KIND_PARAMETER, records_of, run_for
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin


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
        self.run = run_for(request, uuid)
        if self.run.status != ImportStatus.UPLOADED:
            raise Http404("Cet import est terminé.")
        self.kind, self.records = records_of(self.run)

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
