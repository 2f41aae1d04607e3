"""The public page of the demo territory shows Toulouse Métropole Emploi's published figures:
42 donneurs d'ordre, 1 824 868 heures, 2 725 contrats, 1 983 bénéficiaires, and the yearly chart since 2012.

The demo is built once for the module inside a transaction rolled back at the end."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clausier.organizations.models import Facilitator

SLUG = "toulouse-metropole-emploi"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("demo", "--no-users", verbosity=0)
            yield Facilitator.objects.get(slug=SLUG)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def page(demo, db, client):
    response = client.get(f"/cellules/{SLUG}/")
    assert response.status_code == 200
    return response.content.decode()


def figure(html, name):
    return re.search(rf'data-testid="figure-{name}">([^<]*)<', html).group(1)


def test_the_demo_public_page_shows_the_published_figures(page):
    assert [figure(page, n) for n in ("buyers", "hours", "contracts", "participants")] == [
        "42",
        "1 824 868",
        "2 725",
        "1 983",
    ]


def test_the_demo_public_page_shows_the_yearly_chart_since_2012(page):
    assert "Évolution par an du nombre de bénéficiaires depuis 2012" in page
    table = page.split('data-testid="chart-table"')[1].split("</table>")[0]
    years = re.findall(r'<th scope="row">(\d{4})</th>', table)
    assert years == [str(y) for y in range(2012, datetime.date.today().year + 1)]
    assert page.split('data-testid="public-chart"')[1].count("<rect") == len(years)


def test_the_cached_page_costs_few_queries(demo, db, client):
    url = f"/cellules/{SLUG}/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    # facilitator, settings, data version, texts, partners, documents, DSFR config: no aggregate; and the
    # figures, read from the shared cache.
    own = [q["sql"] for q in queries if "clausier_cache" not in q["sql"]]
    assert len(own) <= 8 and len(queries) - len(own) == 1, [q["sql"] for q in queries]
    assert not any("employment_hoursrecord" in q["sql"] for q in queries)
