"""Numbers written the French way: 1 824 868 ; 1 140,5 ; 5 %."""

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
