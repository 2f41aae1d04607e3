"""Dates written the French way: « novembre 2026 », « 1er mars 2026 »."""

import datetime

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def month_label(month: datetime.date) -> str:
    """novembre 2026."""
    return f"{MONTHS[month.month - 1]} {month.year}"


def french_date(day: datetime.date) -> str:
    """28 novembre 2026; 1er mars 2026."""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"
