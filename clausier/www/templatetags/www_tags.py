from django import template
from django.utils.html import format_html

from clausier.matching import pool
from clausier.utils import formatting
from clausier.www.kit.widgets import DsfrDateInput

register = template.Library()


@register.filter
def fr_number(value, decimals=0):
    """1 824 868 — `|fr_number:1` for one decimal, `|fr_number:"auto"` for up to two when needed."""
    return formatting.fr_number(value, decimals=None if decimals == "auto" else int(decimals))


@register.filter
def fr_percent(value):
    return formatting.fr_percent(value)


@register.filter
def fr_money(value):
    return formatting.fr_money(value)


@register.filter
def siret(value):
    return formatting.fr_siret(value)


@register.filter
def completion(realised, planned):
    """Completion rate realised / planned as "42 %", or "—" without a target."""
    if not planned:
        return "—"
    return formatting.fr_percent(realised / planned, decimals=0)


@register.simple_tag(takes_context=True)
def sort_query(context, key):
    """Query string sorting by `key` (descending when it is already the ascending sort), page reset."""
    request = context["request"]
    param = context.get("sort_param", "tri")
    query = request.GET.copy()
    query[param] = f"-{key}" if context.get("current_sort") == key else key
    query.pop("page", None)
    return f"?{query.urlencode()}"


@register.simple_tag(takes_context=True)
def sort_state(context, key):
    current = context.get("current_sort")
    if current == key:
        return "ascending"
    if current == f"-{key}":
        return "descending"
    return "none"


@register.simple_tag(takes_context=True)
def page_query(context, number):
    query = context["request"].GET.copy()
    query["page"] = number
    return f"?{query.urlencode()}"


@register.simple_tag
def yes_no(value):
    return format_html(
        '<span class="fr-badge fr-badge--sm fr-badge--{}">{}</span>',
        "success" if value else "info",
        "Oui" if value else "Non",
    )


@register.simple_tag(takes_context=True)
def main_menu(context):
    from clausier.www.kit.navigation import menu_sections_for

    request = context.get("request")
    return menu_sections_for(request) if request is not None else []


@register.inclusion_tag("www/_breadcrumb.html")
def breadcrumb(*args):
    """`{% breadcrumb "Marchés" list_url "Marché X" %}`: label/url pairs, then the current page."""
    *pairs, current = args
    links = [{"label": pairs[i], "url": pairs[i + 1]} for i in range(0, len(pairs) - 1, 2)]
    return {"links": links, "current": current}


@register.filter
def clause_of(lot):
    """The lot's clause or None (a missing reverse one-to-one raises instead of returning None)."""
    return getattr(lot, "clause", None)


@register.filter
def jobs_worked(person):
    """The jobs a person of the pool has held (`clausier.matching.pool.jobs_worked`)."""
    return pool.jobs_worked(person)


@register.filter
def iso_date(value):
    """A date field's value as a DSFR date input holds it (yyyy-mm-dd; a French date typed is converted)."""
    return DsfrDateInput().format_value(value) or ""
