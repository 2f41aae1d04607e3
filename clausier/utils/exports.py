"""Streaming exports of tabular rows: XLSX (typed cells) and CSV (French Excel, formula injection neutralised).

One helper for every list page (`clausier.www.kit.lists.FilteredListView`): the caller gives the column labels and
an iterable of rows (each a sequence of plain Python values); nothing holds the whole file in memory.

- XLSX: XlsxWriter in constant-memory mode, written row by row to a temporary file, then streamed with
  `FileResponse`. Numbers are numbers, dates are dates (dd/mm/yyyy), the rest is text.
- CSV: `StreamingHttpResponse`, UTF-8 with BOM and `;` separator (what a French Excel opens directly), decimal
  comma, dates dd/mm/yyyy. A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with
  an apostrophe so that a spreadsheet never evaluates it as a formula (CSV injection).
"""

import csv
import datetime
import decimal
import tempfile
from collections.abc import Callable, Iterable, Sequence

import xlsxwriter
from django.db import models
from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import slugify

FORMATS = ("xlsx", "csv")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell


def neutralise(text: str) -> str:
    """`=1+1` → `'=1+1`: a text cell a spreadsheet will show, never evaluate."""
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def resolve(row, accessor: str | Callable | None):
    """The value of one cell: `accessor` is a dotted attribute path (`participant.last_name`; a method found on
    the way is called, e.g. `get_kind_display`) or a callable of the row."""
    if accessor is None:
        return None
    if callable(accessor):
        value = accessor(row)
    else:
        value = row
        for part in accessor.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if callable(value) and not isinstance(value, models.Model):
                value = value()
            if value is None:
                return None
    return plain(value)


def plain(value):
    """A value a spreadsheet can type: numbers, dates and booleans kept, everything else as text."""
    if value is None or isinstance(value, (bool, int, float, decimal.Decimal, datetime.date)):
        return value
    return str(value)


def filename(title: str, extension: str, today: datetime.date | None = None) -> str:
    today = today or datetime.date.today()
    return f"{slugify(title) or 'export'}-{today:%Y-%m-%d}.{extension}"


# --- XLSX -----------------------------------------------------------------------------------------------------


def write_xlsx(file, headers: Sequence[str], rows: Iterable[Sequence], *, sheet_name: str = "Export") -> int:
    """Write the workbook to `file` (a path or a binary file object); return the number of data rows."""
    workbook = xlsxwriter.Workbook(
        file, {"constant_memory": True, "remove_timezone": True, "strings_to_formulas": False}
    )
    header_format = workbook.add_format({"bold": True, "bg_color": "#EEEEEE", "bottom": 1})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    datetime_format = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    integer_format = workbook.add_format({"num_format": "# ##0"})
    decimal_format = workbook.add_format({"num_format": "# ##0.00"})
    sheet = workbook.add_worksheet(_sheet_name(sheet_name))
    sheet.set_column(0, max(len(headers) - 1, 0), 20)
    for col, label in enumerate(headers):
        sheet.write_string(0, col, label, header_format)
    sheet.freeze_panes(1, 0)
    count = 0
    for count, values in enumerate(rows, start=1):
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                sheet.write_boolean(count, col, value)
            elif isinstance(value, int):
                sheet.write_number(count, col, value, integer_format)
            elif isinstance(value, (float, decimal.Decimal)):
                sheet.write_number(count, col, float(value), decimal_format)
            elif isinstance(value, datetime.datetime):
                sheet.write_datetime(count, col, value, datetime_format)
            elif isinstance(value, datetime.date):
                sheet.write_datetime(count, col, value, date_format)
            else:
                sheet.write_string(count, col, str(value)[:MAX_CELL_CHARS])
    if count:
        sheet.autofilter(0, 0, count, max(len(headers) - 1, 0))
    workbook.close()
    return count


def _sheet_name(title: str) -> str:
    name = "".join(" " if c in "[]:*?/\\'" else c for c in title)[:31].strip()
    return name or "Export"


def xlsx_response(title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> FileResponse:
    """Write the rows to a temporary file (deleted when the response is closed), then stream it."""
    temporary = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (closed by the FileResponse)
    try:
        write_xlsx(temporary, headers, rows, sheet_name=title)
        temporary.seek(0)
    except BaseException:
        temporary.close()
        raise
    return FileResponse(
        temporary, as_attachment=True, filename=filename(title, "xlsx"), content_type=XLSX_CONTENT_TYPE
    )


# --- CSV ------------------------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose `write` returns the text, for `csv.writer` in a generator."""

    def write(self, text):
        return text


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value).replace(".", ",")
    if isinstance(value, datetime.datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, datetime.date):
        return f"{value:%d/%m/%Y}"
    return neutralise(str(value))


def csv_lines(headers: Sequence[str], rows: Iterable[Sequence]):
    """The CSV text, line by line: BOM, header, rows."""
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow([neutralise(str(h)) for h in headers])
    for values in rows:
        yield writer.writerow([csv_cell(v) for v in values])


def csv_response(title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_lines(headers, rows)), content_type=CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{filename(title, "csv")}"'
    return response


def export_response(fmt: str, title: str, headers: Sequence[str], rows: Iterable[Sequence]):
    if fmt == "xlsx":
        return xlsx_response(title, headers, rows)
    if fmt == "csv":
        return csv_response(title, headers, rows)
    raise ValueError(f"unknown export format {fmt!r}")


# --- List pages -----------------------------------------------------------------------------------------------


class ListExportMixin:
    """`?format=xlsx|csv` on a list page exports the page's rows: same queryset, filters, search and sort, all
    pages, so only what the user may see. `colonnes=<key>` (repeated or comma-separated) picks among the list's
    declared exportable columns (a `Column` with a `value`); unknown names are ignored, none valid means all.

    An export of personal data (`export_personal_data = True`: participants, contracts...) writes one audit
    entry (`Action.EXPORT`: which list, filters, row count). Queries: the count (personal data), the audit entry,
    then one query per `export_chunk_size` rows (plus what `prepare_export_chunk` adds per chunk).
    """

    export_personal_data = False
    export_chunk_size = 2000
    export_param = "format"
    columns_param = "colonnes"

    def export_columns(self) -> list[tuple[str, str, list[tuple[str, object]]]]:
        """(key, label, [(header, accessor), ...]) of every exportable column, in the page's order."""
        result = []
        for column in self.columns:
            if column.value is None:
                continue
            several = isinstance(column.value, tuple)
            cells = list(column.value) if several else [(column.label, column.value)]
            result.append((column.key, column.label, cells))
        return result

    def selected_export_columns(self):
        available = self.export_columns()
        wanted = {
            name.strip()
            for value in self.request.GET.getlist(self.columns_param)
            for name in value.split(",")
            if name.strip()
        }
        chosen = [column for column in available if column[0] in wanted]
        return chosen or available

    def prepare_export_chunk(self, rows: list) -> Iterable:
        """Turn a chunk of queryset rows into the objects the columns read (a list page may override)."""
        return rows

    def export_rows(self, queryset, accessors):
        chunk = []
        for row in queryset.iterator(chunk_size=self.export_chunk_size):
            chunk.append(row)
            if len(chunk) >= self.export_chunk_size:
                yield from ([resolve(r, a) for a in accessors] for r in self.prepare_export_chunk(chunk))
                chunk = []
        if chunk:
            yield from ([resolve(r, a) for a in accessors] for r in self.prepare_export_chunk(chunk))

    def export_filters_description(self) -> str:
        form = self.filter_form
        data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {}
        parts = [
            f"{form.fields[name].label or name} = {value}"
            for name, value in data.items()
            if value not in (None, "", [], ()) and name in form.fields
        ]
        return ", ".join(parts) or "aucun"

    def log_export(self, fmt: str, queryset, columns) -> None:
        from clausier.audit.log import record
        from clausier.audit.models import Action

        count = queryset.count()
        detail = (
            f"export {fmt.upper()} de la liste « {self.title} » : {count} ligne{'s' if count > 1 else ''} ; "
            f"filtres : {self.export_filters_description()} ; tri : {self.current_sort() or 'défaut'} ; "
            f"colonnes : {', '.join(key for key, _, _ in columns)}"
        )
        target = getattr(self.request, "organization", None) or self.request.user
        record(action=Action.EXPORT, obj=target, by=self.request.user, detail=detail)

    def export(self, fmt: str):
        queryset = self.get_queryset()
        columns = self.selected_export_columns()
        headers = [header for _, _, cells in columns for header, _ in cells]
        accessors = [accessor for _, _, cells in columns for _, accessor in cells]
        if self.export_personal_data:
            self.log_export(fmt, queryset, columns)
        return export_response(fmt, self.title, headers, self.export_rows(queryset, accessors))

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get(self.export_param, "")
        if fmt in FORMATS and self.export_columns():
            return self.export(fmt)
        return super().get(request, *args, **kwargs)

    def export_context(self) -> dict:
        columns = self.export_columns()
        if not columns:
            return {"export_columns": []}
        skip = {self.export_param, self.columns_param, "page"}
        return {
            "export_columns": [(key, label) for key, label, _ in columns],
            "export_params": [
                (name, value)
                for name in self.request.GET
                if name not in skip
                for value in self.request.GET.getlist(name)
            ],
        }
