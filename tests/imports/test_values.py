import datetime as dt
from decimal import Decimal

import pytest

from clausier.imports.values import (
    ValueProblem,
    excel_serial_to_date,
    normalize_label,
    parse_boolean,
    parse_date,
    parse_decimal,
    parse_hours,
    parse_month,
    parse_siret,
    parse_text,
    siren_luhn_ok,
    siret_luhn_ok,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", "12"),
        ("12,5", "12.5"),
        ("-12,5", "-12.5"),
        ("−3,25", "-3.25"),  # U+2212 minus sign
        ("1 234,5", "1234.5"),
        ("1\u00a0234,5", "1234.5"),  # no-break space
        ("1\u202f234,50\u00a0€", "1234.50"),  # narrow no-break space, as Excel in French writes it
        ("1 234,50 €", "1234.50"),
        ("1 234 567,89 EUR", "1234567.89"),
        ("1.234,5", "1234.5"),
        ("1.234.567", "1234567"),
        ("1,234.5", "1234.5"),
        ("12.5", "12.5"),
        ("1 234.5", "1234.5"),
        ("12,5 h", "12.5"),
        ("12,5h", "12.5"),
        ("35 heures", "35"),
        (",5", "0.5"),
        ("  7,25  ", "7.25"),
        ("1,5E+3", "1.5E+3"),
        (7, "7"),
        (7.35, "7.35"),
        (12.0, "12"),
    ],
)
def test_parse_decimal_accepts_french_numbers(text, expected):
    assert parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text", ["12,3,4", "1 23", "12abc", "abc", "€", "-", "1..2", "5,", "١٢", "1 2,5", "--5"]
)
def test_parse_decimal_refuses_garbage_with_a_french_message(text):
    with pytest.raises(ValueProblem) as problem:
        parse_decimal(text)
    assert problem.value.message == f"« {text} » n'est pas un nombre."


def test_parse_decimal_messages_for_other_cells():
    assert (
        str(pytest.raises(ValueProblem, parse_decimal, "12,3,4").value) == "« 12,3,4 » n'est pas un nombre."
    )
    assert "manquante" in pytest.raises(ValueProblem, parse_decimal, "  ").value.message
    for value in (True, float("nan"), float("inf"), dt.date(2024, 1, 1)):
        with pytest.raises(ValueProblem):
            parse_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7,5", "7.5"),
        ("7h30", "7.5"),
        ("7 h 30", "7.5"),
        ("7:45", "7.75"),
        ("7h", "7"),
        ("151,67 h", "151.67"),
        (dt.timedelta(hours=151, minutes=40), "151.67"),
        (dt.time(7, 30), "7.5"),
        (35.0, "35"),
    ],
)
def test_parse_hours(value, expected):
    assert parse_hours(value) == Decimal(expected)


def test_parse_hours_refusals():
    assert pytest.raises(ValueProblem, parse_hours, "7h75").value.message.startswith("« 7h75 »")
    assert "négatif" in pytest.raises(ValueProblem, parse_hours, "-3").value.message
    assert "invraisemblable" in pytest.raises(ValueProblem, parse_hours, "1E+30").value.message
    assert pytest.raises(ValueProblem, parse_hours, "beaucoup").value.message == (
        "« beaucoup » n'est pas un nombre d'heures."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("04/03/2024", dt.date(2024, 3, 4)),
        ("4/3/2024", dt.date(2024, 3, 4)),
        ("04-03-2024", dt.date(2024, 3, 4)),
        ("04.03.2024", dt.date(2024, 3, 4)),
        ("04/03/24", dt.date(2024, 3, 4)),
        ("04/03/85", dt.date(1985, 3, 4)),
        ("04/03/2024 00:00", dt.date(2024, 3, 4)),
        ("04/03/2024 14h30", dt.date(2024, 3, 4)),
        ("2024-03-04", dt.date(2024, 3, 4)),
        ("2024-03-04T08:15:00", dt.date(2024, 3, 4)),
        ("2024-03-04 08:15:00+01:00", dt.date(2024, 3, 4)),
        (dt.date(2024, 3, 4), dt.date(2024, 3, 4)),
        (dt.datetime(2024, 3, 4, 9, 0), dt.date(2024, 3, 4)),
        (45352, dt.date(2024, 3, 1)),  # Excel serial (1900 system)
        (45352.75, dt.date(2024, 3, 1)),  # with a time of day
        ("45352", dt.date(2024, 3, 1)),  # a serial exported to CSV
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_excel_serial_dates_around_the_fictitious_1900_leap_day():
    assert excel_serial_to_date(1) == dt.date(1900, 1, 1)
    assert excel_serial_to_date(59) == dt.date(1900, 2, 28)
    assert excel_serial_to_date(61) == dt.date(1900, 3, 1)
    assert excel_serial_to_date(36526) == dt.date(2000, 1, 1)
    assert excel_serial_to_date(2958465) == dt.date(9999, 12, 31)
    for serial in (0, 60, -1, 2958466, float("nan")):
        with pytest.raises(ValueProblem):
            excel_serial_to_date(serial)


@pytest.mark.parametrize("value", ["31/02/2024", "2024-13-01", "demain", "12/2024", 2024, "2024", True])
def test_parse_date_refusals(value):
    with pytest.raises(ValueProblem) as problem:
        parse_date(value)
    assert problem.value.message.startswith("«")
    assert "n'est pas une date" in problem.value.message


def test_parse_date_without_serials():
    with pytest.raises(ValueProblem):
        parse_date(45352, serial=False)


@pytest.mark.parametrize(
    "value",
    ["03/2024", "3/2024", "03/24", "2024-03", "mars 2024", "Mars-24", "MARS 2024", "mars2024", "15/03/2024", 45366,
     dt.date(2024, 3, 15)],
)  # fmt: skip
def test_parse_month(value):
    assert parse_month(value) == dt.date(2024, 3, 1)


def test_parse_month_refusals():
    assert (
        pytest.raises(ValueProblem, parse_month, "13/2024").value.message
        == "« 13/2024 » n'est pas un mois valide."
    )
    assert "mm/aaaa" in pytest.raises(ValueProblem, parse_month, "printemps").value.message


def test_parse_boolean():
    assert [parse_boolean(v) for v in ("Oui", "x", "VRAI", 1, True)] == [True] * 5
    assert [parse_boolean(v) for v in ("non", "N", "faux", 0.0, False)] == [False] * 5
    assert pytest.raises(ValueProblem, parse_boolean, "peut-être").value.message == (
        "« peut-être » n'est pas une réponse oui / non."
    )


@pytest.mark.parametrize(
    "value",
    ["123 456 789 00012", "123\u00a0456\u00a0789\u00a000012", "123.456.789.00012", "12345678900012",
     " 123-456-789-00012 ", 12345678900012, 12345678900012.0],
)  # fmt: skip
def test_parse_siret(value):
    assert parse_siret(value) == "12345678900012"


def test_parse_siret_pads_a_number_cell_that_lost_its_leading_zero():
    assert parse_siret(1234567800019) == "01234567800019"


def test_parse_siret_refusals():
    assert pytest.raises(ValueProblem, parse_siret, "123 456 789").value.message == (
        "« 123 456 789 » n'est pas un SIRET (14 chiffres attendus)."
    )
    assert "écriture scientifique" in pytest.raises(ValueProblem, parse_siret, "1,23457E+13").value.message
    for value in ("1234567890001A", 1.5, True, "123456789000123"):
        with pytest.raises(ValueProblem):
            parse_siret(value)


def test_luhn():
    assert siret_luhn_ok("73282932000074")  # a real, well-known SIRET
    assert not siret_luhn_ok("73282932000075")
    assert siret_luhn_ok("35600000000001")  # La Poste: the digits add up to a multiple of 5
    assert not siret_luhn_ok("1234")
    assert siren_luhn_ok("732829320")
    assert not siren_luhn_ok("732829321")


def test_text_and_labels():
    assert parse_text(31000.0) == "31000"
    assert parse_text("  Jean\n  Dupont ") == "Jean Dupont"
    assert parse_text(dt.date(2024, 3, 1)) == "01/03/2024"
    assert "trop long" in pytest.raises(ValueProblem, parse_text, "abcdef", max_length=3).value.message
    assert normalize_label(" N° SIRET ") == "n siret"
    assert normalize_label("Nb d'heures réalisées") == "nb d heures realisees"
    assert normalize_label("Œuvre") == "oeuvre"
