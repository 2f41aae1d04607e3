"""Accessibility kept clean: axe-core on every page each demo role can reach, and on the public pages.

The demo territory is built, then one browser context per demo account logs in through /connexion/ and crawls
from the dashboard: every same-origin link of each page is followed, one page per route (URL name and the
shape of its arguments, so that the 1,983 participants count as one page), never a download, the logout or
the admin. An anonymous visitor crawls the public pages the same way, from `/`, the login page and each
cellule's public site. axe-core (from the npm registry, kept in `tests/browser/axe/` with its licence and
provenance, nothing fetched from the network) runs on each HTML page; any `serious` or `critical` violation fails the test with
the role, the page, the rule and the elements concerned.

GET never writes (architecture, habit 4): following links changes nothing but the audit of reads, and only
`<a href>` are followed, never a form.
"""

import hashlib
import lzma
import os
import queue
import re
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import Resolver404, resolve
from playwright.sync_api import expect, sync_playwright

from clausier.demo.users import DEMO_PASSWORD, demo_logins
from clausier.organizations.models import Organization
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "axe" / "axe.min.js.xz"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # axe-core 4.14.1
BLOCKING = {"serious", "critical"}
# Every rule axe-core runs by default (WCAG 2.0–2.2 A and AA, best practices); only violations come back.
AXE_OPTIONS = {"resultTypes": ["violations"]}
# Responses that are files, not pages: PDF and XLSX bilans, CSV open data, statement templates, documents,
# logos, a participant's data export.
DOWNLOAD_NAME = re.compile(r"(_pdf|_xlsx|_csv|_download|_logo|_template|_export|opendata_.*)$")
# Never followed: leaving the session, the Django admin (not Clausier's UI), and the organization switch
# (a POST form; its URL answers GET with 405).
SKIPPED_NAMES = {"logout", "www:switch_organization"}
SKIPPED_PREFIXES = ("/admin/", "/static/", "/media/")
# Roles whose crawl starts at the dashboard; the demo's "multi" account (a facilitator member who is also a
# company's) shows the same pages as those two roles, plus the organization switch of the header.
# Longest crawls first, so that the two browsers finish together.
ROLES = [
    "facilitator_admin",
    "facilitator_member",
    "company",
    "multi",
    "buyer",
    "insertion_structure",
    "prescriber",
]
# Staff pages that no page links to (reached by their address, or from a page that only exists with data the
# demo does not have): the crawl of the facilitator's team starts there too. None since issue 14, and
# tests/www/test_no_orphan_page.py keeps it so; a page added here is audited all the same.
STAFF_UNLINKED: list[str] = []
UNLINKED = {"facilitator_admin": STAFF_UNLINKED, "facilitator_member": STAFF_UNLINKED}
# One page per route is enough; a bound keeps a regression (a link per row) from making the run endless.
MAX_PAGES_PER_ROLE = 150


def workers() -> int:
    # The test database of SQLite is in memory with a shared cache: two writers at once (a login, the audit
    # of a read) get "database table is locked" instead of waiting. One browser there, two on PostgreSQL.
    return 1 if connection.vendor == "sqlite" else min(2, os.cpu_count() or 1)


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # demo users are only created in development
    call_command("demo", verbosity=0)
    settings.DEBUG = False


def axe_script() -> str:
    script = lzma.decompress(AXE.read_bytes())
    assert hashlib.sha256(script).hexdigest() == AXE_SHA256, f"{AXE} ne correspond pas à sa provenance"
    return script.decode()


def route_key(path: str):
    """(URL name, argument names, slug) of a path, or None for a path outside Clausier's routes.

    A cellule's public pages keep their slug in the key: each cellule's public site is audited."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
    return name, tuple(sorted(match.kwargs)), match.kwargs.get("slug")


def followable(path: str, key) -> bool:
    if key is None or path.startswith(SKIPPED_PREFIXES):
        return False
    name = key[0]
    return name not in SKIPPED_NAMES and not DOWNLOAD_NAME.search(name)


class Crawl:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.origin = urlsplit(base_url).netloc
        self.pages: dict[str, list[str]] = {}  # role → paths audited
        self.violations: list[tuple[str, str, str, str, str, list[str]]] = []
        self.errors: list[tuple[str, str, str]] = []  # role, path, what went wrong

    def same_origin_path(self, href: str) -> str | None:
        parts = urlsplit(urljoin(self.base_url, href))
        if parts.scheme not in ("http", "https") or parts.netloc != self.origin:
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def run(self, role: str, page, starts: list[str]) -> None:
        seen = set()
        audited = self.pages.setdefault(role, [])
        queue = deque(starts)
        while queue and len(audited) < MAX_PAGES_PER_ROLE:
            target = queue.popleft()
            path = urlsplit(target).path
            key = route_key(path)
            if not followable(path, key) or key in seen:
                continue
            seen.add(key)
            response = page.goto(urljoin(self.base_url, target))
            landed = urlsplit(page.url).path
            landed_key = route_key(landed)
            if landed_key != key:  # a redirection (to the login page, to the dashboard…)
                if landed_key in seen:
                    continue
                seen.add(landed_key)
            if response is None or response.status >= 400:
                status = response.status if response else "sans réponse"
                self.errors.append((role, target, f"HTTP {status}"))
                continue
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            audited.append(landed)
            self.audit(role, page, landed)
            for href in page.eval_on_selector_all(
                "a[href]", "links => links.map(a => a.getAttribute('href'))"
            ):
                found = self.same_origin_path(href)
                if found:
                    queue.append(found)

    def audit(self, role: str, page, path: str) -> None:
        results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        for violation in results["violations"]:
            nodes = [node for node in violation["nodes"] if node.get("impact") in BLOCKING]
            if nodes:
                targets = [" ".join(map(str, node["target"])) for node in nodes]
                self.violations.append(
                    (role, path, violation["id"], violation["impact"], violation["help"], targets)
                )

    def report(self) -> str:
        lines = [f"{len(self.violations)} violation(s) d'accessibilité bloquante(s) (serious/critical) :"]
        for role, path, rule, impact, help_text, targets in self.violations:
            lines.append(f"- [{role}] {path} — {rule} ({impact}) : {help_text}")
            lines.extend(f"    {target}" for target in targets[:10])
            if len(targets) > 10:
                lines.append(f"    … et {len(targets) - 10} autre(s)")
        return "\n".join(lines)


def log_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/connexion/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("mot de passe", re.I)).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()
    expect(page).not_to_have_url(re.compile("/connexion/"))


def crawl_in_parallel(crawl: Crawl, jobs: list[tuple[str, str | None, list[str]]]) -> None:
    """Run the jobs (role, e-mail or None for a visitor, start paths) on `workers()` browsers, one thread each:
    axe's work happens in Chromium, the pages' rendering in the live server, so two browsers keep both
    cores busy. Each thread has its own Playwright (its objects belong to the thread that made them)."""
    axe = axe_script()
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    failures: list[BaseException] = []

    def worker():
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                while not failures:
                    try:
                        role, email, starts = work.get_nowait()
                    except queue.Empty:
                        break
                    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
                    # The live server answers on one shared in-memory SQLite connection: two browsers queue behind
                    # the heavy pages (a territory's bilan), so a page may wait for several others.
                    context.set_default_timeout(60_000)
                    context.add_init_script(script=axe)  # axe-core in every page, once per context
                    page = context.new_page()
                    if email:
                        log_in(page, crawl.base_url, email)
                    crawl.run(role, page, starts)
                    context.close()
                browser.close()
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=worker, name=f"axe-{n}") for n in range(workers())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def test_no_serious_or_critical_accessibility_violation(demo, live_server):
    started = time.monotonic()
    crawl = Crawl(live_server.url)
    logins = {login.role: login for login in demo_logins()}
    assert set(ROLES) == set(logins)
    cellules = [
        f"/cellules/{slug}/" for slug in Organization.objects.facilitators().values_list("slug", flat=True)
    ]
    assert cellules
    public = ["/", "/connexion/", "/mot-de-passe-oublie/", "/cellules/", "/simulateur/", *cellules]
    jobs = [(role, logins[role].email, ["/", *UNLINKED.get(role, [])]) for role in ROLES]
    jobs.append(("anonyme", None, public))

    crawl_in_parallel(crawl, jobs)

    elapsed = time.monotonic() - started
    summary = ", ".join(f"{role} {len(crawl.pages.get(role, []))}" for role in [*ROLES, "anonyme"])
    print(f"\nPages auditées par rôle : {summary} ({elapsed:.0f} s)")
    for role, paths in crawl.pages.items():
        print(role, [route_key(urlsplit(p).path)[0] for p in paths])
    for role, paths in crawl.pages.items():
        assert len(paths) >= 3, f"{role} : trop peu de pages atteintes ({paths})"
    assert not crawl.errors, "Liens en erreur :\n" + "\n".join(
        f"- [{r}] {p} : {e}" for r, p, e in crawl.errors
    )
    assert not crawl.violations, crawl.report()
