"""The monthly hours grid: one POST saves the month (all or nothing), refusals next to their row, constant queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.employment.counting import ensure_default_rule
from clausier.employment.models import HoursRecord, MonthlyStatement, StatementStatus
from tests.factories import (
    CompanyFactory,
    ContractFactory,
    CountingRuleFactory,
    LotFactory,
    MarketFactory,
    UserFactory,
    partner,
)

pytestmark = pytest.mark.django_db
D = Decimal
MAY = datetime.date(2024, 5, 1)


def grid_url(world, month=None):
    url = reverse("www:lot_hours", kwargs={"uuid": world.objects["lot"].uuid})
    return f"{url}?mois={month}" if month else url


def h(contract):
    return f"h-{contract.uuid}"


def f(contract):
    return f"f-{contract.uuid}"


def test_grid_lists_the_contracts_running_in_the_month(world_a, facilitator_member_client):
    response = facilitator_member_client.get(grid_url(world_a, "2024-03"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="grid-row"') == 2  # the provision contract and the direct hire
    # The structure's March statement is validated: its row is read-only, with a note.
    assert 'data-testid="readonly-note"' in html
    assert html.count('data-testid="readonly-hours"') == 1
    assert f'name="{h(world_a.objects["direct_contract"])}"' in html
    assert f'name="{h(world_a.objects["contract"])}"' not in html
    assert "Validé" in html and "mars 2024" in html
    assert 'src="/static/www/grid.js" nonce="' in html


def test_grid_outside_the_contract_dates_shows_no_row(world_a, facilitator_member_client):
    html = facilitator_member_client.get(grid_url(world_a, "2024-09")).content.decode()
    assert 'data-testid="no-contract"' in html


@pytest.mark.parametrize("month", ["n'importe quoi", "2024-13", "1850-01", "2024-5-1", ""])
def test_garbage_month_falls_back_on_last_month(month, world_a, facilitator_member_client):
    response = facilitator_member_client.get(grid_url(world_a) + f"?mois={month}")
    assert response.status_code == 200


def test_post_saves_the_whole_month_and_counts_with_the_rules(world_a, facilitator_member_client):
    contract, direct = world_a.objects["contract"], world_a.objects["direct_contract"]
    # The facilitator does not count training hours: 100 h with 12,5 h of training count 87,5 h.
    CountingRuleFactory(facilitator=world_a.facilitator, count_training=False)
    response = facilitator_member_client.post(
        grid_url(world_a), {"mois": "2024-05", h(contract): "100", f(contract): "12,5", h(direct): "151,67"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?mois=2024-05")
    records = {r.contract_id: r for r in HoursRecord.objects.filter(month=MAY)}
    assert records[contract.pk].hours == D("100") and records[contract.pk].counted_hours == D("87.5")
    assert records[direct.pk].counted_hours == D("151.67")
    assert MonthlyStatement.objects.get(employer=contract.employer, month=MAY).status == StatementStatus.DRAFT
    page = facilitator_member_client.get(response["Location"]).content.decode()
    assert "87,5" in page and "151,67" in page
    assert "Heures de mai 2024 enregistrées (2 contrats modifiés)" in page
    assert 'data-testid="total-counted">239,17<' in page  # 87,5 + 151,67


def test_htmx_post_returns_the_grid_partial(world_a, facilitator_member_client):
    direct = world_a.objects["direct_contract"]
    response = facilitator_member_client.post(
        grid_url(world_a), {"mois": "2024-05", h(direct): "35"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="grid"') and "<html" not in html
    assert 'data-testid="grid-notice"' in html
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == 35
    # The full page and the partial show the same grid.
    full = facilitator_member_client.get(grid_url(world_a, "2024-05")).content.decode()
    assert full.count('data-testid="grid-row"') == html.count('data-testid="grid-row"')


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("250", "250 h dépasse le maximum plausible de 220 h par mois."),
        ("-3", "les heures ne peuvent pas être négatives."),
        ("douze", "saisissez un nombre d'heures (par exemple 151,67)."),
    ],
)
def test_a_refused_row_writes_nothing_and_keeps_every_typed_value(
    value, message, world_a, facilitator_member_client
):
    contract, direct = world_a.objects["contract"], world_a.objects["direct_contract"]
    before = HoursRecord.objects.count()
    response = facilitator_member_client.post(
        grid_url(world_a), {"mois": "2024-05", h(contract): "100", h(direct): value}
    )
    assert response.status_code == 200
    assert HoursRecord.objects.count() == before
    assert not MonthlyStatement.objects.filter(month=MAY).exists()
    html = response.content.decode()
    assert 'data-testid="grid-refused"' in html and "Rien n'a été enregistré" in html
    assert f'id="err-{direct.uuid}"' in html and f'id="err-{contract.uuid}"' not in html
    # The message names the contract and the month.
    assert f"Contrat de {direct.participant}".replace("'", "&#x27;") in html and "05/2024" in html
    assert message.replace("'", "&#x27;") in html
    # The values typed are kept, the valid one included.
    assert f'name="{h(direct)}" value="{value}"' in html
    assert f'name="{h(contract)}" value="100"' in html


def test_emptying_a_saved_cell_is_refused(world_a, facilitator_member_client):
    direct = world_a.objects["direct_contract"]
    facilitator_member_client.post(grid_url(world_a), {"mois": "2024-05", h(direct): "35"})
    response = facilitator_member_client.post(grid_url(world_a), {"mois": "2024-05", h(direct): ""})
    assert response.status_code == 200
    assert "saisissez 0" in response.content.decode()
    assert HoursRecord.objects.get(contract=direct, month=MAY).hours == 35


def test_rows_of_a_validated_statement_are_not_written(world_a, facilitator_member_client):
    contract, direct = world_a.objects["contract"], world_a.objects["direct_contract"]
    march = datetime.date(2024, 3, 1)
    response = facilitator_member_client.post(
        grid_url(world_a), {"mois": "2024-03", h(contract): "1", h(direct): "20"}
    )
    assert response.status_code == 302
    assert HoursRecord.objects.get(contract=contract, month=march).hours == 140  # unchanged
    assert HoursRecord.objects.get(contract=direct, month=march).hours == 20


def test_garbage_post_is_not_a_500(world_a, facilitator_member_client):
    url = grid_url(world_a)
    assert facilitator_member_client.post(url, {"mois": "zzz"}).status_code == 302
    response = facilitator_member_client.post(url, {"mois": "2024-05", "h-pas-un-uuid": "3", "autre": "x"})
    assert response.status_code == 302
    assert not HoursRecord.objects.filter(month=MAY).exists()


def test_the_employer_grids(world_a, facilitator_member_client):
    company, structure = world_a.orgs["company"], world_a.orgs["structure"]
    url = reverse("www:company_hours", kwargs={"uuid": company.uuid}) + "?mois=2024-05"
    html = facilitator_member_client.get(url).content.decode()
    assert html.count('data-testid="grid-row"') == 1  # the company employs the direct hire only
    assert f'name="{h(world_a.objects["direct_contract"])}"' in html
    url = reverse("www:structure_hours", kwargs={"uuid": structure.uuid}) + "?mois=2024-05"
    html = facilitator_member_client.get(url).content.decode()
    assert f'name="{h(world_a.objects["contract"])}"' in html
    # A company's uuid is not a structure's.
    wrong = reverse("www:structure_hours", kwargs={"uuid": company.uuid})
    assert facilitator_member_client.get(wrong).status_code == 404


def test_non_staff_get_404(world_a, client_for):
    for role in ("buyer", "company", "structure", "prescriber"):
        client = client_for(world_a.users[role])
        assert client.get(grid_url(world_a, "2024-05")).status_code == 404
        assert client.post(grid_url(world_a), {"mois": "2024-05"}).status_code == 404


def _lot_with_contracts(facilitator, company, n):
    lot = LotFactory(market=MarketFactory(facilitator=facilitator))
    contracts = [ContractFactory(lot=lot, company=company) for _ in range(n)]
    return lot, contracts


def test_grid_queries_do_not_grow_with_contracts(world_a, client_for):
    facilitator = world_a.facilitator
    client = client_for(UserFactory(member_of=facilitator))
    ensure_default_rule(facilitator)  # created by the first save otherwise
    counts = {}
    for n in (20, 60):
        # A new employer each time: its statement of the month is created by the POST in both runs.
        lot, contracts = _lot_with_contracts(facilitator, partner(CompanyFactory, facilitator), n)
        url = reverse("www:lot_hours", kwargs={"uuid": lot.uuid})
        client.get(f"{url}?mois=2024-05")  # warm the session
        with CaptureQueriesContext(connection) as get_queries:
            response = client.get(f"{url}?mois=2024-05")
        assert response.content.decode().count('data-testid="grid-row"') == n
        payload = {"mois": "2024-05", **{h(c): "100" for c in contracts}}
        with CaptureQueriesContext(connection) as post_queries:
            assert client.post(url, payload, HTTP_HX_REQUEST="true").status_code == 200
        assert HoursRecord.objects.filter(contract__lot=lot, month=MAY).count() == n
        counts[n] = (len(get_queries), len(post_queries))
    assert counts[20] == counts[60], counts
