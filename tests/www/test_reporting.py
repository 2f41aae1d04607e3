"""Dashboard filters (htmx partial and full page agree) and bilans (HTML, PDF, XLSX; access; small cells)."""

import datetime
import io
import re

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook

from clausier.reporting.breakdowns import indicators
from clausier.reporting.filters import IndicatorFilter
from clausier.utils.formatting import fr_number
from tests.factories import (
    ClauseFactory,
    ContractFactory,
    FacilitatorFactory,
    MarketFactory,
    add_months,
    monthly_hours,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def tile(page: str, name: str) -> str:
    match = re.search(rf'data-testid="figure-{name}">([^<]*)<', page)
    assert match, name
    return match.group(1)


def block(page: str) -> str:
    """The figures block of the full page (what the htmx partial replaces)."""
    start = page.index('<div id="dashboard-figures"')
    start = page.index(">", start) + 1
    end = page.index("<h2", page.index('data-testid="figure-buyers"'))
    return page[start:end]


def test_dashboard_filters_apply_to_every_figure(world_a, facilitator_member_client):
    market = world_a.objects["market"]
    url = reverse("www:dashboard")
    page = facilitator_member_client.get(url).content.decode()
    expected = indicators(IndicatorFilter(world_a.facilitator))
    assert tile(page, "hours") == fr_number(expected.hours)
    assert tile(page, "contracts") == fr_number(expected.contracts)
    assert 'data-testid="chart"' in page and "<svg" in page
    assert 'data-testid="table-types"' in page

    query = {"marche": str(market.uuid), "annee": "2024"}
    filtered = indicators(IndicatorFilter.for_year(world_a.facilitator, 2024, market_id=market.pk))
    assert filtered.contracts == 2 and filtered.hours == 360  # the market's two contracts, 120+140+100 h
    full = facilitator_member_client.get(url, query).content.decode()
    partial = facilitator_member_client.get(url, query, **HTMX)
    assert partial["Vary"] and "HX-Request" in partial["Vary"]
    partial = partial.content.decode()
    assert "<html" not in partial and "dashboard-filters" not in partial
    for page in (full, partial):
        assert tile(page, "contracts") == "2"
        assert tile(page, "hours") == "360"
        assert tile(page, "participants") == "2"
        assert 'data-testid="filter-summary"' in page
    # The partial is the full page's figures block.
    assert re.sub(r"\s+", " ", block(full)).strip()[:2000] == re.sub(r"\s+", " ", partial).strip()[:2000]


def test_dashboard_lot_choices_follow_the_market(world_a, facilitator_member_client):
    page = facilitator_member_client.get(reverse("www:dashboard")).content.decode()
    option = f'value="{world_a.objects["lot"].uuid}"'
    assert option not in page  # no market chosen: no lot list
    page = facilitator_member_client.get(
        reverse("www:dashboard"), {"marche": str(world_a.objects["market"].uuid)}
    ).content.decode()
    assert option in page


def test_dashboard_other_facilitator_choice_is_invalid(worlds, client_for):
    a, b = worlds
    client = client_for(a.users["facilitator_member"])
    page = client.get(reverse("www:dashboard"), {"marche": str(b.objects["market"].uuid)}).content.decode()
    assert "Filtres invalides" in page
    assert tile(page, "contracts") == fr_number(indicators(IndicatorFilter(a.facilitator)).contracts)


def test_dashboard_figures_for_staff_only(world_a, buyer_client):
    page = buyer_client.get(reverse("www:dashboard")).content.decode()
    assert 'data-testid="figure-hours"' not in page
    assert "dashboard-filters" not in page
    partial = buyer_client.get(reverse("www:dashboard"), **HTMX).content.decode()
    assert 'data-testid="figure-hours"' not in partial


def bilan_urls(world, name, obj):
    return [reverse(f"www:{name}{suffix}", kwargs={"uuid": obj.uuid}) for suffix in ("", "_pdf", "_xlsx")]


@pytest.mark.parametrize(
    ("name", "target"),
    [("bilan_buyer", "buyer"), ("bilan_operation", "operation"), ("bilan_market", "market")],
)
def test_buyer_gets_its_own_bilans_with_small_cells_hidden(
    world_a, buyer_client, facilitator_member_client, name, target
):
    obj = world_a.orgs.get(target) or world_a.objects[target]
    html, pdf, xlsx = bilan_urls(world_a, name, obj)
    page = buyer_client.get(html)
    assert page.status_code == 200
    text = page.content.decode()
    assert "&lt; 5" in text  # two people: hidden from the buyer
    assert "<svg" in text
    staff = facilitator_member_client.get(html).content.decode()
    assert "&lt; 5" not in staff.split("Chiffres clés")[1].split("Méthode")[0]
    response = buyer_client.get(pdf)
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    response = buyer_client.get(xlsx)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    summary = {row[0]: row[1] for row in workbook.get_sheet_by_name("Synthèse").to_python() if row and row[0]}
    assert summary["Bénéficiaires (sans double compte)"] == "< 5"
    assert summary["Heures réalisées"] == 360.0


def test_bilans_of_another_buyer_or_facilitator_are_404(worlds, client_for):
    a, b = worlds
    buyer = client_for(a.users["buyer"])
    for url in (
        *bilan_urls(a, "bilan_market", a.objects["other_market"]),  # another buyer's market, same facilitator
        *bilan_urls(a, "bilan_buyer", a.orgs["other_buyer"]),
        *bilan_urls(a, "bilan_operation", a.objects["other_operation"]),
        *bilan_urls(b, "bilan_market", b.objects["market"]),
        reverse("www:bilan_territory"),
        reverse("www:bilan_territory_pdf"),
    ):
        assert buyer.get(url).status_code == 404, url
    staff_a = client_for(a.users["facilitator_member"])
    for url in (
        *bilan_urls(b, "bilan_market", b.objects["market"]),
        *bilan_urls(b, "bilan_buyer", b.orgs["buyer"]),
    ):
        assert staff_a.get(url).status_code == 404, url
    company = client_for(a.users["company"])
    for url in bilan_urls(a, "bilan_market", a.objects["market"]):  # a company sees the market, not its bilan
        assert company.get(url).status_code == 404, url


def test_territory_bilan_for_staff(world_a, facilitator_member_client):
    response = facilitator_member_client.get(reverse("www:bilan_territory"), {"annee": "2024"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bilan 2024 de Cellule clause A" in page
    assert facilitator_member_client.get(reverse("www:bilan_territory"), {"annee": "abc"}).status_code == 404
    xlsx = facilitator_member_client.get(reverse("www:bilan_territory_xlsx"), {"annee": "2024"})
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    summary = {row[0]: row[1] for row in workbook.get_sheet_by_name("Synthèse").to_python() if row and row[0]}
    assert (
        summary["Contrats"] == 3.0
    )  # staff: every count shown (two contracts of the buyer, one of the other)


def test_bilan_of_a_year_for_a_market(world_a, buyer_client):
    url = reverse("www:bilan_market", kwargs={"uuid": world_a.objects["market"].uuid})
    page = buyer_client.get(url, {"annee": "2023"}).content.decode()
    assert "— 2023" in page
    assert "?annee=2023" in page  # the downloads keep the year


def test_bilan_index(world_a, buyer_client, company_client, facilitator_member_client):
    page = buyer_client.get(reverse("www:bilan_index")).content.decode()
    assert world_a.objects["market"].reference in page
    assert world_a.objects["other_market"].reference not in page
    assert 'data-testid="no-bilan"' in company_client.get(reverse("www:bilan_index")).content.decode()
    assert (
        "Bilan annuel du territoire"
        in facilitator_member_client.get(reverse("www:bilan_index")).content.decode()
    )


def test_no_partner_leaks_into_an_empty_facilitator(client_for):
    from tests.factories import UserFactory

    user = UserFactory(member_of=FacilitatorFactory())
    page = client_for(user).get(reverse("www:dashboard")).content.decode()
    assert tile(page, "contracts") == "0"


def test_lots_at_risk_follow_the_dashboard_filters_and_the_partial(
    world_a, facilitator_member_client, monkeypatch
):
    """Two late lots (10 h a month for 833 h, on 15 July 2024), one per buyer of A, each its own company; a
    third lot of a market of 2022 is late too. Filters narrow the list; the htmx partial carries it."""
    monkeypatch.setattr("clausier.www.hours.views.today", lambda: datetime.date(2024, 7, 15))

    def late_lot(buyer, start, end):
        market = MarketFactory(facilitator=world_a.facilitator, buyer=buyer, start_date=start, end_date=end)
        lot = ClauseFactory(lot__market=market).lot  # 833 h
        contract = ContractFactory(lot=lot, start_date=start)
        monthly_hours(contract, {add_months(start, i): 10 for i in range(5)})
        return lot, contract.company

    year = (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    mine, company = late_lot(world_a.orgs["buyer"], *year)
    theirs, _ = late_lot(world_a.orgs["other_buyer"], *year)
    old, _ = late_lot(world_a.orgs["buyer"], datetime.date(2023, 9, 1), datetime.date(2024, 6, 30))

    def risks(query=None, **headers):
        page = facilitator_member_client.get(
            reverse("www:dashboard"), query or {}, **headers
        ).content.decode()
        section = page.split('data-testid="lots-at-risk"')[1].split("</section>")[0]
        shown = {
            lot
            for lot in (mine, theirs, old)
            if reverse("www:lot_detail", kwargs={"uuid": lot.uuid}) in section
        }
        return section, shown

    assert risks()[1] == {mine, theirs, old}
    assert risks({"donneur": str(world_a.orgs["other_buyer"].uuid)})[1] == {theirs}
    assert risks({"entreprise": str(company.uuid)})[1] == {mine}
    assert risks({"marche": str(theirs.market.uuid)})[1] == {theirs}
    assert risks({"debut": "2023-01-01", "fin": "2023-12-31"})[1] == {old}  # markets running in 2023
    # The htmx partial (the block the filters refresh) holds the same, filtered list as the full page.
    query = {"donneur": str(world_a.orgs["buyer"].uuid)}
    full, shown = risks(query)
    partial, partial_shown = risks(query, **HTMX)
    assert shown == partial_shown == {mine, old}
    assert re.sub(r"\s+", " ", full) == re.sub(r"\s+", " ", partial)
    assert "Filtres appliqués aux lots" in partial


def test_dashboard_figures_are_cached_until_the_territory_data_change(
    world_a, facilitator_member_client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """A second view reads the cache (far fewer queries); any write of the territory (here an outcome,
    written by its action, which no `post_save` watches) gives fresh figures; another territory's writes
    do not touch A's cache."""
    from django.db import connection

    from clausier.participants.models import Outcome
    from clausier.participants.outcomes import record_outcome
    from clausier.reference.models import OutcomeCategory
    from tests.factories import UserFactory, acting, build_world

    url = reverse("www:dashboard")
    first = facilitator_member_client.get(url)
    ends = first.context["figures"].outcomes["end"]["total"]
    with django_assert_max_num_queries(20):  # the uncached block alone runs more than 20
        second = facilitator_member_client.get(url)
    assert second.context["figures"].outcomes["end"]["total"] == ends
    assert block(second.content.decode()) == block(first.content.decode())

    staff = acting(UserFactory(member_of=world_a.facilitator))
    contract = ContractFactory(
        facilitator=world_a.facilitator,
        end_date=datetime.date(2024, 3, 31),
        start_date=datetime.date(2024, 1, 1),
    )
    Outcome.objects.filter(contract=contract).delete()
    connection.run_on_commit.clear()  # the test never commits: forget the bumps of building the data
    with django_capture_on_commit_callbacks(execute=True):
        record_outcome(
            contract=contract,
            timing=Outcome.Timing.END,
            category=OutcomeCategory.objects.get(code="cdi"),
            observed_on=datetime.date(2024, 4, 1),
            by=staff,
        )
    assert facilitator_member_client.get(url).context["figures"].outcomes["end"]["total"] == ends + 1

    other = build_world("B")
    connection.run_on_commit.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ClauseFactory(lot__market=MarketFactory(facilitator=other.facilitator))
    with django_assert_max_num_queries(20):
        facilitator_member_client.get(url)


def test_the_cached_dashboard_shows_the_filters_as_typed(
    world_a, facilitator_member_client, django_assert_max_num_queries
):
    """The filters and figures are cached as rendered HTML: a year and its two dates give the same figures
    but each form shows what was typed; a refused filter is never cached (its error and input shown every
    time)."""
    url = reverse("www:dashboard")
    by_year = facilitator_member_client.get(url, {"annee": 2024}).content.decode()
    by_dates = facilitator_member_client.get(
        url, {"debut": "2024-01-01", "fin": "2024-12-31"}
    ).content.decode()
    assert block(by_year) == block(by_dates)
    assert '<option value="2024" selected>' in by_year and 'value="2024-01-01"' not in by_year
    assert 'value="2024-01-01"' in by_dates and '<option value="2024" selected>' not in by_dates
    with django_assert_max_num_queries(20):  # from the cache, as typed
        again = facilitator_member_client.get(url, {"annee": 2024}).content.decode()
    assert block(again) == block(by_year)
    assert '<option value="2024" selected>' in again

    refused = {"debut": "2024-12-31", "fin": "2024-01-01"}
    for _ in range(2):
        page = facilitator_member_client.get(url, refused).content.decode()
        assert "La fin de la période précède son début." in page
        assert 'value="2024-12-31"' in page
