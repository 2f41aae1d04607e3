"""The public simulator: no login, GET only, the same `sizing` code as the clause form, the platform's or
a facilitator's parameters, every step explained, bad input answered in French (never a 500)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.reference.models import LotFamily
from tests.factories import (
    BuyerFactory,
    FacilitatorFactory,
    FacilitatorSettingsFactory,
    HourlyCostFactory,
    LabourShareFactory,
    ref,
)

pytestmark = pytest.mark.django_db

URL = "/simulateur/"
WORKED_EXAMPLE = {
    "method": "formula",
    "amount_ht": "1 000 000",
    "labour_share": "50 %",
    "insertion_rate": "5 %",
    "hourly_cost": "30",
}


def hours_in(html):
    return html.split('data-testid="simulator-hours">')[1].split("<")[0]


def test_the_urls():
    assert reverse("public:simulator") == URL
    assert (
        reverse("public:facilitator_simulator", kwargs={"slug": "cellule-a"})
        == "/cellules/cellule-a/simulateur/"
    )


def test_anonymous_visitors_get_the_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Simulateur d&#x27;heures d&#x27;insertion" in html
    assert "30,00 €" in html and "25,00 €" in html  # platform defaults
    assert 'class="fr-input' in html and 'hx-get="/simulateur/"' in html


def test_the_worked_example_gives_833_hours(client):
    html = client.get(URL, WORKED_EXAMPLE).content.decode()
    assert hours_in(html) == "833"
    assert "Le point de départ est le prix du marché, hors taxes." in html  # each step explained
    assert "arrondi à l&#x27;heure inférieure" in html
    assert "0,5 équivalent temps plein" in html


def test_the_family_gives_the_labour_share_and_the_platform_the_hourly_cost(client):
    html = client.get(
        URL,
        {"method": "formula", "family": "structural_works", "amount_ht": "1000000", "insertion_rate": "5"},
    ).content.decode()
    assert hours_in(html) == "833"  # 50 % and 30 €/h by default


def test_the_cleaning_case(client):
    # A = 600,000 €, N = 12, S = 800 h, C = 25 €/h (default), T = 10 % → P = 0.6, I = 1,440 h.
    html = client.get(
        URL,
        {
            "method": "cleaning",
            "amount_ht": "600 000",
            "months": "12",
            "transferred_monthly_hours": "800",
            "insertion_rate": "10 %",
        },
    ).content.decode()
    assert hours_in(html) == "1 440"
    assert "Part disponible pour de nouvelles embauches" in html and "60 %" in html


def test_cleaning_when_transferred_staff_fill_the_market(client):
    html = client.get(
        URL,
        {
            "method": "cleaning",
            "amount_ht": "120000",
            "months": "12",
            "transferred_monthly_hours": "1000",
            "insertion_rate": "10",
        },
    ).content.decode()
    assert hours_in(html) == "0"
    assert "En dessous de 150 h, une clause n'est pas conseillée" in html


def test_percent_of_hours(client):
    html = client.get(
        URL, {"method": "percent", "estimated_total_hours": "20000", "insertion_rate": "5"}
    ).content.decode()
    assert hours_in(html) == "1 000"


def test_the_htmx_partial_agrees_with_the_page(client):
    partial = client.get(URL, WORKED_EXAMPLE, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and hours_in(partial) == "833"
    assert 'data-testid="simulator-result"' in partial


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"method": "formula", "amount_ht": "un million", "insertion_rate": "5"}, "Saisissez un nombre."),
        (
            {"method": "formula", "amount_ht": "1000000", "insertion_rate": "5"},
            "choisissez une famille de lots",
        ),
        (
            {"method": "formula", "amount_ht": "1000000", "labour_share": "50", "insertion_rate": "300 %"},
            "Le taux doit être compris entre 0 et 100 %.",
        ),
        (
            {
                "method": "formula",
                "amount_ht": "1000000",
                "labour_share": "50",
                "insertion_rate": "5",
                "hourly_cost": "0",
            },
            "« Coût horaire » doit être strictement positif.",
        ),
        (
            {"method": "formula", "amount_ht": "1e400", "labour_share": "50", "insertion_rate": "5"},
            "Le calcul n'est pas possible",
        ),
        (
            {"method": "formula", "amount_ht": "NaN", "labour_share": "50", "insertion_rate": "5"},
            "Saisissez un nombre.",
        ),
        (
            {"method": "formula", "family": "../../etc", "amount_ht": "1", "insertion_rate": "5"},
            "Choix invalide",
        ),
        (
            {
                "method": "cleaning",
                "amount_ht": "1000",
                "months": "0",
                "transferred_monthly_hours": "1",
                "insertion_rate": "5",
            },
            "Le calcul n'est pas possible",
        ),
        ({"method": "cleaning", "amount_ht": "1000"}, "Nécessaire pour ce calcul."),
        (
            {"method": "percent", "estimated_total_hours": "-5", "insertion_rate": "5"},
            "Le calcul n'est pas possible",
        ),
        ({"method": "sorcellerie"}, "Le calcul n'est pas possible"),
        ({"method": ""}, "Le calcul n'est pas possible"),
    ],
)
def test_bad_input_is_answered_in_french(query, message, client):
    response = client.get(URL, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html, html.split('data-testid="simulator-result"')[1][:800]
    assert 'data-testid="simulator-hours"' not in html


def test_the_simulator_never_writes(client):
    with CaptureQueriesContext(connection) as queries:
        client.get(URL, WORKED_EXAMPLE)
        client.get(URL, WORKED_EXAMPLE, HTTP_HX_REQUEST="true")
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert not writes
    assert client.post(URL, WORKED_EXAMPLE).status_code == 405


# --- A facilitator's simulator ------------------------------------------------------------------------------


def test_a_facilitators_parameters(client):
    facilitator = FacilitatorFactory(name="Cellule clause Sud", slug="cellule-sud")
    HourlyCostFactory(facilitator=facilitator, amount=Decimal("25"), valid_from=datetime.date(2020, 1, 1))
    LabourShareFactory(facilitator=facilitator, family=ref(LotFamily, "painting"), share=Decimal("0.60"))
    FacilitatorSettingsFactory(facilitator=facilitator, minimum_clause_hours=2000)
    url = reverse("public:facilitator_simulator", kwargs={"slug": "cellule-sud"})
    html = client.get(
        url, {"method": "formula", "family": "painting", "amount_ht": "1000000", "insertion_rate": "5"}
    ).content.decode()
    # 1,000,000 × 60 % × 5 % ÷ 25 = 1,200 h, under the facilitator's 2,000 h minimum.
    assert "Cellule clause Sud" in html and hours_in(html) == "1 200"
    assert "En dessous de 2 000 h, une clause n'est pas conseillée" in html


def test_unknown_or_non_facilitator_slugs_are_404(client):
    buyer = BuyerFactory(slug="ville-de-test")
    inactive = FacilitatorFactory(slug="cellule-fermee", is_active=False)
    for slug in ("inconnue", buyer.slug, inactive.slug):
        assert client.get(reverse("public:facilitator_simulator", kwargs={"slug": slug})).status_code == 404


def test_logged_in_users_may_use_it_too(world_a, facilitator_member_client, company_client):
    for c in (facilitator_member_client, company_client):
        assert hours_in(c.get(URL, WORKED_EXAMPLE).content.decode()) == "833"
    url = reverse("public:facilitator_simulator", kwargs={"slug": world_a.facilitator.slug})
    assert company_client.get(url).status_code == 200


def test_the_page_costs_the_same_whatever_the_parameters(client):
    facilitator = FacilitatorFactory(slug="cellule-q")
    url = reverse("public:facilitator_simulator", kwargs={"slug": "cellule-q"})

    def count():
        with CaptureQueriesContext(connection) as queries:
            client.get(url, WORKED_EXAMPLE)
        return len(queries)

    few = count()
    for year in range(2015, 2025):
        HourlyCostFactory(facilitator=facilitator, valid_from=datetime.date(year, 1, 1))
    for code in ("painting", "cleaning", "roads"):
        LabourShareFactory(facilitator=facilitator, family=ref(LotFamily, code))
    assert count() == few
