"""Fuzzing the readers (issue 13): whatever the file, only the readers' own French refusals come out.

Hypothesis builds malformed spreadsheets — random cell types, far-away coordinates, repeated ODS cells and
rows, broken zip members, random bytes in every encoding — and feeds them to `read_table` then
`find_records`. Any other exception fails the test; a crash would kill it. CI runs a bounded number of
examples; `python -m bench.fuzz_readers --examples 2000` runs the same strategies longer.
"""

import datetime
import io
import os
import zipfile

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clausier.imports.limits import ImportRefused
from clausier.imports.readers import find_records, read_table
from tests.imports.corpus import EXPECTED, ods_bytes, xlsx_bytes
from tests.imports.hostile import repeated_columns_ods, sparse_corner_xlsx

# Small limits keep each example fast (a box inside them is really loaded by calamine).
SMALL = {"IMPORT_MAX_CELLS": 2_000_000, "IMPORT_MAX_COLUMNS": 500, "IMPORT_MAX_ROWS": 5_000}
# 40 examples per strategy in the suite; `python -m bench.fuzz_readers` asks for more.
EXAMPLES = settings(
    max_examples=int(os.environ.get("CLAUSIER_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

cells = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(9999, 12, 31)),
)
grids = st.lists(st.lists(cells, max_size=8), min_size=0, max_size=12)


def read(data: bytes, name: str) -> None:
    """Read and find records; only a refusal may stop it."""
    with override_settings(**SMALL):
        try:
            table = read_table(data, filename=name)
            find_records(table, expected=EXPECTED)
        except ImportRefused as refusal:
            assert refusal.message and refusal.message[0].isupper()


def xlsx_of(grid, far=None) -> bytes:
    def build(workbook):
        sheet = workbook.add_worksheet("Heures")
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
                    sheet.write_string(r, c, str(value))
                elif isinstance(value, datetime.date):
                    sheet.write_datetime(r, c, datetime.datetime.combine(value, datetime.time()))
                else:
                    sheet.write(r, c, value)
        if far:
            sheet.write(*far, "x")

    return xlsx_bytes(build)


def damaged(data: bytes, positions: list[int], byte: int) -> bytes:
    buffer = bytearray(data)
    for position in positions:
        buffer[position % len(buffer)] = byte
    return bytes(buffer)


@EXAMPLES
@given(grid=grids, far=st.one_of(st.none(), st.tuples(st.integers(0, 1_048_575), st.integers(0, 16_383))))
def test_xlsx_with_any_cells_and_any_far_cell(grid, far):
    read(xlsx_of(grid, far), "heures.xlsx")


@EXAMPLES
@given(
    grid=grids, positions=st.lists(st.integers(0, 10**6), min_size=1, max_size=6), byte=st.integers(0, 255)
)
def test_xlsx_and_ods_with_damaged_bytes(grid, positions, byte):
    read(damaged(xlsx_of(grid), positions, byte), "heures.xlsx")
    clean = [[c for c in row if not isinstance(c, float) or c == c] for row in grid] or [["Nom"]]
    read(damaged(ods_bytes({"Heures": clean}), positions, byte), "heures.ods")


@EXAMPLES
@given(grid=grids, member=st.sampled_from(["xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/styles.xml"]))
def test_xlsx_with_a_missing_or_broken_member(grid, member):
    source = zipfile.ZipFile(io.BytesIO(xlsx_of(grid)))
    for mode in ("drop", "truncate", "garbage"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as target:
            for info in source.infolist():
                content = source.read(info)
                if info.filename == member:
                    if mode == "drop":
                        continue
                    content = content[: len(content) // 2] if mode == "truncate" else b"\x00<<>>&&"
                target.writestr(info.filename, content)
        read(buffer.getvalue(), "heures.xlsx")


@EXAMPLES
@given(
    repeat=st.integers(1, 50_000_000),
    rows=st.integers(1, 2_000_000),
    columns=st.integers(1, 3_000),
)
def test_ods_with_repeated_cells_and_rows(repeat, rows, columns):
    from tests.imports.hostile import repeated_rows_ods

    read(repeated_columns_ods(repeat), "c.ods")
    read(repeated_rows_ods(rows, columns), "r.ods")


@EXAMPLES
@given(
    data=st.binary(max_size=2_000),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1", "utf-32"]),
    text=st.text(max_size=300),
)
def test_csv_of_any_bytes_and_any_encoding(data, encoding, text):
    read(data, "heures.csv")
    read(text.encode(encoding, errors="replace"), "heures.csv")
    read(("Nom;Heures\n" + text).encode(encoding, errors="replace"), "heures.csv")


def test_a_central_directory_claiming_an_unknown_zip_version_is_damaged():
    """Found by the fuzzer: `zipfile` raises NotImplementedError("zip file version 17.8")."""
    data = bytearray(xlsx_of([["Nom", "Heures"], ["Dupont", 35]]))
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 178  # "version needed to extract" of the first central directory entry
    with pytest.raises(ImportRefused, match="endommagé"):
        read_table(bytes(data), filename="heures.xlsx")


def test_the_far_corner_itself_is_refused_not_loaded():
    """The example hypothesis must always contain, written out: the last cell of a sheet."""
    read(sparse_corner_xlsx(), "coin.xlsx")
