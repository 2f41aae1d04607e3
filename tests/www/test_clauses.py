"""The clause form: every sizing method through HTTP, the calculation partial (htmx, GET, no write),
the warning under the facilitator's minimum, and the reason required for a hand-typed target."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import AuditEntry
from clausier.procurement.models import Clause
from clausier.reference.models import LegalBasis, LotFamily
from tests.factories import FacilitatorSettingsFactory, HourlyCostFactory, LotFactory, ref

pytestmark = pytest.mark.django_db

BELOW = "En dessous de 150 h, une clause n'est pas conseillée"


@pytest.fixture
def lot(world_a):
    return LotFactory(
        market=world_a.objects["market"],
        amount_ht=Decimal("1000000"),
        family=ref(LotFamily, "structural_works"),
        start_date=datetime.date(2024, 1, 1),
        end_date=datetime.date(2024, 12, 31),
    )


def post_clause(client, lot, **data):
    payload = {"legal_basis": ref(LegalBasis, "ccp_l2112_2").code, **data}
    return client.post(reverse("www:clause_edit", kwargs={"uuid": lot.uuid}), payload)


def errors_of(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "rien n'a été enregistré" in html
    return html


# --- Formula: the worked example ----------------------------------------------------------------------------


def test_worked_example_gives_833_hours_through_the_form(lot, facilitator_member_client):
    response = post_clause(
        facilitator_member_client,
        lot,
        method="formula",
        amount_ht="1 000 000",
        labour_share="50 %",
        insertion_rate="5 %",
        hourly_cost="30",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("www:lot_detail", kwargs={"uuid": lot.uuid})
    clause = Clause.objects.get(lot=lot)
    assert clause.hours_target == Decimal("833") and clause.computed_hours == Decimal("833")
    assert (clause.amount_ht, clause.labour_share, clause.insertion_rate, clause.hourly_cost) == (
        Decimal("1000000"),
        Decimal("0.5"),
        Decimal("0.05"),
        Decimal("30"),
    )
    assert clause.sized_on == datetime.date.today() and clause.override_reason == ""
    assert AuditEntry.objects.filter(object_type="procurement.clause", object_id=str(clause.uuid)).exists()


def test_formula_takes_the_facilitators_defaults(world_a, lot, facilitator_member_client):
    HourlyCostFactory(facilitator=world_a.facilitator, amount=Decimal("30"))
    response = post_clause(facilitator_member_client, lot, method="formula", insertion_rate="5")
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    # Lot amount 1,000,000 €, structural works 50 %, the facilitator's 30 €/h.
    assert clause.hours_target == Decimal("833") and clause.hourly_cost == Decimal("30")


# --- The other methods --------------------------------------------------------------------------------------


def test_cleaning_with_transferred_staff(lot, facilitator_member_client):
    # A = 600,000 €, N = 12, S = 800 h, C = 25 (default), T = 10 %:
    # P = 1 − 800 × 25 ÷ 50,000 = 0.6 ; I = 0.6 × 600,000 ÷ 25 × 0.1 = 1,440 h.
    response = post_clause(
        facilitator_member_client,
        lot,
        method="cleaning",
        amount_ht="600 000",
        months="12",
        transferred_monthly_hours="800",
        insertion_rate="10 %",
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    assert clause.hours_target == Decimal("1440") and clause.method == "cleaning"
    assert clause.hourly_cost == Decimal("25") and clause.months == 12
    assert clause.transferred_monthly_hours == Decimal("800") and clause.labour_share is None


def test_cleaning_takes_the_lots_duration(lot, facilitator_member_client):
    response = post_clause(
        facilitator_member_client,
        lot,
        method="cleaning",
        amount_ht="600000",
        transferred_monthly_hours="800",
        insertion_rate="10",
    )
    assert response.status_code == 302
    assert Clause.objects.get(lot=lot).months == 12  # the lot runs over 2024


def test_percent_of_hours_worked(lot, facilitator_member_client):
    response = post_clause(
        facilitator_member_client, lot, method="percent", estimated_total_hours="20 000", insertion_rate="5 %"
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    assert clause.hours_target == Decimal("1000") and clause.estimated_total_hours == Decimal("20000")
    assert clause.amount_ht is None and clause.hourly_cost is None


def test_fixed_hours_clears_the_parameters(lot, facilitator_member_client):
    post_clause(
        facilitator_member_client,
        lot,
        method="formula",
        labour_share="50",
        insertion_rate="5",
        hourly_cost="30",
    )
    response = post_clause(facilitator_member_client, lot, method="fixed", hours_target="1 200")
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    assert clause.method == "fixed" and clause.hours_target == Decimal("1200")
    assert clause.computed_hours == Decimal("1200") and clause.override_reason == ""
    assert clause.amount_ht is None and clause.insertion_rate is None


def test_fixed_hours_without_hours_is_refused(lot, facilitator_member_client):
    html = errors_of(post_clause(facilitator_member_client, lot, method="fixed"))
    assert "Indiquez le nombre d&#x27;heures d&#x27;insertion prévues." in html
    assert not Clause.objects.filter(lot=lot).exists()


# --- Override -----------------------------------------------------------------------------------------------


FORMULA = {"method": "formula", "labour_share": "50 %", "insertion_rate": "5 %", "hourly_cost": "30"}


def test_a_typed_target_different_from_the_calculation_requires_a_reason(lot, facilitator_member_client):
    html = errors_of(post_clause(facilitator_member_client, lot, hours_target="1 000", **FORMULA))
    assert "diffère du calcul (833 h)" in html
    assert "indiquez le motif de la modification manuelle" in html
    assert 'value="1 000"' in html  # the input is kept
    assert not Clause.objects.filter(lot=lot).exists()


def test_a_typed_target_with_a_reason_is_kept_beside_the_calculation(lot, facilitator_member_client):
    response = post_clause(
        facilitator_member_client,
        lot,
        hours_target="1000",
        override_reason="Engagement du donneur d'ordre en conseil municipal.",
        **FORMULA,
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    assert clause.hours_target == Decimal("1000") and clause.computed_hours == Decimal("833")
    assert clause.override_reason == "Engagement du donneur d'ordre en conseil municipal."


def test_typing_the_computed_value_needs_no_reason(lot, facilitator_member_client):
    assert post_clause(facilitator_member_client, lot, hours_target="833", **FORMULA).status_code == 302
    assert Clause.objects.get(lot=lot).override_reason == ""


def test_the_edit_form_leaves_the_target_empty_when_it_is_the_calculation(lot, facilitator_member_client):
    post_clause(facilitator_member_client, lot, **FORMULA)
    url = reverse("www:clause_edit", kwargs={"uuid": lot.uuid})
    html = facilitator_member_client.get(url).content.decode()
    assert 'name="hours_target"' in html and 'name="hours_target" value' not in html
    assert "833" in html  # the calculation of the saved clause is shown
    # Changing the rate recomputes without asking for a reason.
    assert (
        post_clause(facilitator_member_client, lot, **{**FORMULA, "insertion_rate": "10 %"}).status_code
        == 302
    )
    assert Clause.objects.get(lot=lot).hours_target == Decimal("1666")


# --- Minimum: a warning, not an error ------------------------------------------------------------------------


def test_below_the_minimum_is_a_warning_and_saves(lot, facilitator_member_client):
    response = post_clause(
        facilitator_member_client,
        lot,
        method="formula",
        amount_ht="50 000",
        labour_share="50",
        insertion_rate="5",
        hourly_cost="30",
    )
    assert response.status_code == 302
    assert Clause.objects.get(lot=lot).hours_target == Decimal("41")
    page = facilitator_member_client.get(response["Location"]).content.decode()
    assert escape(BELOW) in page and "fr-alert--warning" in page


def test_the_minimum_is_the_facilitators(world_a, lot, facilitator_member_client):
    FacilitatorSettingsFactory(facilitator=world_a.facilitator, minimum_clause_hours=1000)
    url = reverse("www:clause_sizing", kwargs={"uuid": lot.uuid})
    html = facilitator_member_client.get(url, FORMULA).content.decode()
    assert "En dessous de 1000 h, une clause n&#x27;est pas conseillée" in html


# --- The calculation partial (htmx) --------------------------------------------------------------------------


def test_the_partial_shows_the_steps_and_writes_nothing(
    lot, facilitator_member_client, django_assert_max_num_queries
):
    url = reverse("www:clause_sizing", kwargs={"uuid": lot.uuid})
    entries = AuditEntry.objects.count()
    response = facilitator_member_client.get(
        url, {**FORMULA, "amount_ht": "1 000 000"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'data-testid="sizing-hours">833<' in html
    assert "Part de main-d’œuvre" in html or "Part de main-d'œuvre" in html or "main-d&#x27;œuvre" in html
    assert "arrondi à l&#x27;heure inférieure" in html
    assert not Clause.objects.filter(lot=lot).exists() and AuditEntry.objects.count() == entries


def test_the_partial_agrees_with_the_page(lot, facilitator_member_client):
    post_clause(facilitator_member_client, lot, **FORMULA)
    page = facilitator_member_client.get(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid})
    ).content.decode()
    partial = facilitator_member_client.get(
        reverse("www:clause_sizing", kwargs={"uuid": lot.uuid}), {**FORMULA, "amount_ht": "1000000"}
    ).content.decode()
    assert 'data-testid="sizing-hours">833<' in page and 'data-testid="sizing-hours">833<' in partial


@pytest.mark.parametrize(
    "query",
    [
        {"method": "formula", "amount_ht": "beaucoup", "insertion_rate": "5"},
        {"method": "formula", "insertion_rate": "500 %"},
        {"method": "formula", "hourly_cost": "0", "insertion_rate": "5"},
        {"method": "formula", "amount_ht": "1e400", "insertion_rate": "5"},
        {"method": "formula", "amount_ht": "NaN", "insertion_rate": "5"},
        {"method": "cleaning", "months": "douze"},
        {"method": "cleaning", "amount_ht": "0", "months": "0", "transferred_monthly_hours": "-3"},
        {"method": "percent", "estimated_total_hours": "-1", "insertion_rate": "5"},
        {"method": "inconnu"},
        {"method": "fixed", "hours_target": "x"},
        {},
    ],
)
def test_the_partial_answers_garbage_in_french(query, lot, facilitator_member_client):
    url = reverse("www:clause_sizing", kwargs={"uuid": lot.uuid})
    response = facilitator_member_client.get(url, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="sizing-errors"' in html or "Choisissez le mode de calcul" in html


def test_garbage_posted_to_the_form_saves_nothing(lot, facilitator_member_client):
    for data in (
        {"method": "formula", "amount_ht": "1e400", "insertion_rate": "5"},
        {"method": "formula", "hourly_cost": "0", "insertion_rate": "5", "labour_share": "50"},
        {"method": "cleaning", "months": "-2", "amount_ht": "1000", "transferred_monthly_hours": "1"},
        {"method": "pirate", "hours_target": "1"},
    ):
        errors_of(post_clause(facilitator_member_client, lot, **data))
    errors_of(
        facilitator_member_client.post(
            reverse("www:clause_edit", kwargs={"uuid": lot.uuid}),
            {"legal_basis": "n-importe-quoi", "method": "fixed", "hours_target": "5"},
        )
    )
    assert not Clause.objects.filter(lot=lot).exists()


def test_the_partial_is_staff_only_and_scoped(world_a, world_b, facilitator_member_client, company_client):
    url = reverse("www:clause_sizing", kwargs={"uuid": world_b.objects["lot"].uuid})
    assert facilitator_member_client.get(url, FORMULA).status_code == 404
    own = reverse("www:clause_sizing", kwargs={"uuid": world_a.objects["lot"].uuid})
    assert company_client.get(own, FORMULA).status_code == 404
    assert facilitator_member_client.post(own, FORMULA).status_code == 405


def test_the_form_page_renders_the_fields_of_the_clauses_mode_only(lot, facilitator_member_client):
    html = facilitator_member_client.get(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid})
    ).content.decode()
    for name in (
        "amount_ht",
        "labour_share",
        "insertion_rate",
        "hourly_cost",
        "hours_target",
        "override_reason",
    ):
        assert f'name="{name}"' in html, name
    for name in ("months", "transferred_monthly_hours", "estimated_total_hours"):  # cleaning and percent
        assert f'name="{name}"' not in html, name
    assert 'hx-get="' + reverse("www:clause_sizing", kwargs={"uuid": lot.uuid}) in html


def test_an_older_clause_without_computed_hours_is_recomputed(world_a, facilitator_member_client):
    lot = world_a.objects["lot"]  # its clause was written without `computed_hours` (833 h by the formula)
    html = facilitator_member_client.get(
        reverse("www:clause_edit", kwargs={"uuid": lot.uuid})
    ).content.decode()
    assert 'name="hours_target" value' not in html and 'data-testid="sizing-hours">833<' in html
