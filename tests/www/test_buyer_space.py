"""A buyer's space (issue 8): its operations, markets and lots with their progress, its bilans; aggregates only.

Domain §8: buyers see aggregates, never a person. The walk below follows every link reachable from the buyer's
menu and space (pages, list exports, bilans in HTML, PDF and XLSX) and looks for the name of every participant
of both worlds; the same walk for the company does find its people (the check is not vacuous).
"""

import datetime
import re
from decimal import Decimal
from urllib.parse import urljoin, urlparse

import pytest
from django.urls import reverse

from clausier.participants.models import Participant
from clausier.participants.profiles import refresh_profiles
from tests.factories import ContractFactory
from tests.www.test_company_space import HOME, more_obligations, queries_of
from tests.www.test_criteria_in_exports import normalized, text_of
from tests.www.test_navigation import sections

pytestmark = pytest.mark.django_db


def test_the_home_shows_its_lots_progress_operations_markets_and_bilans(world_a, world_b, buyer_client):
    w = world_a
    response = buyer_client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Mon espace</h1>" in html
    row = html.split(f'data-lot="{w.objects["lot"].uuid}"')[1].split("</tr>")[0]
    assert 'data-testid="lot-target">833 h<' in row and 'data-testid="lot-realised">360 h<' in row
    assert 'data-testid="lot-completion">43,2 %<' in row and 'data-testid="lot-status">En retard<' in row
    assert 'data-testid="buyer-target">833 h<' in html and 'data-testid="buyer-realised">360 h' in html
    operations = html.split('data-testid="operations"')[1].split("</ul>")[0]
    assert reverse("www:operation_detail", kwargs={"uuid": w.objects["operation"].uuid}) in operations
    markets = html.split('data-testid="markets"')[1].split("</ul>")[0]
    assert reverse("www:market_detail", kwargs={"uuid": w.objects["market"].uuid}) in markets
    bilans = html.split('data-testid="buyer-bilans"')[1].split("</section>")[0]
    for name in ("www:bilan_buyer", "www:bilan_buyer_pdf", "www:bilan_buyer_xlsx"):
        assert reverse(name, kwargs={"uuid": w.orgs["buyer"].uuid}) in bilans
    for other in (w.objects["other_lot"], w.objects["other_market"], world_b.objects["lot"]):
        assert str(other.uuid) not in html


def test_the_home_costs_the_same_queries_for_1_or_30_lots(
    world_a, buyer_client, django_assert_max_num_queries
):
    small = queries_of(buyer_client, HOME)
    more_obligations(world_a, world_a.orgs["company"], 29)
    with django_assert_max_num_queries(small):
        response = buyer_client.get(HOME)
    html = response.content.decode()
    assert html.count('data-testid="lot-row"') == 25  # a page of lots
    assert "Page suivante" in html
    with django_assert_max_num_queries(small):
        assert buyer_client.get(HOME, {"page": 2}).content.decode().count('data-testid="lot-row"') == 5


@pytest.mark.parametrize(
    "name",
    [
        "www:my_hours",
        "www:my_statement_template",
        "www:my_statement_upload",
        "www:my_people",
        "www:directory",
    ],
)
def test_the_buyer_has_no_employer_pages_nor_directory(world_a, buyer_client, name):
    assert buyer_client.get(reverse(name)).status_code == 404


def test_another_buyers_market_lot_and_bilan_are_404(world_a, world_b, buyer_client):
    w = world_a
    for name, obj in (
        ("www:market_detail", w.objects["other_market"]),
        ("www:lot_detail", w.objects["other_lot"]),
        ("www:operation_detail", w.objects["other_operation"]),
        ("www:bilan_buyer", w.orgs["other_buyer"]),
        ("www:bilan_market", world_b.objects["market"]),
        ("www:contract_detail", w.objects["contract"]),  # its own lot's contract: no people for a buyer
        ("www:participant_detail", w.objects["participant"]),
    ):
        assert buyer_client.get(reverse(name, kwargs={"uuid": obj.uuid})).status_code == 404, name


# --- The walk -------------------------------------------------------------------------------------------------

HREF = re.compile(r'href="([^"#]*)"')
# Not followed: static files, the admin site, logging out, and the public site (open to all, aggregates under
# statistical secrecy: tests/publicsite). A list's other sort orders show the same rows: not followed either.
SKIP = ("/static/", "/admin/", "/deconnexion/", "/cellules/", "/simulateur/")
SORTED = re.compile(r"[?&]tri=")
MAX_PAGES = 400


def links(html: str, base: str):
    for href in HREF.findall(html):
        href = href.replace("&amp;", "&")
        url = urlparse(urljoin(base, href))
        if url.scheme in ("", "http") and url.netloc in ("", "testserver") and url.path.startswith("/"):
            link = url.path + (f"?{url.query}" if url.query else "")
            if not SORTED.search(link):
                yield link


def kind_of(response) -> str:
    content_type = response.get("Content-Type", "")
    if content_type == "application/pdf":
        return "pdf"
    if content_type.startswith("application/vnd.openxmlformats"):
        return "xlsx"
    if content_type.startswith("text/csv"):
        return "csv"
    return "html"


def walk(client, start_pages) -> dict[str, str]:
    """Every page reachable from `start_pages` by links (GET), with its text: {url: text}."""
    seen, queue, texts = set(), list(start_pages), {}
    while queue and len(texts) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP):
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            continue
        kind = kind_of(response)
        text = text_of(response, kind)
        texts[url] = text
        if kind == "html":
            queue += [link for link in links(text, url) if link not in seen]
    return texts


def exports_of(texts: dict) -> list[str]:
    """The list pages' exports (a form, not a link): XLSX and CSV of each list reached."""
    lists = sorted({urlparse(url).path for url, text in texts.items() if 'data-testid="export"' in text})
    return [f"{path}?format={fmt}" for path in lists for fmt in ("xlsx", "csv")]


def names_of_every_participant() -> list[str]:
    names = set()
    for first, last in Participant.objects.values_list("first_name", "last_name"):
        names |= {normalized(first), normalized(last)}
    return sorted(names)


@pytest.fixture
def named_worlds(worlds):
    """Both worlds, every participant renamed to a word found nowhere else, with profiles and more people."""
    a, _ = worlds
    ContractFactory(lot=a.objects["lot"], company=a.orgs["company"])  # one more on the buyer's lot
    for index, participant in enumerate(Participant.objects.order_by("pk")):
        Participant.objects.filter(pk=participant.pk).update(
            first_name=f"Prenomsecret{index:02d}", last_name=f"Nomsecret{index:02d}"
        )
    refresh_profiles(Participant.objects.all())
    return worlds


def test_no_page_reachable_by_a_buyer_names_a_participant(named_worlds, client_for):
    a, _ = named_worlds
    client = client_for(a.users["buyer"])
    _, menu = sections(a.users["buyer"])
    start = [HOME, *(item["url"] for section in menu for item in section["items"])]
    assert len(start) >= 4  # Mon espace, Opérations, Marchés, Bilans
    start.append(reverse("www:buyer_detail", kwargs={"uuid": a.orgs["buyer"].uuid}))  # its own page (by URL)
    texts = walk(client, start)
    for url in exports_of(texts):
        response = client.get(url)
        texts[url] = text_of(response, kind_of(response))
    reached = set(texts)
    # The walk did reach the buyer's menu, pages and downloads.
    for name, kwargs in (
        ("www:operation_list", None),
        ("www:market_list", None),
        ("www:bilan_index", None),
        ("www:market_detail", {"uuid": a.objects["market"].uuid}),
        ("www:lot_detail", {"uuid": a.objects["lot"].uuid}),
        ("www:operation_detail", {"uuid": a.objects["operation"].uuid}),
        ("www:bilan_buyer_pdf", {"uuid": a.orgs["buyer"].uuid}),
        ("www:bilan_buyer_xlsx", {"uuid": a.orgs["buyer"].uuid}),
        ("www:bilan_market", {"uuid": a.objects["market"].uuid}),
        ("accounts:security", None),
    ):
        assert reverse(name, kwargs=kwargs) in reached, name
    assert any("format=xlsx" in url for url in reached)
    names = names_of_every_participant()
    assert len(names) >= 2 * Participant.objects.count()
    leaks = {url: [n for n in names if n in normalized(text)] for url, text in texts.items()}
    assert not {url: found for url, found in leaks.items() if found}


def test_the_walk_finds_names_where_they_are_shown(named_worlds, client_for):
    """The same walk for the company reaches its people: the buyer's check above is not vacuous."""
    a, _ = named_worlds
    texts = walk(client_for(a.users["company"]), [HOME])
    direct = Participant.objects.get(pk=a.objects["direct_contract"].participant_id)
    assert any(normalized(direct.last_name) in normalized(text) for text in texts.values())


def test_the_buyer_sees_the_hours_of_its_lots_not_who_did_them(world_a, buyer_client):
    w = world_a
    html = buyer_client.get(
        reverse("www:lot_detail", kwargs={"uuid": w.objects["lot"].uuid})
    ).content.decode()
    assert "Contrats (0)" in html  # the lot's contracts are the employers' and the facilitator's
    assert 'data-testid="followup-realised">360 h<' in html
    assert Decimal("360") == sum(
        h.counted_hours for h in w.objects["contract"].hours.all() if h.month >= datetime.date(2024, 2, 1)
    )
