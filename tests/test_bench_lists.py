"""`python -m bench lists` finds every list page and times it for each login."""

from django.urls import get_resolver

from bench import lists
from clausier.www.kit.lists import FilteredListView


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _routed_without_arguments():
    """Every view class routed on a URL without path arguments, found by walking the URL conf by hand."""
    found = set()

    def walk(resolver):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern)
            elif not pattern.pattern.converters and not pattern.pattern.regex.groupindex:
                found.add(getattr(pattern.callback, "view_class", None))

    walk(get_resolver())
    return found


def test_discovery_finds_every_list_view():
    names = lists.list_view_names()
    timed = {get_resolver().resolve(page.path).func.view_class for page in lists.list_pages()}
    list_views = set(_subclasses(FilteredListView)) & _routed_without_arguments()
    assert list_views, "no list view routed: the walk is wrong"
    assert list_views <= timed, f"list views the bench does not time: {list_views - timed}"
    assert {"www:buyer_list", "www:market_list", "www:participant_list", "www:contract_list"} <= set(names)
    assert len(names) == len(set(names))


def test_one_run_on_a_tiny_world_gives_rows(world_a):
    pages = [page for page in lists.list_pages() if page.name in {"www:buyer_list", "www:market_list"}]
    logins = [("facilitator_admin", world_a.users["facilitator_admin"])]
    rows = lists.measure(logins, runs=1, pages=pages)
    assert {row.page.name for row in rows} == {"www:buyer_list", "www:market_list"}
    assert all(row.queries > 0 and row.median_ms > 0 for row in rows)
    assert rows == sorted(rows, key=lambda r: -r.median_ms)
    out = []
    lists.print_table(rows, pages, out=out.append)
    assert "la plus lente" in out[-2] and "cible ≤ 100 ms" in out[-1]
