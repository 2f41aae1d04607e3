"""The clause form shows only what applies: the fields of the chosen sizing mode (with or without JavaScript),
percentages typed and shown one way, the legal bases of the market's date, the acronyms explained."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from clausier.audit.models import AuditEntry
from clausier.procurement.models import Clause
from clausier.reference.models import LegalBasis, LotFamily
from tests.factories import ClauseFactory, LotFactory, MarketFactory, ref

pytestmark = pytest.mark.django_db

FORMULA = {
    "method": "formula",
    "amount_ht": "1 000 000",
    "labour_share": "50",
    "insertion_rate": "5",
    "hourly_cost": "30",
}
# The text and textarea inputs each mode shows (hidden inputs carry the other modes' values).
SHOWN = {
    "formula": {
        "amount_ht",
        "labour_share",
        "insertion_rate",
        "hourly_cost",
        "hours_target",
        "override_reason",
    },
    "cleaning": {
        "amount_ht",
        "months",
        "transferred_monthly_hours",
        "insertion_rate",
        "hourly_cost",
        "hours_target",
        "override_reason",
    },
    "percent": {"estimated_total_hours", "insertion_rate", "hours_target", "override_reason"},
    "fixed": {"hours_target"},
}
ALL_INPUTS = set().union(*SHOWN.values())


def market_of(world, notified_on, start_date=None):
    return MarketFactory(
        facilitator=world.facilitator,
        buyer=world.orgs["buyer"],
        notified_on=notified_on,
        start_date=start_date,
        end_date=None,
    )


@pytest.fixture
def lot(world_a):
    return LotFactory(
        market=market_of(world_a, datetime.date(2024, 1, 15)),
        amount_ht=Decimal("1000000"),
        family=ref(LotFamily, "structural_works"),
        start_date=datetime.date(2024, 1, 1),
        end_date=datetime.date(2024, 12, 31),
    )


def url_of(lot):
    return reverse("www:clause_edit", kwargs={"uuid": lot.uuid})


def post(client, lot, **data):
    return client.post(url_of(lot), {"legal_basis": "ccp_l2112_2", **data})


def shown_inputs(html: str) -> set[str]:
    """Names of the visible text inputs and textareas of the sizing part (not the publics and notes)."""
    names = set(re.findall(r'<input type="(?:text|number)" name="(\w+)"', html))
    names |= set(re.findall(r'<textarea name="(\w+)"', html))
    return names & ALL_INPUTS


def hidden_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    return match.group(1) if match else None


def options(html: str) -> list[tuple[str, str]]:
    select = re.search(r'<select name="legal_basis".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="(\w*)"(?: selected)?>([^<]*)</option>', select)


def selected_basis(html: str) -> str | None:
    select = re.search(r'<select name="legal_basis".*?</select>', html, re.S).group(0)
    match = re.search(r'<option value="(\w+)" selected>', select)
    return match.group(1) if match else None


# --- Progressive disclosure, without JavaScript -------------------------------------------------------------


@pytest.mark.parametrize("method", list(SHOWN))
def test_each_mode_shows_its_own_fields_only(method, lot, facilitator_member_client):
    html = post(facilitator_member_client, lot, method=method, refresh="1").content.decode()
    assert shown_inputs(html) == SHOWN[method]
    assert f'value="{method}" dsfr="dsfr" id="id_method_' in html and re.search(
        rf'value="{method}"[^>]*checked', html
    )


def test_choosing_fixed_without_javascript_shows_the_fixed_fields_and_keeps_the_input(
    lot, facilitator_member_client
):
    entries = AuditEntry.objects.count()
    response = post(facilitator_member_client, lot, **{**FORMULA, "method": "fixed"}, refresh="1")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="mode-refreshed"' in html
    assert "Rien n'est encore enregistré" in html and "rien n&#x27;a été enregistré" not in html
    assert shown_inputs(html) == {"hours_target"} and "Nombre d&#x27;heures d&#x27;insertion" in html
    # The formula's values ride along, hidden, and the legal basis stays chosen.
    assert hidden_value(html, "amount_ht") == "1 000 000" and hidden_value(html, "insertion_rate") == "5"
    assert selected_basis(html) == "ccp_l2112_2"
    assert not Clause.objects.filter(lot=lot).exists() and AuditEntry.objects.count() == entries
    # Back to the formula: its values are shown again, as typed.
    html = post(facilitator_member_client, lot, **FORMULA, refresh="1").content.decode()
    assert 'name="amount_ht" value="1 000 000"' in html and 'name="labour_share" value="50"' in html


def test_a_fixed_clause_saves_no_stale_parameter(lot, facilitator_member_client):
    # What the page posts in fixed mode: the hours, and the formula's values carried in hidden inputs.
    response = post(
        facilitator_member_client,
        lot,
        **{
            **FORMULA,
            "method": "fixed",
            "hours_target": "1 200",
            "months": "douze",
            "override_reason": "Ancien motif",
        },
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    assert (clause.method, clause.hours_target, clause.computed_hours) == (
        "fixed",
        Decimal("1200"),
        Decimal("1200"),
    )
    assert (clause.amount_ht, clause.labour_share, clause.insertion_rate, clause.hourly_cost) == (None,) * 4
    assert clause.months is None and clause.override_reason == ""


def test_fields_of_other_modes_are_neither_required_nor_validated(lot, facilitator_member_client):
    response = post(
        facilitator_member_client,
        lot,
        method="percent",
        estimated_total_hours="20 000",
        insertion_rate="5",
        amount_ht="beaucoup",  # a stale, unreadable value of the formula
        months="-3",
        labour_share="500",
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    assert clause.hours_target == Decimal("1000") and clause.amount_ht is None and clause.labour_share is None
    sizing = facilitator_member_client.get(
        reverse("www:clause_sizing", kwargs={"uuid": lot.uuid}),
        {"method": "percent", "estimated_total_hours": "20000", "insertion_rate": "5", "months": "douze"},
    ).content.decode()
    assert 'data-testid="sizing-hours">1 000<' in sizing and 'data-testid="sizing-errors"' not in sizing


def test_a_rejected_form_keeps_the_other_modes_values_hidden(lot, facilitator_member_client):
    html = post(
        facilitator_member_client, lot, method="percent", insertion_rate="5", months="24", amount_ht="12"
    ).content.decode()
    assert "rien n&#x27;a été enregistré" in html or "rien n'a été enregistré" in html
    assert shown_inputs(html) == SHOWN["percent"]
    assert hidden_value(html, "months") == "24" and hidden_value(html, "amount_ht") == "12"


def test_the_fixed_mode_requires_its_number_of_hours(lot, facilitator_member_client):
    html = post(facilitator_member_client, lot, method="fixed", amount_ht="1000").content.decode()
    assert "Indiquez le nombre d&#x27;heures d&#x27;insertion prévues." in html
    assert hidden_value(html, "amount_ht") == "1000"
    assert not Clause.objects.filter(lot=lot).exists()


def test_the_saved_mode_is_shown_with_its_fields(lot, facilitator_member_client):
    assert post(facilitator_member_client, lot, method="fixed", hours_target="700").status_code == 302
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    assert shown_inputs(html) == {"hours_target"} and 'name="hours_target" value="700"' in html


def test_a_refresh_keeps_the_version_the_form_was_read_at(lot, facilitator_member_client):
    clause = ClauseFactory(lot=lot)
    read_at = clause.version
    Clause.objects.filter(pk=clause.pk).update(version=read_at + 1)  # someone saved meanwhile
    html = post(
        facilitator_member_client, lot, **{**FORMULA, "method": "fixed"}, version=str(read_at), refresh="1"
    ).content.decode()
    assert f'name="version" value="{read_at}"' in html
    response = post(facilitator_member_client, lot, method="fixed", hours_target="10", version=str(read_at))
    assert response.status_code == 200 and "modifiée entre-temps" in response.content.decode()


def test_the_mode_swap_is_wired_for_htmx_and_the_button_is_for_no_javascript(lot, facilitator_member_client):
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    method = re.search(r'<div class="fr-fieldset__element" id="clause-method"([^>]*)>', html).group(1)
    assert f'hx-post="{url_of(lot)}"' in method and 'hx-trigger="change"' in method
    assert 'hx-vals=\'{"refresh": "1"}\'' in method and 'hx-select="#clause-parameters"' in method
    assert 'hx-select-oob="#clause-hours"' in method
    assert '<div class="fr-fieldset__element" data-cl-nojs>' in html
    assert '<button type="submit" name="refresh" value="1"' in html and "www/clause_form.js" in html


def test_an_htmx_mode_change_answers_the_fields_of_the_new_mode(lot, facilitator_member_client):
    response = facilitator_member_client.post(
        url_of(lot),
        {"legal_basis": "ccp_l2112_2", "method": "cleaning", "refresh": "1", "insertion_rate": "5"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    block = re.search(r'<div id="clause-parameters".*?</fieldset>\s*</div>', html, re.S).group(0)
    assert shown_inputs(block) == SHOWN["cleaning"] - {"hours_target", "override_reason"}
    assert 'id="clause-hours"' in html and not Clause.objects.filter(lot=lot).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"method": "pirate", "refresh": "1"},
        {"method": "", "legal_basis": "n-importe-quoi", "version": "abc", "refresh": "1"},
        {"method": "cleaning", "months": "<script>", "insertion_rate": "1e400", "refresh": "x"},
        {"refresh": "1"},
    ],
)
def test_a_refresh_with_garbage_answers_a_page_and_writes_nothing(data, lot, facilitator_member_client):
    response = facilitator_member_client.post(url_of(lot), data)
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="mode-refreshed"' in html
    assert "<script>" not in html.split('id="clause-parameters"')[1].split("</form>")[0]
    assert not Clause.objects.filter(lot=lot).exists()


# --- Percentages: one way to type, one way to show ----------------------------------------------------------


def test_a_percentage_with_a_french_comma_is_stored_as_a_fraction_and_shown_back(
    lot, facilitator_member_client
):
    response = post(
        facilitator_member_client, lot, **{**FORMULA, "insertion_rate": "5,5", "labour_share": ""}
    )
    assert response.status_code == 302
    clause = Clause.objects.get(lot=lot)
    # 1 000 000 € × 50 % (the family's) × 5,5 % ÷ 30 €/h = 916,67 → 916 h
    assert clause.insertion_rate == Decimal("0.055") and clause.labour_share == Decimal("0.5")
    assert clause.hours_target == Decimal("916")
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    assert 'name="insertion_rate" value="5,5"' in html and 'name="labour_share" value="50"' in html
    assert "Taux d&#x27;insertion (%)" in html
    assert '<span class="cl-suffixed__unit" aria-hidden="true">%</span>' in html


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("150", "Le taux doit être compris entre 0 et 100 %."),
        ("-5", "Le taux doit être compris entre 0 et 100 %."),
        ("5,555", "Un pourcentage a au plus deux décimales, ex. : 5,25."),
        ("cinq pour cent", "Saisissez un pourcentage, ex. : 5 ou 5,5."),
    ],
)
def test_a_wrong_percentage_is_refused_in_french_with_the_input_kept(
    typed, message, lot, facilitator_member_client
):
    html = post(facilitator_member_client, lot, **{**FORMULA, "insertion_rate": typed}).content.decode()
    assert "rien n&#x27;a été enregistré" in html or "rien n'a été enregistré" in html
    assert message.replace("'", "&#x27;") in html and f'name="insertion_rate" value="{typed}"' in html
    assert not Clause.objects.filter(lot=lot).exists()


def test_the_labour_shares_are_shown_as_percentages(world_a, facilitator_admin_client):
    html = facilitator_admin_client.get(reverse("www:parameters_labour_shares")).content.decode()
    assert 'name="share_structural_works" value="50"' in html and 'name="share_painting" value="70"' in html


# --- Legal bases offered by the market's date ---------------------------------------------------------------


def test_a_2012_market_is_offered_the_cmp_2006_article_marked_repealed(world_a, facilitator_member_client):
    lot = LotFactory(market=market_of(world_a, datetime.date(2012, 5, 10)))
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    offered = dict(options(html))
    assert offered["cmp2006_14"].endswith("(abrogé)") and "Art. 14 (CMP 2006)" in offered["cmp2006_14"]
    assert "(abrogé)" not in offered["ccp_l2112_2"]
    codes = [code for code, _label in options(html) if code]
    assert (
        codes.index("ccp_r2123_1_3") < codes.index("ord2015_38") < codes.index("cmp2006_14")
    )  # current first
    assert selected_basis(html) == "cmp2006_14"  # the execution condition of the market's date
    assert "le 10/05/2012" in html
    response = post(
        facilitator_member_client, lot, legal_basis="cmp2006_14", method="fixed", hours_target="500"
    )
    assert response.status_code == 302 and Clause.objects.get(lot=lot).legal_basis.code == "cmp2006_14"


def test_a_2025_market_is_offered_the_texts_in_force_only(world_a, facilitator_member_client):
    lot = LotFactory(market=market_of(world_a, datetime.date(2025, 2, 3)))
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    codes = {code for code, _label in options(html) if code}
    assert codes == {"ccp_l2112_2", "ccp_l2113_12", "ccp_l2113_13", "ccp_r2152_7", "ccp_r2123_1_3"}
    assert "(abrogé)" not in html and selected_basis(html) == "ccp_l2112_2"
    html = post(
        facilitator_member_client, lot, legal_basis="cmp2006_14", method="fixed", hours_target="500"
    ).content.decode()
    assert "rien n&#x27;a été enregistré" in html or "rien n'a été enregistré" in html
    assert not Clause.objects.filter(lot=lot).exists()


def test_a_market_notified_soon_after_a_repeal_may_keep_the_old_text(world_a, facilitator_member_client):
    # Notified in June 2016: its consultation may have started under the CMP 2006 (repealed on 1 April 2016).
    lot = LotFactory(market=market_of(world_a, datetime.date(2016, 6, 20)))
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    codes = {code for code, _label in options(html)}
    assert "cmp2006_14" in codes and selected_basis(html) == "ord2015_38"


def test_the_start_date_stands_in_for_a_missing_notification(world_a, facilitator_member_client):
    lot = LotFactory(market=market_of(world_a, None, start_date=datetime.date(2018, 9, 1)))
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    assert selected_basis(html) == "ord2015_38" and "cmp2006_14" not in dict(options(html))


def test_a_clause_keeps_its_repealed_text_on_a_recent_market(world_a, facilitator_member_client):
    lot = LotFactory(market=market_of(world_a, datetime.date(2025, 2, 3)))
    ClauseFactory(lot=lot, legal_basis=ref(LegalBasis, "ord2015_38"))
    html = facilitator_member_client.get(url_of(lot)).content.decode()
    assert selected_basis(html) == "ord2015_38" and dict(options(html))["ord2015_38"].endswith("(abrogé)")
    assert "cmp2006_14" not in dict(options(html))


# --- Acronyms ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(SHOWN))
def test_the_clause_form_explains_its_acronyms(method, lot, facilitator_member_client):
    html = post(facilitator_member_client, lot, method=method, refresh="1").content.decode()
    for expansion in (
        "Code de la commande publique",
        "Code des marchés publics",
        "structures d&#x27;insertion par l&#x27;activité économique",
        "établissements et services d&#x27;aide par le travail",
        "quartier prioritaire de la politique de la ville",
    ):
        assert expansion in html.replace("d'", "d&#x27;").replace("l'", "l&#x27;"), expansion
    if method in ("formula", "cleaning"):
        assert "HT : hors taxes" in html
