"""The statement template: per employer and month, an XLSX pre-filled with its running contracts.

Column A (hidden) holds each contract's identifier, so that the filled file imports back with no mapping step
(kind "heures"). Hours already recorded for the month are pre-filled.
"""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from clausier.employment.models import Contract, HoursRecord
from clausier.employment.queries import running_in
from clausier.procurement.followup import month_start

from .kinds.hours import CONTRACT_LABEL

HEADERS = (
    CONTRACT_LABEL,
    "Nom",
    "Prénom",
    "Date de naissance",
    "Marché",
    "Lot",
    "Mois",
    "Heures travaillées",
    "dont heures de formation",
)
HEADER_ROW = 3  # 0-based: title, employer line, blank, then the header


def template_filename(employer, month: dt.date) -> str:
    from django.utils.text import slugify

    return f"releve-heures-{slugify(employer.name)[:40]}-{month:%Y-%m}.xlsx"


def statement_template(*, facilitator, employer, month: dt.date) -> bytes:
    month = month_start(month)
    contracts = list(
        Contract.objects.filter(running_in(month), facilitator=facilitator, employer=employer)
        .select_related("participant", "lot__market")
        .order_by("participant__last_name", "participant__first_name", "start_date", "pk")
    )
    records = {
        r.contract_id: r
        for r in HoursRecord.objects.filter(facilitator=facilitator, month=month, contract__in=contracts)
    }
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet(f"Heures {month:%m-%Y}")
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    date = workbook.add_format({"num_format": "dd/mm/yyyy"})
    month_format = workbook.add_format({"num_format": "mm/yyyy"})
    editable = workbook.add_format({"num_format": "0.00", "bg_color": "#FFF9E0", "locked": False})
    sheet.write_string(0, 1, f"Relevé mensuel des heures d'insertion — {month:%m/%Y}", title)
    sheet.write_string(1, 1, f"Employeur : {employer.name}")
    sheet.write_row(HEADER_ROW, 0, HEADERS, bold)
    month_cell = dt.datetime.combine(month, dt.time())
    for line, contract in enumerate(contracts, start=HEADER_ROW + 1):
        person, lot = contract.participant, contract.lot
        record = records.get(contract.pk)
        sheet.write_string(line, 0, str(contract.uuid))
        sheet.write_string(line, 1, person.last_name)
        sheet.write_string(line, 2, person.first_name)
        sheet.write_datetime(line, 3, dt.datetime.combine(person.birth_date, dt.time()), date)
        sheet.write_string(line, 4, lot.market.reference)
        sheet.write_string(line, 5, str(lot.number))
        sheet.write_datetime(line, 6, month_cell, month_format)
        if record is not None:
            sheet.write_number(line, 7, float(record.hours), editable)
            sheet.write_number(line, 8, float(record.training_hours), editable)
        else:
            sheet.write_blank(line, 7, None, editable)
            sheet.write_blank(line, 8, None, editable)
    sheet.set_column(0, 0, 38, None, {"hidden": True})
    sheet.set_column(1, 2, 20)
    sheet.set_column(3, 6, 14)
    sheet.set_column(7, 8, 18)
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    workbook.close()
    return output.getvalue()


# --- A blank file per kind: the titles the import recognises at once ----------------------------------------


def blank_template_filename(kind) -> str:
    return f"modele-import-{kind.name}.xlsx"


def blank_template(kind) -> bytes:
    """An XLSX whose first sheet has the kind's column titles (required ones first in the order of the kind,
    as the mapping step lists them), and a second sheet that explains each column."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    required = workbook.add_format({"bold": True, "bg_color": "#FFF9E0"})
    sheet = workbook.add_worksheet(kind.label[:31])
    for column, field in enumerate(kind.fields):
        sheet.write_string(0, column, field.label, required if field.required else bold)
        sheet.set_column(column, column, max(14, len(field.label) + 2))
    sheet.freeze_panes(1, 0)
    notes = workbook.add_worksheet("Aide")
    notes.write_row(0, 0, ("Colonne", "Obligatoire", "Précisions"), bold)
    for line, field in enumerate(kind.fields, start=1):
        notes.write_row(line, 0, (field.label, "oui" if field.required else "non", field.help))
    notes.set_column(0, 0, 34)
    notes.set_column(1, 1, 12)
    notes.set_column(2, 2, 80)
    workbook.close()
    return output.getvalue()
