"""The open data file on the cellule's public site: anonymous access, 404s, the link and the schema on the home
page, and a number of queries that does not grow with data."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from clausier.reporting.opendata import COLUMNS, SECRET_LABEL, opendata_csv
from tests.factories import CommuneFactory, ContractFactory, FacilitatorFactory, LotFactory, monthly_hours
from tests.reporting.test_opendata import EXPECTED, build, parse

pytestmark = pytest.mark.django_db
D = datetime.date


def url(slug):
    return reverse("public:opendata_communes", kwargs={"slug": slug})


@pytest.fixture
def cellule():
    return build(FacilitatorFactory(name="Cellule ouverte", slug="cellule-ouverte"))


def test_the_file_is_public(cellule, client):
    response = client.get(url("cellule-ouverte"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "cellule-ouverte-beneficiaires-par-commune.csv" in response["Content-Disposition"]
    assert 'rel="describedby"' in response["Link"] and "#donnees-ouvertes" in response["Link"]
    text = response.content.decode("utf-8")
    assert text == opendata_csv(cellule, today=timezone.localdate())
    assert parse(text) == EXPECTED  # no contract after 2024: no later row
    assert client.head(url("cellule-ouverte")).status_code == 200
    assert client.post(url("cellule-ouverte")).status_code == 405


def test_unknown_or_inactive_cellule_is_404(cellule, client):
    assert client.get(url("inconnue")).status_code == 404
    FacilitatorFactory(slug="en-sommeil", is_active=False)
    assert client.get(url("en-sommeil")).status_code == 404


def test_home_page_links_the_file_and_its_schema(cellule, client):
    html = client.get(reverse("public:home", kwargs={"slug": "cellule-ouverte"})).content.decode()
    section = html.split('data-testid="opendata"')[1].split("</section>")[0]
    assert f'href="{url("cellule-ouverte")}"' in section
    assert 'id="donnees-ouvertes"' in html
    for name, kind, description in COLUMNS:
        assert (
            f"<code>{name}</code>" in section and escape(kind) in section and escape(description) in section
        )
    assert "moins de 5" in section and escape(SECRET_LABEL) in section


def requests_for(client, slug) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(slug)).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_data(client):
    small = FacilitatorFactory(slug="petite")
    one = ContractFactory(lot=LotFactory(market__facilitator=small), participant__commune=CommuneFactory())
    monthly_hours(one, {D(2024, 3, 1): 35})
    big = build(FacilitatorFactory(slug="grande"))
    lot = LotFactory(market__facilitator=big)
    for i, year in enumerate(range(2015, 2022)):  # more years, more communes, more people
        commune = CommuneFactory(insee_code=f"31{i:03d}", name=f"Commune {i}")
        for _ in range(6):
            contract = ContractFactory(
                lot=lot, participant__commune=commune, start_date=D(year, 1, 1), end_date=D(year, 6, 30)
            )
            monthly_hours(contract, {D(year, 2, 1): 10})
    assert requests_for(client, "petite") == requests_for(client, "grande")
    # Cached until the data change (or the next day): the same request again reads the cache only.
    with CaptureQueriesContext(connection) as again:
        assert client.get(url("grande")).status_code == 200
    assert len(again) < requests_for(client, "grande")
