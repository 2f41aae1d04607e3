"""Regenerate `heures.xls` (committed, 6 Ko): python-calamine reads XLS but nothing in our dependencies writes it.

Run once with xlwt installed outside the project venv, e.g.:
    pip install --target /tmp/xlwt xlwt==1.3.0 && PYTHONPATH=/tmp/xlwt python tests/imports/corpus/make_xls.py
"""

import datetime
from pathlib import Path

import xlwt

book = xlwt.Workbook(encoding="utf-8")
sheet = book.add_sheet("Heures")
date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
sheet.write_merge(0, 0, 0, 4, "Relevé d'heures — Société Générale de Bâtiment")
sheet.write(1, 0, "Mois : mars 2024")
for col, label in enumerate(["Nom", "Prénom", "Date d'entrée", "Heures", "SIRET"]):
    sheet.write(3, col, label)
rows = [
    ["Lefèvre", "Hélène", datetime.date(2024, 3, 4), 35.5, "123 456 789 00012"],
    ["Œuvray", "Zoé", 45352, "12,5", 12345678900012],
]
for offset, values in enumerate(rows):
    for col, value in enumerate(values):
        if isinstance(value, datetime.date):
            sheet.write(4 + offset, col, value, date_style)
        else:
            sheet.write(4 + offset, col, value)
sheet.write(7, 0, "TOTAL général")
sheet.write(7, 3, 48)
book.add_sheet("Notes").write(0, 0, "rien")
book.save(str(Path(__file__).with_name("heures.xls")))
