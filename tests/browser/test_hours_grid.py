"""The monthly hours grid in a real browser: keyboard moves of grid.js, one save, and a refused value."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clausier.employment.models import HoursRecord, MonthlyStatement
from tests.factories import (
    PASSWORD,
    ClauseFactory,
    ContractFactory,
    FacilitatorFactory,
    LotFactory,
    MarketFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MAY = datetime.date(2024, 5, 1)
D = Decimal


@pytest.fixture
def grid(live_server, page):
    """A facilitator member logged in on the May 2024 grid of a lot with two running contracts."""
    facilitator = FacilitatorFactory()
    user = UserFactory(member_of=facilitator)
    lot = LotFactory(market=MarketFactory(facilitator=facilitator))
    ClauseFactory(lot=lot)
    contracts = [
        ContractFactory(lot=lot, participant__last_name=name, participant__first_name="Alex")
        for name in ("Bernard", "Arnaud")
    ]
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(user.email)
    page.get_by_label(re.compile("mot de passe", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}{reverse('www:lot_hours', kwargs={'uuid': lot.uuid})}?mois=2024-05")
    expect(page.get_by_test_id("grid-row")).to_have_count(2)
    # Rows are sorted by name: Arnaud first.
    return page, contracts[1], contracts[0]


def cell(page, prefix, contract):
    return page.locator(f'input[name="{prefix}-{contract.uuid}"]')


def expect_focus(page, prefix, contract):
    expect(cell(page, prefix, contract)).to_be_focused()


def test_keyboard_entry_moves_like_a_spreadsheet_and_saves_the_month(grid):
    page, top, bottom = grid
    assert cell(page, "h", top).get_attribute("data-row") == "0"
    keyboard = page.keyboard

    cell(page, "h", top).click()
    keyboard.type("120")
    keyboard.press("Tab")  # native: next cell, training hours of the same row
    expect_focus(page, "f", top)
    keyboard.type("10,5")
    keyboard.press("ArrowLeft")  # inside the text: the caret moves, not the focus
    expect_focus(page, "f", top)
    keyboard.press("Home")
    keyboard.press("ArrowLeft")  # at the start of the text: previous column
    expect_focus(page, "h", top)
    keyboard.press("Enter")  # same column, next row
    expect_focus(page, "h", bottom)
    keyboard.type("151,67")
    keyboard.press("ArrowRight")  # at the end of the text: next column
    expect_focus(page, "f", bottom)
    keyboard.press("ArrowUp")
    expect_focus(page, "f", top)
    assert page.evaluate("document.activeElement.selectionEnd - document.activeElement.selectionStart") == 4
    keyboard.press("ArrowDown")
    expect_focus(page, "f", bottom)
    keyboard.press("Shift+Enter")  # previous row
    expect_focus(page, "f", top)
    keyboard.press("Enter")
    keyboard.press("Enter")  # on the last row: the save button
    save = page.get_by_role("button", name="Enregistrer les heures de mai 2024")
    expect(save).to_be_focused()
    assert not HoursRecord.objects.exists()
    keyboard.press("Enter")

    expect(page.get_by_test_id("grid-notice")).to_contain_text(
        "Heures de mai 2024 enregistrées (2 contrats modifiés)"
    )
    records = {r.contract_id: r for r in HoursRecord.objects.filter(month=MAY)}
    assert (records[top.pk].hours, records[top.pk].training_hours) == (D("120"), D("10.5"))
    assert (records[bottom.pk].hours, records[bottom.pk].training_hours) == (D("151.67"), D("0"))
    expect(page.get_by_test_id("total-hours")).to_have_text("271,67")
    # The grid swapped by htmx (no page load) keeps its keyboard moves.
    assert page.evaluate("typeof htmx") == "object"
    cell(page, "h", top).click()
    keyboard.press("Enter")
    expect_focus(page, "h", bottom)


def test_a_refused_value_shows_its_french_message_and_writes_nothing(grid):
    page, top, bottom = grid
    cell(page, "h", top).fill("100")
    cell(page, "h", bottom).fill("250")
    page.get_by_role("button", name="Enregistrer les heures de mai 2024").click()

    refused = page.get_by_test_id("grid-refused")
    expect(refused).to_contain_text("Rien n'a été enregistré")
    errors = page.locator(f"#err-{bottom.uuid}")
    expect(errors).to_contain_text("250 h dépasse le maximum plausible de 220 h par mois.")
    expect(page.locator(f"#err-{top.uuid}")).to_have_count(0)
    expect(cell(page, "h", bottom)).to_have_attribute("aria-invalid", "true")
    # Every typed value is kept; nothing reached the database, not even the valid row.
    expect(cell(page, "h", top)).to_have_value("100")
    expect(cell(page, "h", bottom)).to_have_value("250")
    assert not HoursRecord.objects.exists()
    assert not MonthlyStatement.objects.exists()
