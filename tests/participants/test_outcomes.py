"""Outcomes at the end of a contract and at 6 months: validation, the action, and the follow-up of those due."""

import datetime

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract
from clausier.participants.models import Outcome
from clausier.participants.outcomes import (
    AddMonths,
    Refused,
    add_months,
    check_outcome,
    due_on,
    earliest_observation,
    hydrate,
    last_end_due,
    outcomes_due,
    record_outcome,
)
from clausier.reference.models import OutcomeCategory
from clausier.www.kit.lists import AnnotatedPaginator
from tests.factories import (
    BuyerFactory,
    ContractFactory,
    FacilitatorFactory,
    LotFactory,
    OutcomeFactory,
    UserFactory,
    acting,
    ref,
)

pytestmark = pytest.mark.django_db

D = datetime.date
END, SIX = Outcome.Timing.END, Outcome.Timing.SIX_MONTHS
TODAY = D(2025, 3, 10)


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


@pytest.fixture
def staff(facilitator):
    return acting(UserFactory(member_of=facilitator))


def contract_ending(facilitator, end, **kwargs):
    return ContractFactory(
        lot__market__facilitator=facilitator,
        start_date=min(D(2023, 1, 2), end or D(2023, 1, 2)),
        end_date=end,
        **kwargs,
    )


# --- Dates ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "due"),
    [
        (D(2024, 7, 31), D(2025, 1, 31)),
        (D(2024, 8, 31), D(2025, 2, 28)),  # no 31 February: the month's last day
        (D(2023, 8, 31), D(2024, 2, 29)),  # leap year
        (D(2024, 6, 30), D(2024, 12, 30)),
        (D(2024, 12, 15), D(2025, 6, 15)),
    ],
)
def test_six_month_due_date(end, due):
    assert due_on(end, SIX) == due
    assert due_on(end, END) == end
    assert earliest_observation(end, SIX) == due - datetime.timedelta(days=15)
    assert earliest_observation(end, END) == end


def test_add_months_in_sql_matches_python(facilitator):
    """The follow-up computes the 6-month date in SQL: same result as in Python, month ends included."""
    ends = [D(2023, 8, 29), D(2023, 8, 30), D(2023, 8, 31), D(2024, 8, 31), D(2024, 3, 31), D(2024, 1, 31)]
    ends += [D(2024, 7, 1), D(2024, 12, 31), D(2024, 6, 30), D(2025, 5, 15)]
    contracts = [contract_ending(facilitator, end) for end in ends]
    rows = Contract.objects.filter(pk__in=[c.pk for c in contracts]).annotate(
        due=AddMonths(F("end_date"), 6), back=AddMonths("end_date", -6)
    )
    for contract in rows:
        assert contract.due == add_months(contract.end_date, 6), contract.end_date
        assert contract.back == add_months(contract.end_date, -6), contract.end_date


def test_last_end_due_is_the_exact_bound():
    """The 6-month part filters on `end_date <= last_end_due(today)`: exactly `add_months(end, 6) <= today`."""
    day = D(2023, 1, 1)
    while day < D(2025, 1, 1):  # two years, leap day and every month end included
        bound = last_end_due(day)
        assert add_months(bound, 6) <= day < add_months(bound + datetime.timedelta(days=1), 6), day
        day += datetime.timedelta(days=1)
    assert last_end_due(D(2025, 2, 28)) == D(2024, 8, 31)  # 29, 30 and 31 August are all due on 28 February
    assert last_end_due(D(2025, 2, 27)) == D(2024, 8, 27)


# --- Validation -----------------------------------------------------------------------------------------------


def test_check_outcome_rules(facilitator):
    contract = contract_ending(facilitator, D(2024, 7, 31))
    assert check_outcome(contract, END, D(2024, 7, 31), TODAY) == []
    assert check_outcome(contract, END, D(2024, 7, 30), TODAY) == [
        "La date de constat (30/07/2024) ne peut pas être antérieure à la fin du contrat (31/07/2024)."
    ]
    # 6 months after 31/07/2024 is 31/01/2025; 15 days earlier is 16/01/2025.
    assert check_outcome(contract, SIX, D(2025, 1, 16), TODAY) == []
    assert check_outcome(contract, SIX, D(2025, 1, 15), TODAY) == [
        "La situation à 6 mois se constate au plus tôt le 16/01/2025 "
        "(6 mois après la fin du contrat le 31/07/2024, moins 15 jours)."
    ]
    assert check_outcome(contract, END, D(2025, 3, 11), TODAY) == [
        "La date de constat (11/03/2025) ne peut pas être dans le futur."
    ]
    contract.end_date = None
    assert check_outcome(contract, END, D(2025, 1, 1), TODAY) == [
        "Ce contrat n'a pas de date de fin : sa sortie ne peut pas encore être renseignée."
    ]


def test_record_outcome_creates_then_corrects_with_audit(facilitator, staff):
    contract = contract_ending(facilitator, D(2024, 7, 31))
    cdi = ref(OutcomeCategory, "cdi")
    outcome = record_outcome(
        contract=contract,
        timing=END,
        category=cdi,
        detail="  CDI chez   l'attributaire ",
        observed_on=D(2024, 8, 1),
        by=staff,
        today=TODAY,
    )
    assert (outcome.participant_id, outcome.facilitator_id) == (contract.participant_id, facilitator.pk)
    assert outcome.detail == "CDI chez l'attributaire"
    assert outcome.category.group == "durable"
    created = AuditEntry.objects.get(object_id=str(outcome.uuid))
    assert created.action == Action.CREATE and created.actor == staff

    training = ref(OutcomeCategory, "qualifying_training")
    again = record_outcome(
        contract=contract, timing=END, category=training, observed_on=D(2024, 8, 1), by=staff, today=TODAY
    )
    assert again.pk == outcome.pk and Outcome.objects.filter(contract=contract).count() == 1
    assert again.category.group == "positive"
    update = AuditEntry.objects.filter(object_id=str(outcome.uuid), action=Action.UPDATE).get()
    assert update.changes["category_id"] == [cdi.pk, training.pk]
    assert update.changes["detail"] == ["CDI chez l'attributaire", ""]

    # Saving the same values again writes no audit entry.
    record_outcome(
        contract=contract, timing=END, category=training, observed_on=D(2024, 8, 1), by=staff, today=TODAY
    )
    assert AuditEntry.objects.filter(object_id=str(outcome.uuid)).count() == 2


def test_record_outcome_refusals_write_nothing(facilitator, staff):
    contract = contract_ending(facilitator, D(2024, 7, 31))
    cdi = ref(OutcomeCategory, "cdi")
    with pytest.raises(Refused) as refusal:
        record_outcome(
            contract=contract, timing=SIX, category=cdi, observed_on=D(2024, 12, 1), by=staff, today=TODAY
        )
    assert "au plus tôt le 16/01/2025" in refusal.value.messages[0]

    outsider = acting(UserFactory(member_of=FacilitatorFactory()))
    company_user = acting(UserFactory(member_of=contract.company))
    for user in (outsider, company_user, None):
        with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
            record_outcome(
                contract=contract, timing=END, category=cdi, observed_on=D(2024, 8, 1), by=user, today=TODAY
            )
    inactive = ref(OutcomeCategory, "unknown")
    OutcomeCategory.objects.filter(pk=inactive.pk).update(is_active=False)
    inactive.refresh_from_db()
    with pytest.raises(Refused, match="Choisissez une situation"):
        record_outcome(
            contract=contract, timing=END, category=inactive, observed_on=D(2024, 8, 1), by=staff, today=TODAY
        )
    assert not Outcome.objects.filter(contract=contract).exists()
    assert not AuditEntry.objects.filter(object_type="participants.outcome").exists()


# --- Follow-up --------------------------------------------------------------------------------------------------


def due_list(facilitator, today=TODAY, timing=None, **filters):
    contracts = Contract.objects.filter(facilitator=facilitator, **filters)
    rows = outcomes_due(contracts, today, timing=timing).order_by("due_on", "last_name", "first_name", "pk")
    return [(item.contract, item.timing, item.due_on, item.days_late) for item in hydrate(rows, today)]


def test_follow_up_lists_what_is_due_sorted_by_due_date(facilitator):
    # Today is 10/03/2025.
    ended_long_ago = contract_ending(facilitator, D(2024, 7, 31))  # end due 31/07/2024, 6m due 31/01/2025
    ended_aug = contract_ending(facilitator, D(2024, 8, 31))  # 6m due 28/02/2025
    ended_sept = contract_ending(facilitator, D(2024, 9, 10))  # 6m due 10/03/2025: today, due
    ended_sept_late = contract_ending(facilitator, D(2024, 9, 11))  # 6m due 11/03/2025: not yet
    ended_yesterday = contract_ending(facilitator, D(2025, 3, 9))  # end due 09/03/2025
    contract_ending(facilitator, D(2025, 3, 10))  # ends today: not ended yet
    contract_ending(facilitator, None)  # open-ended
    done = contract_ending(facilitator, D(2024, 6, 30))  # both outcomes recorded
    OutcomeFactory(contract=done)
    OutcomeFactory(contract=done, six_months=True)
    for contract in (ended_aug, ended_sept, ended_sept_late):
        OutcomeFactory(contract=contract)  # end outcomes recorded

    assert due_list(facilitator) == [
        (ended_long_ago, END, D(2024, 7, 31), 222),
        (ended_long_ago, SIX, D(2025, 1, 31), 38),
        (ended_aug, SIX, D(2025, 2, 28), 10),
        (ended_yesterday, END, D(2025, 3, 9), 1),
        (ended_sept, SIX, D(2025, 3, 10), 0),
    ]
    assert [row[:2] for row in due_list(facilitator, timing=END)] == [
        (ended_long_ago, END),
        (ended_yesterday, END),
    ]
    assert [row[:2] for row in due_list(facilitator, timing=SIX)] == [
        (ended_long_ago, SIX),
        (ended_aug, SIX),
        (ended_sept, SIX),
    ]
    # The next day, the 11 September contract's 6-month outcome is due too.
    assert (ended_sept_late, SIX, D(2025, 3, 11), 0) in due_list(facilitator, today=D(2025, 3, 11))


def test_follow_up_filters_and_tenant(facilitator):
    buyer = BuyerFactory(partner_of=facilitator)
    lot = LotFactory(market__facilitator=facilitator, market__buyer=buyer)
    mine = ContractFactory(lot=lot, start_date=D(2024, 1, 2), end_date=D(2024, 7, 31))
    other = contract_ending(facilitator, D(2024, 7, 31))
    contract_ending(FacilitatorFactory(), D(2024, 7, 31))  # another tenant
    assert {row[0] for row in due_list(facilitator)} == {mine, other}
    assert {row[0] for row in due_list(facilitator, lot__market__buyer=buyer)} == {mine}
    assert {row[0] for row in due_list(facilitator, employer=other.employer)} == {other}


def test_follow_up_costs_constant_queries(facilitator):
    def run():
        contracts = Contract.objects.filter(facilitator=facilitator)
        with CaptureQueriesContext(connection) as queries:
            rows = outcomes_due(contracts, TODAY).order_by("due_on", "pk")
            count = rows.count()
            items = hydrate(rows[:50], TODAY)
            [
                (i.contract.participant.last_name, i.contract.employer.name, i.contract.lot.market.buyer.name)
                for i in items
            ]
        return count, len(queries)

    contract_ending(facilitator, D(2024, 7, 31))
    small = run()
    for _ in range(6):
        contract_ending(facilitator, D(2024, 5, 31))
    large = run()
    assert (small[0], large[0]) == (2, 14)
    assert small[1] == large[1] == 3  # count, page, the page's contracts


def test_the_list_counts_the_union_part_by_part(facilitator):
    """The paginator's count of the follow-up is the sum of its two parts, each counted on the contracts."""
    contract_ending(facilitator, D(2024, 7, 31))  # end and 6 months due
    contract_ending(facilitator, D(2024, 9, 10))  # end due, 6 months due today
    contract_ending(facilitator, D(2024, 9, 11))  # end due, 6 months not yet
    OutcomeFactory(contract=contract_ending(facilitator, D(2025, 1, 31)))  # end recorded, 6 months not yet
    contract_ending(FacilitatorFactory(), D(2024, 7, 31))  # another tenant
    rows = outcomes_due(Contract.objects.filter(facilitator=facilitator), TODAY).order_by("due_on", "pk")
    paginator = AnnotatedPaginator(rows, 2)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 5  # 3 end + 2 six-month
    assert len(queries) == 2 and not any("UNION" in q["sql"].upper() for q in queries)
    assert paginator.num_pages == 3 and len(paginator.page(3).object_list) == 1
    six_months = outcomes_due(Contract.objects.filter(facilitator=facilitator), TODAY, SIX).order_by("pk")
    assert AnnotatedPaginator(six_months, 2).count == 2  # one part: no union
