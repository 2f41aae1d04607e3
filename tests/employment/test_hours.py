"""Monthly hours: validation, counting rules, the statement lifecycle (hand-computed cases)."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from clausier.audit.models import AuditEntry
from clausier.employment.actions import MonthEntry, Refused, change_statement_status, declare_month
from clausier.employment.counting import RuleBook
from clausier.employment.models import CountingRule, HoursRecord, MonthlyStatement, StatementStatus
from clausier.reference.models import ContractType, Modality
from tests.factories import ContractFactory, FacilitatorSettingsFactory, UserFactory, acting, ref

pytestmark = pytest.mark.django_db
D = Decimal
MARCH = datetime.date(2024, 3, 1)


@pytest.fixture
def contract():
    return ContractFactory(start_date=datetime.date(2024, 2, 15), end_date=datetime.date(2024, 6, 30))


@pytest.fixture
def staff(contract):
    return acting(UserFactory(member_of=contract.facilitator))


def test_declare_creates_one_record_with_the_rule_applied(contract, staff):
    declare_month(
        facilitator=contract.facilitator, month=MARCH, entries=[MonthEntry(contract, "151,67")], by=staff
    )
    record = HoursRecord.objects.get()
    assert record.hours == D("151.67") and record.counted_hours == D("151.67")
    assert record.rule.coefficient == 1 and record.statement.status == StatementStatus.DRAFT
    first_stamp = record.updated_at
    # Same month again: updated, never doubled, and the record's stamp moves (bulk updates skip auto_now).
    declare_month(
        facilitator=contract.facilitator, month=MARCH, entries=[MonthEntry(contract, "140")], by=staff
    )
    updated = HoursRecord.objects.get()
    assert updated.hours == 140 and updated.updated_at > first_stamp
    assert AuditEntry.objects.filter(object_type="employment.monthlystatement").count() == 2


@pytest.mark.parametrize(
    ("month", "hours", "message"),
    [
        (MARCH, "-1", "les heures ne peuvent pas être négatives"),
        (MARCH, "250", "250 h dépasse le maximum plausible de 220 h par mois"),
        (MARCH, "douze", "saisissez un nombre d'heures"),
        (
            datetime.date(2024, 1, 1),
            "10",
            "ce mois est en dehors des dates du contrat (du 15/02/2024 au 30/06/2024)",
        ),
        (datetime.date(2024, 7, 1), "10", "ce mois est en dehors des dates du contrat"),
    ],
)
def test_refusals_name_contract_and_month_and_write_nothing(contract, staff, month, hours, message):
    with pytest.raises(Refused) as refused:
        declare_month(
            facilitator=contract.facilitator, month=month, entries=[MonthEntry(contract, hours)], by=staff
        )
    assert message in refused.value.messages[0]
    assert f"{month:%m/%Y}" in refused.value.messages[0]
    assert str(contract.participant) in refused.value.messages[0]
    assert not HoursRecord.objects.exists() and not MonthlyStatement.objects.exists()


def test_all_or_nothing_over_several_contracts(contract, staff):
    other = ContractFactory(lot=contract.lot, start_date=datetime.date(2024, 3, 1))
    with pytest.raises(Refused) as refused:
        declare_month(
            facilitator=contract.facilitator,
            month=MARCH,
            entries=[MonthEntry(contract, "100"), MonthEntry(other, "300")],
            by=staff,
        )
    assert len(refused.value.messages) == 1
    assert not HoursRecord.objects.exists()


def test_facilitator_maximum_is_configurable(contract, staff):
    FacilitatorSettingsFactory(facilitator=contract.facilitator, max_monthly_hours=D("180"))
    contract.facilitator.refresh_from_db()
    with pytest.raises(Refused, match="dépasse le maximum plausible de 180 h"):
        declare_month(
            facilitator=contract.facilitator, month=MARCH, entries=[MonthEntry(contract, "181")], by=staff
        )


def test_counting_rules_coefficient_training_window_and_versions(contract):
    fac = contract.facilitator
    provision = ref(Modality, "provision")
    ctti = ref(ContractType, "ctti")
    CountingRule.objects.create(
        facilitator=fac, modality=provision, coefficient=D("0.5"), valid_from=datetime.date(2020, 1, 1)
    )
    CountingRule.objects.create(
        facilitator=fac,
        modality=provision,
        contract_type=ctti,
        coefficient=D("1.5"),
        count_training=False,
        valid_from=datetime.date(2024, 4, 1),
    )
    CountingRule.objects.create(
        facilitator=fac, months_after_market_end=2, valid_from=datetime.date(2023, 1, 1)
    )
    book = RuleBook(fac)
    provisioned = SimpleNamespace(modality_id=provision.pk, contract_type_id=ctti.pk)
    cdd = SimpleNamespace(modality_id=provision.pk, contract_type_id=ref(ContractType, "cdd").pk)
    # March 2024: the ctti-specific rule is not in force yet → the modality rule (× 0.5).
    assert (
        book.count(
            contract=provisioned, month=MARCH, hours=D(100), training_hours=D(20), market_end=None
        ).hours
        == 50
    )
    # April 2024: modality + type rule: (100 − 20 training) × 1.5 = 120.
    april = datetime.date(2024, 4, 1)
    assert (
        book.count(
            contract=provisioned, month=april, hours=D(100), training_hours=D(20), market_end=None
        ).hours
        == 120
    )
    assert (
        book.count(contract=cdd, month=april, hours=D(100), training_hours=D(0), market_end=None).hours == 50
    )
    # General rule (2023 version): counts up to 2 months after the market's end.
    direct = SimpleNamespace(
        modality_id=ref(Modality, "direct_hire").pk, contract_type_id=ref(ContractType, "cdi").pk
    )
    end = datetime.date(2024, 1, 31)
    assert (
        book.count(
            contract=direct, month=datetime.date(2024, 3, 1), hours=D(80), training_hours=D(0), market_end=end
        ).hours
        == 80
    )
    late = book.count(
        contract=direct, month=datetime.date(2024, 4, 1), hours=D(80), training_hours=D(0), market_end=end
    )
    assert late.hours == 0 and "période de comptage" in late.reason


def test_statement_lifecycle_and_validated_statement_is_frozen(contract, staff):
    declare_month(
        facilitator=contract.facilitator, month=MARCH, entries=[MonthEntry(contract, "100")], by=staff
    )
    statement = MonthlyStatement.objects.get()
    company_user = acting(UserFactory(member_of=contract.employer))
    statement = change_statement_status(statement=statement, to=StatementStatus.SUBMITTED, by=company_user)
    with pytest.raises(Refused, match="n'avez pas le droit"):
        change_statement_status(statement=statement, to=StatementStatus.VALIDATED, by=company_user)
    with pytest.raises(Refused, match="commentaire est obligatoire"):
        change_statement_status(statement=statement, to=StatementStatus.RETURNED, by=staff)
    statement = change_statement_status(
        statement=statement, to=StatementStatus.RETURNED, by=staff, comment="Mars incomplet"
    )
    statement = change_statement_status(statement=statement, to=StatementStatus.SUBMITTED, by=company_user)
    statement = change_statement_status(statement=statement, to=StatementStatus.VALIDATED, by=staff)
    assert [(t.from_status, t.to_status) for t in statement.transitions.all()] == [
        ("draft", "submitted"),
        ("submitted", "returned"),
        ("returned", "submitted"),
        ("submitted", "validated"),
    ]
    assert statement.transitions.get(to_status="returned").comment == "Mars incomplet"
    with pytest.raises(Refused, match="est validé"):
        declare_month(
            facilitator=contract.facilitator, month=MARCH, entries=[MonthEntry(contract, "90")], by=staff
        )
    assert HoursRecord.objects.get().hours == 100
    with pytest.raises(Refused, match="ne peut pas passer"):
        change_statement_status(statement=statement, to=StatementStatus.SUBMITTED, by=staff)


def test_other_organizations_cannot_move_a_statement(contract, staff):
    declare_month(
        facilitator=contract.facilitator, month=MARCH, entries=[MonthEntry(contract, "100")], by=staff
    )
    statement = MonthlyStatement.objects.get()
    stranger = acting(UserFactory(member_of=ContractFactory().employer))
    with pytest.raises(Refused, match="n'avez pas le droit"):
        change_statement_status(statement=statement, to=StatementStatus.SUBMITTED, by=stranger)


# Contracts -------------------------------------------------------------------------------------


def _contract_kwargs(base, **overrides):
    kwargs = {
        "facilitator": base.facilitator,
        "participant": base.participant,
        "lot": base.lot,
        "company": base.company,
        "employer": base.company,
        "modality": ref(Modality, "direct_hire"),
        "contract_type": ref(ContractType, "cdd"),
        "start_date": datetime.date(2024, 9, 1),
        "end_date": datetime.date(2024, 12, 31),
    }
    kwargs.update(overrides)
    return kwargs


def test_placing_needs_valid_eligibility_or_an_admin_override(contract):
    from clausier.employment.actions import create_contract
    from clausier.employment.models import Contract
    from clausier.organizations.models import Role
    from tests.factories import EligibilityAssessmentFactory

    member = acting(UserFactory(member_of=contract.facilitator))
    admin = acting(UserFactory(member_of=contract.facilitator, member_of__role=Role.ADMIN))
    before = Contract.objects.count()
    with pytest.raises(Refused, match="n'a pas de validation d'éligibilité en cours au 01/09/2024"):
        create_contract(**_contract_kwargs(contract), by=member)
    with pytest.raises(Refused, match="Seul un administrateur"):
        create_contract(**_contract_kwargs(contract), override_reason="Avis de la Mission locale", by=member)
    assert Contract.objects.count() == before

    placed = create_contract(
        **_contract_kwargs(contract), override_reason="Avis de la Mission locale", by=admin
    )
    assert placed.eligibility_override_reason == "Avis de la Mission locale"
    assert placed.eligibility_override_by == admin
    assert AuditEntry.objects.filter(object_id=str(placed.uuid), detail__contains="dérogation").exists()

    EligibilityAssessmentFactory(
        participant=contract.participant,
        assessed_on=datetime.date(2024, 8, 1),
        valid_until=datetime.date(2026, 7, 31),
    )
    ok = create_contract(**_contract_kwargs(contract), by=member)
    assert ok.eligibility_override_reason == ""


def test_contract_refusals_list_every_problem(contract, staff):
    from clausier.employment.actions import create_contract
    from tests.factories import CompanyFactory

    stranger = CompanyFactory()
    with pytest.raises(Refused) as refused:
        create_contract(
            **_contract_kwargs(contract, company=stranger, end_date=datetime.date(2024, 1, 1)),
            by=staff,
        )
    messages = " ".join(refused.value.messages)
    assert "n'est pas attributaire" in messages
    assert "postérieure à la date de début" in messages
    assert "éligibilité" in messages


def test_one_rule_version_per_scope_and_date_even_for_the_general_rule(contract):
    from django.db import IntegrityError, transaction

    day = datetime.date(2025, 1, 1)
    CountingRule.objects.create(facilitator=contract.facilitator, valid_from=day)
    with pytest.raises(IntegrityError), transaction.atomic():
        CountingRule.objects.create(facilitator=contract.facilitator, valid_from=day, coefficient=D(2))
