"""Small helpers of the demo generator: month arithmetic, SIRET numbers, history rows dated in the past."""

import datetime
import random
from contextlib import contextmanager

from clausier.organizations.models import Organization


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return datetime.date(year, month, min(day.day, days_in_month(year, month)))


def days_in_month(year: int, month: int) -> int:
    nxt = datetime.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - datetime.timedelta(days=1)).day


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=days_in_month(day.year, day.month))


def month_index(day: datetime.date, origin: datetime.date) -> int:
    return (day.year - origin.year) * 12 + day.month - origin.month


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    """`body` followed by the digit that makes the whole number Luhn-valid."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable")


class SiretMaker:
    """Valid-looking SIRET numbers (SIREN and SIRET both Luhn-valid), never one already used."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used = set(Organization.objects.exclude(siret="").values_list("siret", flat=True))

    def make(self, public: bool = False) -> str:
        while True:
            first = "2" if public else str(self.rng.randint(3, 9))
            siren = luhn_complete(first + "".join(str(self.rng.randint(0, 9)) for _ in range(7)))
            nic = f"{self.rng.choice(['0001', '0001', '0002', '0003', '0010', '0012', '0021', '0035'])}"
            siret = luhn_complete(siren + nic)
            if siret not in self.used:
                self.used.add(siret)
                return siret


@contextmanager
def dated(model, name: str):
    """Write `model.name` as given although it is `auto_now_add` (history rows of the demo have a past)."""
    field = model._meta.get_field(name)
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True
