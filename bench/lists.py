"""`python -m bench lists`: server time of every list page, for every demo login of one territory.

The list pages are found in the URL conf (every view that is a `ListView` and takes no path argument), so a
new list is timed without being declared here. Each page is requested through the test client (the whole
middleware stack and the templates, no network) by each demo login of the territory (`clausier demo
--logins`); a page a login may not see (403, redirect) is skipped for it. One request counts the SQL queries,
then `--runs` requests are timed: median and p95. The table is sorted slowest first, against the target.

Runs against the database of `DATABASE_URL`: the one-territory SQLite demo, or a national database (then
`--territory` picks the territory whose logins are used; `--create-logins` creates users like the demo's in
a transaction rolled back at the end, for a database built without users).

    DEBUG=1 DATABASE_URL=sqlite:////tmp/demo.sqlite3 python -m bench lists --runs 7
"""

import statistics
import time
from dataclasses import dataclass

TARGET_MS = 100.0


@dataclass(frozen=True)
class ListPage:
    name: str  # "namespace:url_name", for `reverse`
    path: str


@dataclass(frozen=True)
class Row:
    page: ListPage
    role: str
    median_ms: float
    p95_ms: float
    queries: int
    rows: int  # the paginator's count

    @property
    def failing(self) -> bool:
        return self.median_ms > TARGET_MS


def list_view_names(resolver=None, namespace: str = "") -> list[str]:
    """The URL names of every `ListView` without path arguments, namespaced, in URL conf order."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.views.generic.list import MultipleObjectMixin

    resolver = resolver or get_resolver()
    names = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if not pattern.pattern.converters and not pattern.pattern.regex.groupindex:
                names.extend(list_view_names(pattern, inner))
        elif isinstance(pattern, URLPattern) and pattern.name:
            view_class = getattr(pattern.callback, "view_class", None)
            takes_args = pattern.pattern.converters or pattern.pattern.regex.groupindex
            if view_class and issubclass(view_class, MultipleObjectMixin) and not takes_args:
                names.append(f"{namespace}{pattern.name}")
    return list(dict.fromkeys(names))


def list_pages() -> list[ListPage]:
    from django.urls import reverse

    return [ListPage(name, reverse(name)) for name in list_view_names()]


def territory_logins(slug: str):
    """(role, user) of the demo logins that belong to the territory `slug`."""
    from clausier.demo.users import demo_logins
    from clausier.organizations.models import User

    by_email = {u.email: u for u in User.objects.filter(email__in=[x.email for x in demo_logins()])}
    return [(login.role, by_email[login.email]) for login in demo_logins() if login.email in by_email]


def time_page(client, path: str, runs: int):
    """(status, median ms, p95 ms, queries, count) of `runs` requests of `path`; only the status when not 200."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        return response.status_code, None
    paginator = (getattr(response, "context_data", None) or {}).get("paginator")  # a TemplateResponse
    count = paginator.count if paginator else 0
    queries = len(captured.captured_queries)
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path)
        durations.append((time.perf_counter() - start) * 1000)
    durations.sort()
    p95 = durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))]
    return 200, (statistics.median(durations), p95, queries, count)


def measure(logins, runs: int = 5, pages: list[ListPage] | None = None) -> list[Row]:
    """A row per (list page, login) the login may see, slowest first."""
    import logging

    from django.conf import settings
    from django.test import Client

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 403/404 of a role's forbidden pages

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    pages = pages if pages is not None else list_pages()
    rows = []
    for role, user in logins:
        client = Client(secure=True)
        client.force_login(user)
        for page in pages:
            status, timing = time_page(client, page.path, runs)
            if timing:
                rows.append(Row(page, role, *timing))
    return sorted(rows, key=lambda r: -r.median_ms)


def print_table(rows: list[Row], pages: list[ListPage], out=print) -> None:
    out(f"{'page':<42} {'rôle':<20} {'médiane':>9} {'p95':>9} {'req.':>5} {'lignes':>7}")
    for row in rows:
        mark = "  ÉCHEC" if row.failing else ""
        out(
            f"{row.page.path:<42} {row.role:<20} {row.median_ms:>7.1f}ms {row.p95_ms:>7.1f}ms "
            f"{row.queries:>5} {row.rows:>7}{mark}"
        )
    timed = {row.page.name for row in rows}
    unseen = [p.path for p in pages if p.name not in timed]
    if unseen:
        out(f"pages vues par aucun compte : {', '.join(unseen)}")
    failing = [row for row in rows if row.failing]
    slowest = rows[0] if rows else None
    if slowest:
        out(f"la plus lente : {slowest.page.path} ({slowest.role}) {slowest.median_ms:.1f} ms")
    out(
        f"{len(pages)} pages de liste, {len(rows)} mesures, cible ≤ {TARGET_MS:.0f} ms : "
        + (f"{len(failing)} en échec" if failing else "toutes atteintes")
    )


def main(territory: str | None = None, runs: int = 5, create_logins: bool = False) -> int:
    from django.db import transaction

    from clausier.demo.calibration import DEMO
    from clausier.organizations.models import Facilitator

    slug = territory or DEMO.slug
    if not Facilitator.objects.filter(slug=slug).exists():
        print(f"aucun territoire « {slug} » dans cette base")
        return 2
    pages = list_pages()
    with transaction.atomic():
        logins = territory_logins(slug) if not create_logins else _temporary_logins(slug)
        if not logins:
            print(f"aucun compte de démonstration pour « {slug} » (essayer --create-logins)")
            return 2
        rows = measure(logins, runs, pages)
        if create_logins:
            transaction.set_rollback(True)  # the users created for the bench leave no trace
    print_table(rows, pages)
    return 1 if any(row.failing for row in rows) else 0


def _temporary_logins(slug: str):
    """A user per role like the demo's, in territory `slug`: one organization of each kind."""
    from clausier.organizations.models import (
        Buyer,
        Company,
        Facilitator,
        InsertionStructure,
        Membership,
        Prescriber,
        Role,
        User,
    )

    facilitator = Facilitator.objects.get(slug=slug)
    organizations = [
        ("facilitator_admin", facilitator, Role.ADMIN),
        ("facilitator_member", facilitator, Role.MEMBER),
    ]
    for role, model in (
        ("buyer", Buyer),
        ("company", Company),
        ("insertion_structure", InsertionStructure),
        ("prescriber", Prescriber),
    ):
        organization = model.objects.partners_of(facilitator).order_by("pk").first()
        if organization:
            organizations.append((role, organization, Role.ADMIN))
    logins = []
    for role, organization, membership_role in organizations:
        user = User.objects.create(username=f"bench-lists-{role}@{slug}", email=f"bench-lists-{role}@{slug}")
        Membership.objects.create(user=user, organization=organization, role=membership_role)
        logins.append((role, user))
    return logins
