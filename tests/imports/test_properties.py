"""Property-based tests: whatever the input, readers raise only `ImportRefused` and parsers only `ValueProblem`."""

import contextlib
import datetime as dt
import io
import zipfile
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clausier.imports import ImportRefused, Limits, find_records, read_table
from clausier.imports.values import (
    ValueProblem,
    parse_boolean,
    parse_date,
    parse_decimal,
    parse_hours,
    parse_month,
    parse_siret,
    parse_text,
)
from tests.imports.corpus import hours_statement_xlsx, ods_bytes

LIMITS = Limits()  # the defaults, without touching Django settings in every example
PARSERS = (parse_decimal, parse_hours, parse_date, parse_month, parse_boolean, parse_siret, parse_text)
FRENCH_NUMBER_ALPHABET = st.sampled_from(list("0123456789 ,.-−+€h\u00a0\u202fEe"))

cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet=FRENCH_NUMBER_ALPHABET, max_size=15),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=True),
)


def read_or_refuse(data: bytes, **kwargs):
    try:
        table = read_table(data, filename="fuzz", limits=LIMITS, **kwargs)
    except ImportRefused as refused:
        assert refused.message and refused.message[0].isupper()
        return None
    assert table.rows and all(row.cells and row.cells[-1] is not None for row in table.rows)
    assert [row.number for row in table.rows] == sorted({row.number for row in table.rows})
    with contextlib.suppress(ImportRefused):
        find_records(table)
    return table


@given(st.binary(max_size=4096))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes(data):
    read_or_refuse(data)


@given(st.text(max_size=2000), st.sampled_from(["utf-8", "utf-16", "cp1252"]))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_in_any_encoding(text, encoding):
    read_or_refuse(text.encode(encoding, errors="replace"))


@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12), max_size=6),
        max_size=30,
    ),
    st.sampled_from([";", ",", "\t"]),
)
@settings(max_examples=200, deadline=None)
def test_csv_lines_round_trip_through_the_reader(lines, delimiter):
    import csv

    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(lines)
    read_or_refuse(buffer.getvalue().encode("utf-8"))


@given(st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_spreadsheets(data):
    """Flip, cut or splice bytes of real XLSX and ODS files: still only refusals (or a successful read)."""
    original = data.draw(st.sampled_from([XLSX, ODS]))
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(damaged) // 2, len(damaged)))
    read_or_refuse(bytes(damaged[:cut]), sheet=data.draw(st.sampled_from([None, "Heures", "Autre"])))


@given(
    st.lists(
        st.lists(cells.filter(lambda c: not isinstance(c, Decimal | dt.timedelta)), max_size=5), max_size=8
    )
)
@settings(max_examples=100, deadline=None)
def test_ods_with_arbitrary_cells(rows):
    def ods_cell(cell):
        if isinstance(cell, dt.datetime | dt.time | bool) or cell is None:
            return None if cell is None else str(cell)
        if isinstance(cell, str):
            return "".join(c for c in cell if c.isprintable())
        if isinstance(cell, float) and (cell != cell or cell in (float("inf"), float("-inf"))):
            return None
        return cell

    read_or_refuse(ods_bytes({"Heures": [[ods_cell(c) for c in row] or None for row in rows]}))


@given(cells)
@settings(max_examples=1000, deadline=None)
def test_value_parsers_raise_only_value_problems(cell):
    for parser in PARSERS:
        try:
            result = parser(cell)
        except ValueProblem as problem:
            assert problem.message and isinstance(problem.message, str)
        else:
            assert result is not None


@given(st.text(alphabet=FRENCH_NUMBER_ALPHABET, max_size=20))
@settings(max_examples=1000, deadline=None)
def test_parse_decimal_on_number_like_text(text):
    try:
        value = parse_decimal(text)
    except ValueProblem as problem:
        assert problem.message.endswith("n'est pas un nombre.") or "manquante" in problem.message
    else:
        assert value.is_finite()


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_french_formatting_round_trips(value):
    integer, _, fraction = f"{abs(value):,.2f}".partition(".")
    french = ("-" if value < 0 else "") + integer.replace(",", "\u202f") + "," + fraction + " €"
    assert parse_decimal(french) == value


@given(st.dates(min_value=dt.date(1927, 6, 1), max_value=dt.date(9999, 12, 31)))
def test_dates_round_trip_in_every_form(day):
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(serial) == day
    assert parse_date(float(serial) + 0.5) == day


@given(st.integers(min_value=10**13, max_value=10**14 - 1))
def test_siret_with_any_spacing(number):
    digits = str(number)
    spaced = f"{digits[:3]} {digits[3:6]}\u00a0{digits[6:9]} {digits[9:]}"
    assert parse_siret(spaced) == parse_siret(number) == parse_siret(float(number)) == digits


def _xlsx() -> bytes:
    return hours_statement_xlsx()


XLSX = _xlsx()
ODS = ods_bytes({"Heures": [["Nom", "Heures"], ["Dupont", 7], None, ["Total", 7]]})


def test_corpus_files_are_valid_zips():
    for data in (XLSX, ODS):
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
