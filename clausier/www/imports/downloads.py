"""The files the imports give to download: the user's file with its errors (or the rows left out), the blank file
of a kind, an employer's statement template. The files with personal data are logged as exports."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.imports.kinds import KINDS
from clausier.imports.models import ImportRun, ImportState, ImportStatus
from clausier.imports.pipeline import error_file, extension_of, validate
from clausier.imports.tasks import stored_problems
from clausier.imports.template import (
    blank_template,
    blank_template_filename,
    statement_template,
    template_filename,
)
from clausier.organizations.access import get_object_for_user_or_404
from clausier.organizations.models import Organization
from clausier.utils.dates import month_label
from clausier.utils.exports import XLSX_CONTENT_TYPE
from clausier.www.hours.views import parse_month, previous_month, today
from clausier.www.imports.common import KIND_PARAMETER, records_of, run_for
from clausier.www.kit.mixins import FacilitatorStaffRequiredMixin


class ImportErrorsView(FacilitatorStaffRequiredMixin, View):
    """The user's own file with an added "erreurs" column: a CSV as a CSV (same encoding and separator), a
    workbook as an XLSX (same sheet, rows in place); after an import that left the rows in error out, those
    rows alone (`run.left_out_file`). The file leaves the application: logged as an export."""

    http_method_names = ["get"]

    def get(self, request, uuid):
        run = run_for(request, uuid)
        if run.status == ImportStatus.COMMITTED and run.left_out_type:
            return _left_out_file(request, run)
        if run.status != ImportStatus.UPLOADED:
            raise Http404("Cet import est terminé.")
        if run.background and run.state != ImportState.READY:
            return redirect("www:import_preview", uuid=run.uuid)
        kind, records = records_of(run)
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
