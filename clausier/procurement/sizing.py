"""Sizing a clause: how many insertion hours a lot should carry (domain.md §4).

Pure functions on Decimals, shared by the clause form and the public simulator. Each sizing returns
the hours *and* the steps of the calculation in plain French, so that the page can explain it.
Hours are rounded down to the whole hour [decision].
"""

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

CLEANING_HOURLY_COST = Decimal(25)  # C in the Inserpropre formula


class SizingError(ValueError):
    """A parameter makes the calculation impossible; the message is French and shown to the user."""


@dataclass(frozen=True)
class Step:
    label: str
    value: str


@dataclass(frozen=True)
class Sizing:
    method: str
    hours: int
    steps: list[Step] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    minimum: int | None = None

    @property
    def below_minimum(self) -> bool:
        return self.minimum is not None and self.hours < self.minimum


def euros(value: Decimal) -> str:
    return f"{fr_number(value, 2)} €"


def percent(value: Decimal) -> str:
    return f"{fr_number(value * 100, 2)} %"


def fr_number(value: Decimal, places: int = 0) -> str:
    """1234567.5 → '1 234 567,5' (narrow no-break spaces, trailing zeros dropped)."""
    quantum = Decimal(1).scaleb(-places)
    text = f"{Decimal(value).quantize(quantum):,.{places}f}"
    if places:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",")


def floor_hours(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _require(name: str, value, *, positive: bool = False, at_most_one: bool = False) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise SizingError(f"« {name} » doit être un nombre.") from exc
    if not number.is_finite():
        raise SizingError(f"« {name} » doit être un nombre.")
    if number < 0 or (positive and number == 0):
        raise SizingError(f"« {name} » doit être {'strictement ' if positive else ''}positif.")
    if at_most_one and number > 1:
        raise SizingError(f"« {name} » ne peut pas dépasser 100 %.")
    return number


def formula(amount_ht, labour_share, insertion_rate, hourly_cost, *, minimum: int | None = None) -> Sizing:
    """heures = montant HT × part de main-d'œuvre × taux d'insertion ÷ coût horaire."""
    amount = _require("Montant HT", amount_ht)
    share = _require("Part de main-d'œuvre", labour_share, at_most_one=True)
    rate = _require("Taux d'insertion", insertion_rate, at_most_one=True)
    cost = _require("Coût horaire", hourly_cost, positive=True)
    labour = amount * share
    insertion_cost = labour * rate
    hours = floor_hours(insertion_cost / cost)
    steps = [
        Step("Montant du marché HT", euros(amount)),
        Step(f"Part de main-d'œuvre ({percent(share)}) : coût de la main-d'œuvre", euros(labour)),
        Step(f"Taux d'insertion ({percent(rate)}) : montant consacré à l'insertion", euros(insertion_cost)),
        Step(
            f"Divisé par le coût horaire ({euros(cost)}), arrondi à l'heure inférieure",
            f"{fr_number(hours)} h",
        ),
    ]
    params = {"amount_ht": amount, "labour_share": share, "insertion_rate": rate, "hourly_cost": cost}
    return Sizing("formula", hours, steps, params, minimum)


def cleaning(
    turnover,
    months,
    transferred_monthly_hours,
    insertion_rate,
    *,
    hourly_cost=CLEANING_HOURLY_COST,
    minimum: int | None = None,
) -> Sizing:
    """Cleaning with transferred staff (Inserpropre): P = 1 − (S × C) / (A / N), I = P × A / C × T."""
    a = _require("Chiffre d'affaires du marché (A)", turnover, positive=True)
    n = _require("Durée en mois (N)", months, positive=True)
    s = _require("Heures mensuelles du personnel repris (S)", transferred_monthly_hours)
    t = _require("Taux d'insertion (T)", insertion_rate, at_most_one=True)
    c = _require("Coût horaire (C)", hourly_cost, positive=True)
    monthly_turnover = a / n
    p = 1 - (s * c) / monthly_turnover
    if p <= 0:
        hours, p = 0, Decimal(0)
    else:
        hours = floor_hours(p * a / c * t)
    steps = [
        Step("Chiffre d'affaires mensuel (A ÷ N)", euros(monthly_turnover)),
        Step(f"Coût mensuel du personnel repris (S × C = {fr_number(s, 2)} h × {euros(c)})", euros(s * c)),
        Step("Part disponible pour de nouvelles embauches P = 1 − (S × C) ÷ (A ÷ N)", percent(p)),
        Step(
            f"Heures d'insertion I = P × A ÷ C × T (T = {percent(t)}), arrondi à l'heure inférieure",
            f"{fr_number(hours)} h",
        ),
    ]
    params = {
        "amount_ht": a,
        "months": n,
        "transferred_monthly_hours": s,
        "insertion_rate": t,
        "hourly_cost": c,
    }
    return Sizing("cleaning", hours, steps, params, minimum)


def percent_of_hours(total_hours, insertion_rate, *, minimum: int | None = None) -> Sizing:
    """A share of the hours worked on the market (estimated total hours × rate)."""
    total = _require("Heures travaillées estimées", total_hours)
    rate = _require("Pourcentage", insertion_rate, at_most_one=True)
    hours = floor_hours(total * rate)
    steps = [
        Step("Heures travaillées estimées sur le marché", f"{fr_number(total, 2)} h"),
        Step(f"× {percent(rate)}, arrondi à l'heure inférieure", f"{fr_number(hours)} h"),
    ]
    return Sizing("percent", hours, steps, {"total_hours": total, "insertion_rate": rate}, minimum)


def fixed(hours, *, minimum: int | None = None) -> Sizing:
    value = _require("Nombre d'heures", hours)
    whole = floor_hours(value)
    return Sizing(
        "fixed", whole, [Step("Nombre d'heures fixé", f"{fr_number(whole)} h")], {"hours": value}, minimum
    )
