"""Parsers for the cell values found in French spreadsheets.

Each parser takes a cell as the readers give it (`str`, `int`, `float`, `bool`, `date`, `datetime`, `time`,
`timedelta` or `None`) and returns a clean Python value, or raises `ValueProblem` whose `message` is a French
sentence naming the value (« 12,3,4 » n'est pas un nombre.). Parsers never raise anything else.
Empty cells are the caller's business: every parser refuses `None` / blank text with a "valeur manquante" message.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

__all__ = [
    "ValueProblem",
    "clean_text",
    "excel_serial_to_date",
    "is_blank",
    "normalize_label",
    "parse_boolean",
    "parse_date",
    "parse_decimal",
    "parse_hours",
    "parse_month",
    "parse_siret",
    "parse_text",
    "siren_luhn_ok",
    "siret_luhn_ok",
]


class ValueProblem(ValueError):
    """A cell value cannot be understood; `message` is shown to the user (French), with row and column."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# Spaces found in French numbers: regular, no-break, narrow no-break, thin, figure space.
SPACES = " \u00a0\u202f\u2009\u2007"
_SPACE_RE = re.compile(f"[{SPACES}]+")
_ALL_SPACES_RE = re.compile(r"\s+")


def quote(value) -> str:
    """« value » for messages; long texts are cut."""
    text = value if isinstance(value, str) else format_cell(value)
    text = _ALL_SPACES_RE.sub(" ", text).strip()
    if len(text) > 60:
        text = text[:57] + "…"
    return f"« {text} »"


def format_cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return (
            value.strftime("%d/%m/%Y %H:%M") if (value.hour or value.minute) else value.strftime("%d/%m/%Y")
        )
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _missing(what: str) -> ValueProblem:
    return ValueProblem(f"Valeur manquante : {what} attendu.")


# --- Text ---------------------------------------------------------------------------------------------------


def clean_text(value) -> str:
    """Strip, collapse inner whitespace (incl. no-break spaces and line breaks) to one space."""
    return _ALL_SPACES_RE.sub(" ", value).strip()


def parse_text(value, *, max_length: int | None = None) -> str:
    """Any cell as text: `31000.0` (a postcode read as a number) → `"31000"`, dates as dd/mm/yyyy."""
    if is_blank(value):
        raise _missing("un texte")
    text = clean_text(value if isinstance(value, str) else format_cell(value))
    if max_length is not None and len(text) > max_length:
        raise ValueProblem(f"{quote(text)} est trop long ({len(text)} caractères, {max_length} au plus).")
    return text


def normalize_label(value) -> str:
    """Header label or keyword for comparisons: `"N° SIRET "` → `"n siret"`, `"Nb d'heures"` → `"nb d heures"`."""
    text = value if isinstance(value, str) else format_cell(value)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("œ", "oe").replace("æ", "ae").replace("°", " ")
    return " ".join(re.findall(r"[a-z0-9]+", text))


# --- Numbers ------------------------------------------------------------------------------------------------

_CURRENCY_UNIT_RE = re.compile(
    r"(?:€|eur|euros?|heures?|hrs?|h)\.?$",
    re.IGNORECASE,
)
_PLAIN_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_SCIENTIFIC_RE = re.compile(r"(\d+(?:[.,]\d+)?)[eE]([+-]?\d{1,3})")
_GROUPED_RE = re.compile(r"\d{1,3}(?:[ .]\d{3})+|\d+")  # integer part, groups of 3 separated by space or dot


def _number_problem(value) -> ValueProblem:
    return ValueProblem(f"{quote(value)} n'est pas un nombre.")


def parse_decimal(value) -> Decimal:
    """French or plain numbers → Decimal.

    Accepted: `12`, `12,5`, `-12,5`, `1 234,5` (any kind of space), `1.234,5`, `1 234,50 €`, `12,5 h`,
    `1,234.5` (both separators: the last one is the decimal one), `12.5` (a lone dot is a decimal point:
    what software exports write), `1.234.567` (several dots: thousands), `1,5E+3`. Refused: `12,3,4`, `1 23`,
    `12abc`, booleans, dates, NaN and infinities.
    """
    if isinstance(value, bool) or value is None:
        raise _missing("un nombre") if value is None else _number_problem(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _number_problem(value)
        return Decimal(repr(value)) if not value.is_integer() else Decimal(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _number_problem(value)
        return value
    if not isinstance(value, str):
        raise _number_problem(value)
    if not value.strip():
        raise _missing("un nombre")
    text = value.strip().strip(SPACES)
    sign = ""
    if text[:1] in "-−–+":
        sign = "-" if text[0] != "+" else ""
        text = text[1:].lstrip(SPACES)
    text = _CURRENCY_UNIT_RE.sub("", text).rstrip(SPACES)
    if not text:
        raise _number_problem(value)
    scientific = _SCIENTIFIC_RE.fullmatch(text)
    if scientific:
        mantissa, exponent = scientific.groups()
        return Decimal(sign + mantissa.replace(",", ".") + "E" + exponent)
    text = _SPACE_RE.sub(" ", text)
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
    elif text.count(",") == 1:
        decimal_sep = ","
    elif text.count(".") == 1:
        decimal_sep = "."
    elif "," in text:  # several commas and no dot: 12,3,4
        raise _number_problem(value)
    else:
        decimal_sep = None
    if decimal_sep:
        integer, _, fraction = text.rpartition(decimal_sep)
        if not fraction.isdigit() or not fraction.isascii():
            raise _number_problem(value)
    else:
        integer, fraction = text, ""
    integer = integer.replace("," if decimal_sep == "." else ".", " ")
    if not integer:
        integer = "0"
    if not _GROUPED_RE.fullmatch(integer) or not integer.isascii():
        raise _number_problem(value)
    digits = integer.replace(" ", "").replace(".", "")
    try:
        return Decimal(f"{sign}{digits}.{fraction}" if fraction else f"{sign}{digits}")
    except InvalidOperation as exc:  # pragma: no cover - the regexes only let digits through
        raise _number_problem(value) from exc


MAX_HOURS = 1_000_000  # far above any statement; keeps Decimal arithmetic within its 28 digits
_HOURS_RE = re.compile(r"(\d{1,4})\s*(?:h|:)\s*(\d{1,2})?\s*(?:min|mn|m)?", re.IGNORECASE)


def parse_hours(value) -> Decimal:
    """Hours as a decimal number: `7,5`, `7.5`, `7,5 h`, `7h30`, `7:30`, `7 h 30 min`, a duration cell
    (`timedelta`, `[h]:mm` formats) or a time cell (`07:30`) → `Decimal("7.5")`. Negative hours are refused."""
    if isinstance(value, dt.timedelta):
        hours = Decimal(int(value.total_seconds())) / 3600
    elif isinstance(value, dt.time):
        hours = Decimal(value.hour) + Decimal(value.minute) / 60 + Decimal(value.second) / 3600
    elif isinstance(value, str) and (match := _HOURS_RE.fullmatch(value.strip())):
        whole, minutes = match.groups()
        if minutes is None:
            hours = Decimal(whole)
        else:
            if int(minutes) >= 60:
                raise ValueProblem(f"{quote(value)} n'est pas une durée valide (minutes au-delà de 59).")
            hours = Decimal(whole) + Decimal(minutes) / 60
    else:
        try:
            hours = parse_decimal(value)
        except ValueProblem as exc:
            if value is None or is_blank(value):
                raise _missing("un nombre d'heures") from exc
            raise ValueProblem(f"{quote(value)} n'est pas un nombre d'heures.") from exc
    if hours < 0:
        raise ValueProblem(f"{quote(value)} : un nombre d'heures ne peut pas être négatif.")
    if hours > MAX_HOURS:
        raise ValueProblem(f"{quote(value)} : ce nombre d'heures est invraisemblable.")
    return hours.quantize(Decimal("0.01")) if hours.as_tuple().exponent < -2 else hours


# --- Dates --------------------------------------------------------------------------------------------------

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 once Excel's fictitious 1900-02-29 is skipped
MAX_EXCEL_SERIAL = 2_958_465  # 9999-12-31

_DMY_RE = re.compile(
    r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T]+\d{1,2}[:h]\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_ISO_RE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_SERIAL_TEXT_RE = re.compile(r"\d{5}(?:[.,]\d+)?")
# Serial numbers below this one (1927-05-18) are far more likely a year or a count typed in a date column.
MIN_PLAUSIBLE_SERIAL = 10_000


def _date_problem(value) -> ValueProblem:
    return ValueProblem(f"{quote(value)} n'est pas une date (jj/mm/aaaa attendu).")


def two_digit_year(year: int) -> int:
    """Same pivot as Excel: 00–29 → 2000–2029, 30–99 → 1930–1999."""
    return 2000 + year if year < 30 else 1900 + year


def excel_serial_to_date(serial: float) -> dt.date:
    """Excel 1900 date system: 1 → 1900-01-01, 59 → 1900-02-28, 60 is Excel's fictitious 1900-02-29,
    61 → 1900-03-01, 45352 → 2024-03-01. The fractional part (time of day) is dropped."""
    if isinstance(serial, bool) or not math.isfinite(serial):
        raise _date_problem(serial)
    day = math.floor(serial)
    if day < 1 or day > MAX_EXCEL_SERIAL or day == 60:
        raise _date_problem(serial)
    if day < 60:
        return dt.date(1899, 12, 31) + dt.timedelta(days=day)
    return EXCEL_EPOCH + dt.timedelta(days=day)


def _make_date(year: int, month: int, day: int, value) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ValueProblem(f"{quote(value)} n'est pas une date valide.") from exc


def parse_date(value, *, serial: bool = True) -> dt.date:
    """`dd/mm/yyyy`, `d/m/yyyy`, `dd-mm-yyyy`, `dd.mm.yyyy`, `dd/mm/yy`, ISO `yyyy-mm-dd` (with an optional time),
    date and datetime cells, and — when `serial` (a date column) — Excel serial numbers, as numbers or text."""
    if value is None or is_blank(value):
        raise _missing("une date")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise _date_problem(value)
    if isinstance(value, int | float):
        if serial and math.isfinite(value) and value >= MIN_PLAUSIBLE_SERIAL:
            return excel_serial_to_date(value)
        raise _date_problem(value)
    if not isinstance(value, str):
        raise _date_problem(value)
    text = value.strip()
    if match := _DMY_RE.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year = two_digit_year(year)
        return _make_date(year, month, day, value)
    if match := _ISO_RE.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
        return _make_date(year, month, day, value)
    if serial and _SERIAL_TEXT_RE.fullmatch(text):
        return excel_serial_to_date(float(text.replace(",", ".")))
    raise _date_problem(value)


MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "feb": 2,
    "mars": 3, "mar": 3,
    "avril": 4, "avr": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "jun": 6,
    "juillet": 7, "juil": 7, "jul": 7,
    "aout": 8, "aou": 8, "aug": 8,
    "septembre": 9, "sept": 9, "sep": 9,
    "octobre": 10, "oct": 10,
    "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
}  # fmt: skip
_MONTH_NUMERIC_RE = re.compile(r"(\d{1,2})[/.\-](\d{4}|\d{2})|(\d{4})[/.\-](\d{1,2})")
_MONTH_NAME_RE = re.compile(r"([a-z]+)\s*(\d{4}|\d{2})")


def parse_month(value) -> dt.date:
    """A month as its first day: `03/2024`, `3-2024`, `2024-03`, `mars 2024`, `Mars-24`, `mars 24`, any date
    (cell, serial or text) → `date(2024, 3, 1)`."""
    if value is None or is_blank(value):
        raise _missing("un mois")
    if isinstance(value, str):
        text = value.strip()
        if match := _MONTH_NUMERIC_RE.fullmatch(text):
            month, year, iso_year, iso_month = match.groups()
            if iso_year:
                year, month = iso_year, iso_month
            year = int(year) if len(year) == 4 else two_digit_year(int(year))
            return _make_month(year, int(month), value)
        if match := _MONTH_NAME_RE.fullmatch(normalize_label(text)):
            name, year = match.groups()
            if name in MONTHS:
                year = int(year) if len(year) == 4 else two_digit_year(int(year))
                return _make_month(year, MONTHS[name], value)
    try:
        return parse_date(value).replace(day=1)
    except ValueProblem as exc:
        raise ValueProblem(f"{quote(value)} n'est pas un mois (mm/aaaa attendu).") from exc


def _make_month(year: int, month: int, value) -> dt.date:
    if not 1 <= month <= 12 or year < 1:
        raise ValueProblem(f"{quote(value)} n'est pas un mois valide.")
    return dt.date(year, month, 1)


# --- Booleans -----------------------------------------------------------------------------------------------

TRUE_WORDS = {"oui", "o", "x", "vrai", "true", "yes", "y", "1"}
FALSE_WORDS = {"non", "n", "faux", "false", "no", "0"}


def parse_boolean(value) -> bool:
    """`oui`/`non`, `x`, `vrai`/`faux`, `1`/`0`, boolean cells."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if value is None or is_blank(value):
        raise _missing("oui ou non")
    word = normalize_label(value) if isinstance(value, str) else ""
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueProblem(f"{quote(value)} n'est pas une réponse oui / non.")


# --- SIRET --------------------------------------------------------------------------------------------------

_SIRET_SEPARATORS_RE = re.compile(f"[{SPACES}.\\-_/]+")


def parse_siret(value) -> str:
    """SIRET as its 14 digits: `123 456 789 00012`, `123.456.789.00012`, `12345678900012` (text or a number
    cell; a number cell that lost its leading zero is padded). The Luhn key is NOT checked here (see
    `siret_luhn_ok`): some files carry provisional or foreign identifiers that the caller may accept."""
    if value is None or is_blank(value):
        raise _missing("un SIRET")
    if isinstance(value, bool):
        raise ValueProblem(f"{quote(value)} n'est pas un SIRET (14 chiffres attendus).")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueProblem(f"{quote(value)} n'est pas un SIRET (14 chiffres attendus).")
        value = int(value)
    if isinstance(value, int):
        digits = str(value).zfill(14) if 0 < value < 10**14 else str(value)
    elif isinstance(value, str):
        text = value.strip()
        if _SCIENTIFIC_RE.fullmatch(text.replace(" ", "")):
            raise ValueProblem(
                f"{quote(value)} : le SIRET a été abîmé par le tableur (écriture scientifique) ; "
                "mettez la colonne au format texte et saisissez les 14 chiffres."
            )
        digits = _SIRET_SEPARATORS_RE.sub("", text)
    else:
        raise ValueProblem(f"{quote(value)} n'est pas un SIRET (14 chiffres attendus).")
    if len(digits) != 14 or not digits.isdigit() or not digits.isascii():
        raise ValueProblem(f"{quote(value)} n'est pas un SIRET (14 chiffres attendus).")
    return digits


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


LA_POSTE_SIREN = "356000000"


def siren_luhn_ok(siren: str) -> bool:
    return len(siren) == 9 and siren.isdigit() and siren.isascii() and _luhn_ok(siren)


def siret_luhn_ok(siret: str) -> bool:
    """Luhn key of a 14-digit SIRET. La Poste's establishments (SIREN 356 000 000) follow another rule:
    the sum of the 14 digits is a multiple of 5."""
    if len(siret) != 14 or not siret.isdigit() or not siret.isascii():
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return sum(int(c) for c in siret) % 5 == 0
    return _luhn_ok(siret)
