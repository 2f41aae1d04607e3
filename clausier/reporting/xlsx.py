"""The XLSX of a bilan, with XlsxWriter in constant-memory mode: one sheet of key figures, one per table.

Cells are typed: counts and hours are numbers (hours with two decimals), rates are percentages, masked
counts ("< 5") are text.
"""

import io
import re

import xlsxwriter

from clausier.reporting.bilans import HOURS, NUMBER, PEOPLE, RATE, Bilan, Cell


def _sheet_name(title: str, used: set) -> str:
    name = re.sub(r"[\[\]:*?/\\']", " ", title)[:31].strip()
    base, n = name, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def render_xlsx(bilan: Bilan) -> bytes:
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "remove_timezone": True})
    formats = {
        "title": workbook.add_format({"bold": True, "font_size": 14, "font_color": "#000091"}),
        "header": workbook.add_format({"bold": True, "bg_color": "#EEEEEE", "bottom": 1}),
        HOURS: workbook.add_format({"num_format": "# ##0.00"}),
        NUMBER: workbook.add_format({"num_format": "# ##0.##"}),
        PEOPLE: workbook.add_format({"num_format": "# ##0"}),
        RATE: workbook.add_format({"num_format": "0.0 %"}),
        "masked": workbook.add_format({"align": "right", "font_color": "#666666"}),
    }

    def write(sheet, row: int, col: int, cell: Cell):
        value = cell.value
        if cell.masked:
            sheet.write_string(row, col, value, formats["masked"])
        elif value is None:
            sheet.write_blank(row, col, None)
        elif cell.kind in formats and not isinstance(value, str):
            sheet.write_number(row, col, float(value), formats[cell.kind])
        else:
            sheet.write_string(row, col, str(value))

    used: set = set()
    summary = workbook.add_worksheet(_sheet_name("Synthèse", used))
    summary.set_column(0, 0, 38)
    summary.set_column(1, 1, 18)
    summary.write_string(0, 0, bilan.title, formats["title"])
    summary.write_string(1, 0, bilan.subject)
    summary.write_string(2, 0, f"Période : {bilan.period}")
    summary.write_string(3, 0, f"{bilan.facilitator.name} — données au {bilan.generated_on:%d/%m/%Y}")
    row = 5
    if bilan.public:
        summary.write_string(4, 0, "Les effectifs inférieurs à 5 personnes sont masqués (« < 5 »).")
    summary.write_string(row, 0, "Indicateur", formats["header"])
    summary.write_string(row, 1, "Valeur", formats["header"])
    for label, cell in bilan.key_figures:
        row += 1
        summary.write_string(row, 0, label)
        write(summary, row, 1, cell)

    for table in bilan.tables:
        sheet = workbook.add_worksheet(_sheet_name(table.title, used))
        sheet.set_column(0, 0, 36)
        sheet.set_column(1, len(table.columns), 16)
        for col, (label, _) in enumerate(table.columns):
            sheet.write_string(0, col, label, formats["header"])
        for r, cells in enumerate(table.rows, start=1):
            for col, cell in enumerate(cells):
                write(sheet, r, col, cell)

    method = workbook.add_worksheet(_sheet_name("Méthode", used))
    method.set_column(0, 0, 34)
    method.set_column(1, 1, 110)
    for r, (term, definition) in enumerate(bilan.method):
        method.write_string(r, 0, term)
        method.write_string(r, 1, definition)
    workbook.close()
    return output.getvalue()
