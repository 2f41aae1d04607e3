"""Lot follow-up on the lot page and the dashboard alerts (hand-computed figures)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from clausier.employment.models import StatementStatus
from clausier.procurement.followup import STATUS_RULE
from clausier.procurement.models import GlobalisationAgreement
from clausier.procurement.progress import POOLING_RULE
from tests.factories import (
    ClauseFactory,
    ContractFactory,
    HoursRecordFactory,
    LotFactory,
    MarketFactory,
    monthly_hours,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2024, 7, 15)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr("clausier.www.hours.views.today", lambda: TODAY)


def lot_for(world, **clause):
    market = MarketFactory(
        facilitator=world.facilitator,
        buyer=world.orgs["buyer"],
        start_date=datetime.date(2024, 1, 1),
        end_date=datetime.date(2024, 12, 31),
    )
    lot = LotFactory(market=market)
    ClauseFactory(lot=lot, **clause)  # by default 1 000 000 € × 50 % × 5 % ÷ 30 €/h = 833 h
    return lot


def months(*values):
    return {datetime.date(2024, i + 1, 1): v for i, v in enumerate(values)}


def page(client, lot):
    return client.get(reverse("www:lot_detail", kwargs={"uuid": lot.uuid})).content.decode()


def test_lot_at_risk_hand_computed(world_a, facilitator_member_client):
    lot = lot_for(world_a)
    contract = ContractFactory(
        lot=lot, start_date=datetime.date(2024, 1, 1), end_date=datetime.date(2024, 12, 31)
    )
    monthly_hours(contract, months(100, 100, 100, 50, 50, 50))  # 450 h, validated
    # A draft statement does not count.
    HoursRecordFactory(
        contract=ContractFactory(lot=lot, start_date=datetime.date(2024, 1, 1)),
        month=datetime.date(2024, 6, 1),
        hours=Decimal(999),
        statement_status=StatementStatus.DRAFT,
    )
    html = page(facilitator_member_client, lot)
    # Pace = (50 + 50 + 50) ÷ 3 = 50 h/month; July to December = 6 months → 450 + 300 = 750 h.
    # 750 < 833 but ≥ 70 % × 833 = 583,1 → at risk. Remaining 383 h; 450 ÷ 833 = 54,0 %.
    assert 'data-testid="followup-target">833 h<' in html
    assert 'data-testid="followup-realised">450 h<' in html
    assert 'data-testid="followup-remaining">383 h<' in html
    assert 'data-testid="followup-completion">54,0 %<' in html
    assert 'data-testid="followup-projection">750 h<' in html
    assert 'data-testid="followup-status">À risque<' in html
    assert escape(STATUS_RULE) in html
    assert 'data-testid="followup-pool">0 h<' in html and 'data-testid="followup-pooling"' not in html
    # The chart and its data table: January to June, cumulative.
    assert "<svg" in html and "Projection 12/24 : 750 h" in html and "Objectif 833 h" in html
    table = html.split('data-testid="followup-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 7  # header + 6 months
    assert '<td>06/2024</td><td class="cl-num">50</td><td class="cl-num">450</td>' in table


def test_pool_credit_is_shown_with_the_rule(world_a, facilitator_member_client, company_client):
    company = world_a.orgs["company"]
    short = lot_for(world_a)
    ahead = lot_for(world_a, fixed=True)  # target 500 h
    for lot, values in ((short, months(100, 100)), (ahead, months(400, 400))):
        monthly_hours(ContractFactory(lot=lot, company=company, start_date=datetime.date(2024, 1, 1)), values)
    pool = GlobalisationAgreement.objects.create(
        facilitator=world_a.facilitator, company=company, name="Convention Sud"
    )
    pool.lots.set([short, ahead], through_defaults={"facilitator": world_a.facilitator})
    html = page(facilitator_member_client, short)
    # The other lot did 800 h for 500 h: its 300 h surplus is credited here (200 h own + 300 h = 500 h).
    assert 'data-testid="followup-pool">300 h<' in html
    assert 'data-testid="followup-realised">500 h<' in html
    assert escape(POOLING_RULE) in html and "Convention Sud" in html
    # Where the 300 h came from: the other lot, linked for the facilitator's staff.
    [line] = html.split('data-testid="followup-pool-sources"')[1].split("</ul>")[0].split("<li>")[1:]
    label = escape(f"{ahead.market.reference} — lot {ahead.number}")
    detail = reverse("www:lot_detail", kwargs={"uuid": ahead.uuid})
    assert line.startswith(f'<a href="{detail}">{label}</a> ({escape(ahead.title)}) : 300 h</li>')
    # The company sees what came from the pool and from which lot, not the agreement's page link.
    html = company_client.get(reverse("www:lot_detail", kwargs={"uuid": short.uuid})).content.decode()
    assert 'data-testid="followup-pool">300 h<' in html and "Convention Sud" not in html
    sources = html.split('data-testid="followup-pool-sources"')[1].split("</ul>")[0]
    assert f"<li>{label} ({escape(ahead.title)}) : 300 h</li>" in sources and "href" not in sources


def test_lot_without_clause_has_no_followup(world_a, facilitator_member_client):
    lot = LotFactory(market=world_a.objects["market"])
    html = page(facilitator_member_client, lot)
    assert 'data-testid="followup"' not in html


def test_dashboard_lists_lots_at_risk_and_relances(world_a, world_b, facilitator_member_client):
    late = lot_for(world_a)
    contract = ContractFactory(
        lot=late, start_date=datetime.date(2024, 1, 1), end_date=datetime.date(2024, 12, 31)
    )
    monthly_hours(contract, months(10, 10, 10, 10, 10))  # nothing validated for June
    done = lot_for(world_a, fixed=True)
    monthly_hours(ContractFactory(lot=done, start_date=datetime.date(2024, 1, 1)), months(300, 300))
    html = facilitator_member_client.get(reverse("www:dashboard")).content.decode()
    risks = html.split('data-testid="lots-at-risk"')[1].split("</section>")[0]
    assert reverse("www:lot_detail", kwargs={"uuid": late.uuid}) in risks
    assert "En retard" in risks
    assert reverse("www:lot_detail", kwargs={"uuid": done.uuid}) not in risks
    relances = html.split('data-testid="relances"')[1].split("</section>")[0]
    assert "juin 2024" in relances
    # The employer of `contract` has no June statement; world A's contracts ended in July: still running in June.
    assert escape(contract.employer.name) in relances and "relevé manquant" in relances
    assert escape(world_a.orgs["structure"].name) in relances
    assert escape(world_b.orgs["structure"].name) not in relances


def test_partners_do_not_see_the_alerts(world_a, client_for):
    for role in ("buyer", "company", "structure", "prescriber"):
        html = client_for(world_a.users[role]).get(reverse("www:dashboard")).content.decode()
        assert 'data-testid="alerts"' not in html
