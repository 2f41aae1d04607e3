"""Writing a bilan cell: numbers the French way, "< 5" kept as is."""

from django import template

from clausier.reporting.bilans import HOURS, NUMBER, PEOPLE, RATE
from clausier.utils import formatting

register = template.Library()


@register.filter
def cell_text(cell) -> str:
    if cell.masked:
        return cell.value
    if cell.kind in (PEOPLE, HOURS):
        return formatting.fr_number(cell.value, decimals=None)
    if cell.kind == NUMBER:
        return formatting.fr_number(cell.value, decimals=None)
    if cell.kind == RATE:
        return formatting.fr_percent(cell.value, decimals=1)
    return "—" if cell.value is None else str(cell.value)


@register.filter
def is_numeric(kind) -> bool:
    return kind in (PEOPLE, HOURS, NUMBER, RATE)
