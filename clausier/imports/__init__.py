"""Spreadsheet import pipeline (read → map columns → validate → preview → commit).

`pipeline` runs the steps for every kind of file (`kinds/`: "heures", the monthly hours statement);
`template` makes the statement template; `models` keeps saved column mappings and uploaded files.
The reading layer is made of plain modules with no Django models:
- `readers`: `read_table()` for XLSX/XLSB/XLS/ODS/CSV, `find_records()` for the header and data rows;
- `values`: French numbers, dates, months, hours, booleans, SIRET, each raising `ValueProblem`;
- `limits`: size, row and archive limits, each refusal an `ImportRefused`.
"""

from .limits import ImportRefused, Limits
from .readers import Column, Header, Records, Row, Table, find_header, find_records, read_records, read_table
from .values import ValueProblem

__all__ = [
    "Column",
    "Header",
    "ImportRefused",
    "Limits",
    "Records",
    "Row",
    "Table",
    "ValueProblem",
    "find_header",
    "find_records",
    "read_records",
    "read_table",
]
