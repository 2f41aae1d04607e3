"""A facilitator logs in on the demo territory, sees the four figures, opens a market and a participant."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from clausier.demo.users import DEMO_PASSWORD, demo_logins

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # demo users are only created in development
    call_command("demo", verbosity=0)
    settings.DEBUG = False


def test_facilitator_sees_figures_market_and_participant(demo, live_server, page):
    email = next(login.email for login in demo_logins() if login.role == "facilitator_admin")
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("mot de passe", re.I)).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()

    page.wait_for_selector('[data-testid="figure-buyers"]')
    figures = {
        key: re.sub(r"\s", "", page.get_by_test_id(f"figure-{key}").inner_text())
        for key in ("buyers", "hours", "contracts", "participants")
    }
    assert figures == {"buyers": "42", "hours": "1824868", "contracts": "2725", "participants": "1983"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/marches/")
    page.locator("table tbody tr a").first.click()
    page.wait_for_load_state()
    assert "/marches/" in page.url
    assert page.get_by_role("heading", level=1).inner_text().strip()
    assert page.locator("main").get_by_text(re.compile("Lot", re.I)).first.is_visible()

    page.goto(f"{live_server.url}/participants/")
    page.locator("table tbody tr a").first.click()
    page.wait_for_load_state()
    assert "/participants/" in page.url
    # The main menu also holds a (folded) "Contrats" entry: look in the page's own content.
    assert page.get_by_role("heading", name=re.compile(r"^Contrats \(\d+\)")).is_visible()
    page.screenshot(path=str(ARTIFACTS / "participant.png"), full_page=True)
