"""Crawl the pages a role can reach with Django's test client (tests/www/test_no_orphan_page.py,
tests/www/test_french_numbers.py).

From the role's home (`/`), every same-origin `<a href>` of each HTML page is followed, navigation menu
included; one page per route (URL name and argument names, as tests/browser/test_accessibility.py does), never
a download, the logout, the organization switch (a POST form) or the admin. Forms are never submitted: GET
never writes (architecture, habit 4).
"""

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.urls import Resolver404, resolve, reverse

ORIGIN = "http://testserver"
# Responses that are files, not pages (same list as tests/browser/test_accessibility.py).
DOWNLOAD_NAME = re.compile(r"(_pdf|_xlsx|_csv|_download|_logo|_template|_export|opendata_.*)$")
SKIPPED_NAMES = {"logout", "www:switch_organization"}
SKIPPED_PREFIXES = ("/admin/", "/static/", "/media/")
# One page per route is enough; the bound keeps a regression (a route per row) from making the run endless.
MAX_PAGES = 150


def route_key(path: str):
    """(URL name, argument names) of a path, or None for a path outside the project's routes."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
    return name, tuple(sorted(match.kwargs))


def followable(path: str, key) -> bool:
    if key is None or path.startswith(SKIPPED_PREFIXES):
        return False
    return key[0] not in SKIPPED_NAMES and not DOWNLOAD_NAME.search(key[0])


class _PageParser(HTMLParser):
    """The `<a href>` of a page and its visible text (text nodes outside <script>, <style>, <template>)."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(" ".join(data.split()))


@dataclass
class Page:
    path: str  # with its query string, as linked
    key: tuple
    hrefs: list[str] = field(default_factory=list)  # same-origin targets, path and query
    texts: list[str] = field(default_factory=list)


@dataclass
class Crawl:
    pages: list[Page] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def linked_paths(self) -> set[str]:
        """Paths some crawled page links to (query strings dropped: `/releves/?statut=x` links `/releves/`)."""
        return {urlsplit(href).path for page in self.pages for href in page.hrefs}


def same_origin(base_path: str, href: str) -> str | None:
    parts = urlsplit(urljoin(ORIGIN + base_path, href))
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(ORIGIN).netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, starts=("/",), also=(), max_pages: int = MAX_PAGES) -> Crawl:
    """Breadth-first, in link order: deterministic for the same data. The paths of `also` (the pages of the
    rows a test made) are rendered whenever a page links to them, even when their route was seen already."""
    also = set(also)
    result = Crawl()
    seen = set()
    todo = deque(starts)
    while todo and len(result.pages) < max_pages:
        target = todo.popleft()
        path = urlsplit(target).path
        key = route_key(path)
        if not followable(path, key) or (key in seen and path not in also):
            continue
        seen.add(key)
        also.discard(path)
        response = client.get(target)
        if response.status_code in (301, 302, 303, 307, 308):
            location = same_origin(path, response["Location"])
            if location:  # a redirection (to the role's page, to a month…): crawl where it lands
                todo.appendleft(location)
            continue
        if response.status_code >= 400:
            result.errors.append(f"{target} → HTTP {response.status_code}")
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        parser = _PageParser()
        parser.feed(response.content.decode())
        hrefs = [found for href in parser.hrefs if (found := same_origin(path, href))]
        result.pages.append(Page(target, key, hrefs, parser.texts))
        todo.extend(hrefs)
    left = {key for t in todo if followable(urlsplit(t).path, key := route_key(urlsplit(t).path))} - seen
    if left:  # a page per row somewhere: say so rather than check part of the pages
        result.errors.append(f"plus de {max_pages} pages : {sorted(name for name, _ in left)[:10]} non vues")
    return result


# --- Data: what the pages need to exist, with numbers that are not whole ----------------------------------


def populate(w) -> list[str]:
    """Give world `w` (tests/factories.py `build_world`) the rows that make the pages exist — a globalisation
    agreement, matching (a candidacy, an offer, a proposal), an import, a public document and partner — and
    numbers that are not whole: hours 12.5, amounts 1 234,56 €, rates 5,5 %, an ETP on 1 607 hours,
    counting coefficients 1.00 and 1.25. Fixed values and dates only: two runs render the same pages.

    Returns the paths of the rows made or changed, for `crawl(also=…)`."""
    import datetime
    from decimal import Decimal as D

    from clausier.employment.models import HoursRecord
    from clausier.matching.models import Proposal
    from clausier.organizations.models import FacilitatorSettings
    from clausier.participants.models import Participant
    from clausier.procurement.models import Award, Clause, Lot, Market
    from clausier.reference.models import Modality
    from tests import factories as f
    from tests.matching.helpers import probe_candidacy, probe_offer
    from tests.test_access_probe import public_document, public_partner
    from tests.www.test_imports import import_run_for

    fac, o = w.facilitator, w.objects
    FacilitatorSettings.objects.update_or_create(
        facilitator=fac, defaults={"fte_hours": 1607, "max_monthly_hours": D("151.67")}
    )
    every = f.CountingRuleFactory(facilitator=fac, coefficient=D("1.00"))
    provision = f.CountingRuleFactory(
        facilitator=fac, modality=f.ref(Modality, "provision"), coefficient=D("1.25")
    )
    f.LabourShareFactory(facilitator=fac, share=D("0.65"))
    f.HourlyCostFactory(facilitator=fac, amount=D("28.75"))
    Market.objects.filter(pk=o["market"].pk).update(amount_ht=D("123456.78"))
    Lot.objects.filter(pk=o["lot"].pk).update(amount_ht=D("1234.56"))
    Award.objects.filter(pk=o["award"].pk).update(amount_ht=D("1234.56"))
    Clause.objects.filter(pk=o["clause"].pk).update(
        amount_ht=D("123456.78"),
        labour_share=D("0.45"),
        insertion_rate=D("0.055"),
        hourly_cost=D("28.75"),
        computed_hours=D("1234.5"),
        hours_target=D("1234.5"),
    )
    # The structure's provision contract: February 2024, 112.5 h worked + 7.5 h of training, counted × 1.25.
    HoursRecord.objects.filter(pk=o["hours"].pk).update(
        hours=D("112.5"), training_hours=D("7.5"), counted_hours=D("150"), rule=provision
    )
    direct = o["direct_contract"]
    direct.weekly_hours = D("17.5")
    direct.save()
    direct_hours = f.HoursRecordFactory(
        contract=direct, month=datetime.date(2024, 3, 1), hours=D("12.5"), training_hours=D("3.5"), rule=every
    )
    Participant.objects.filter(pk=o["participant"].pk).update(qpv_geocoding_score=0.873)

    # A second lot of the market, pooled with the first one by the company (globalisation agreement).
    pooled = f.LotFactory(market=o["market"], amount_ht=D("9876.54"))
    f.ClauseFactory(lot=pooled, fixed=True, hours_target=D("80.25"))
    Award.objects.create(facilitator=fac, lot=pooled, company=w.orgs["company"], role="co")
    agreement = o["lot"].globalisations.create(
        facilitator=fac, company=w.orgs["company"], name="Convention", through_defaults={"facilitator": fac}
    )
    agreement.lots.add(pooled, through_defaults={"facilitator": fac})

    candidacy = probe_candidacy(w)
    offer = probe_offer(w)
    offer.weekly_hours = D("24.5")
    offer.save()
    proposal = Proposal.objects.create(
        facilitator=fac,
        offer=offer,
        participant=o["participant"],
        status="sent",
        sent_at=datetime.datetime(2025, 1, 10, 9, 0, tzinfo=datetime.UTC),
    )
    run = import_run_for(w)
    public_document(w)
    public_partner(w)

    pages = {
        "www:market_detail": [o["market"]],
        "www:lot_detail": [o["lot"], pooled],
        "www:contract_detail": [o["contract"], direct],
        "www:participant_detail": [o["participant"], direct.participant],
        "www:statement_detail": [o["hours"].statement, direct_hours.statement],
        "www:pool_edit": [agreement],
        "www:candidacy_detail": [candidacy],
        "www:offer_detail": [offer],
        "www:proposal_detail": [proposal],
        "www:import_preview": [run],
    }
    return [reverse(name, kwargs={"uuid": row.uuid}) for name, rows in pages.items() for row in rows]
