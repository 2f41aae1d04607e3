"""Numbers written the French way: 1 824 868 ; 1 140,5 ; 5 % ; SIRET 216 901 231 00011."""

from decimal import ROUND_HALF_UP, Decimal

SPACE = " "


def _group(digits: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return SPACE.join(groups)


def fr_number(value, decimals: int | None = 0, grouping: bool = True) -> str:
    """`decimals=None`: as many decimals as needed (none for a whole number, at most 2 otherwise)."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if decimals is None:
        number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
        if number == number.to_integral_value():
            number = number.quantize(Decimal(1))
    else:
        number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    text = f"{abs(number):f}"
    whole, _, fraction = text.partition(".")
    whole = _group(whole) if grouping else whole
    return f"{sign}{whole},{fraction}" if fraction else f"{sign}{whole}"


def fr_percent(rate, decimals: int | None = None) -> str:
    if rate is None or rate == "":
        return "—"
    return f"{fr_number(Decimal(str(rate)) * 100, decimals=decimals)} %"


def fr_money(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{fr_number(value, decimals=2)} €"


def fr_siret(value) -> str:
    """A SIRET as it is printed: the SIREN in groups of three, then the establishment's five digits."""
    digits = str(value or "")
    if len(digits) != 14 or not digits.isdigit():
        return digits or "—"
    return SPACE.join((digits[0:3], digits[3:6], digits[6:9], digits[9:]))
