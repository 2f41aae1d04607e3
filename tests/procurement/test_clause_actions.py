"""The clause's rules shared by the clause page and the API (issue 16): which target a partial update keeps,
and which legal bases a clause may take."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clausier.procurement import actions
from clausier.procurement.models import Clause
from clausier.reference.models import LegalBasis
from tests.factories import ClauseFactory, LotFactory, MarketFactory, UserFactory, acting, ref

pytestmark = pytest.mark.django_db
D = datetime.date


def _user(lot):
    return acting(UserFactory(member_of=lot.facilitator))


def _stored(clause) -> Clause:
    return Clause.objects.get(pk=clause.pk)


# --- A partial update: a typed target stays, a computed one follows -----------------------------------------


def test_a_computed_target_follows_the_new_parameters():
    clause = ClauseFactory()  # 1 000 000 × 0,5 × 0,05 ÷ 30 = 833 h, the computation
    assert actions.typed_target(clause) is None
    actions.update_clause(clause=clause, by=_user(clause.lot), amount_ht=Decimal(500_000))
    assert _stored(clause).hours_target == 416 == _stored(clause).computed_hours


def test_a_typed_target_stays_when_the_parameters_change():
    clause = ClauseFactory(hours_target=Decimal(900), override_reason="Engagement du titulaire")
    assert actions.typed_target(clause) == 900
    actions.update_clause(clause=clause, by=_user(clause.lot), amount_ht=Decimal(500_000))
    stored = _stored(clause)
    assert stored.hours_target == 900 and stored.computed_hours == 416
    assert stored.override_reason == "Engagement du titulaire"


def test_a_given_target_replaces_a_typed_one():
    clause = ClauseFactory(hours_target=Decimal(900), override_reason="Engagement du titulaire")
    actions.update_clause(clause=clause, by=_user(clause.lot), hours_target=None)
    stored = _stored(clause)
    assert stored.hours_target == 833 and stored.override_reason == ""


def test_a_fixed_number_of_hours_stays_while_the_method_is_fixed():
    clause = ClauseFactory(fixed=True)  # 500 h, no computation
    actions.update_clause(clause=clause, by=_user(clause.lot), notes="Relance du titulaire")
    stored = _stored(clause)
    assert stored.hours_target == 500 and stored.notes == "Relance du titulaire"


def test_leaving_the_fixed_method_computes_the_target():
    clause = ClauseFactory(fixed=True)
    parameters = {"labour_share": Decimal("0.5"), "insertion_rate": Decimal("0.05"), "hourly_cost": 30}
    actions.update_clause(clause=clause, by=_user(clause.lot), method=Clause.Method.FORMULA, **parameters)
    stored = _stored(clause)
    assert stored.method == Clause.Method.FORMULA and stored.hours_target == 833  # the lot's 1 000 000 €


def test_an_older_clause_without_computed_hours_is_recomputed_to_decide():
    clause = ClauseFactory(computed_hours=None)
    assert actions.computed_target(clause) == 833 and actions.typed_target(clause) is None
    typed = ClauseFactory(computed_hours=None, hours_target=Decimal(1000), override_reason="Motif")
    assert actions.typed_target(typed) == 1000


# --- The legal bases a clause may take ----------------------------------------------------------------------


def _withdrawn() -> LegalBasis:
    return LegalBasis.objects.create(
        code="test_retire", label="Retiré du référentiel", version="test", is_active=False, article="art. 0"
    )


def _codes(lot, clause=None) -> set[str]:
    return set(actions.selectable_legal_bases(lot, clause).values_list("code", flat=True))


def test_a_repealed_text_is_selectable_only_for_a_market_of_before_its_repeal():
    recent = LotFactory(market=MarketFactory(notified_on=D(2023, 12, 15)))
    old = LotFactory(market=MarketFactory(notified_on=D(2019, 6, 1)))  # ord2015_38: in force until 31/03/2019
    assert "ccp_l2112_2" in _codes(recent) and "ord2015_38" not in _codes(recent)
    assert {"ccp_l2112_2", "ord2015_38"} <= _codes(old)
    problem = actions.legal_basis_problem(recent, ref(LegalBasis, "ord2015_38"))
    assert "abrogé (en vigueur jusqu'au 31/03/2019)" in problem
    assert actions.legal_basis_problem(old, ref(LegalBasis, "ord2015_38")) is None


def test_a_new_clause_may_not_take_a_repealed_or_withdrawn_basis():
    lot = LotFactory()
    withdrawn = _withdrawn()
    assert withdrawn.code not in _codes(lot)
    for basis in (ref(LegalBasis, "ord2015_38"), withdrawn):
        with pytest.raises(ValidationError) as refused:
            actions.set_clause(
                lot=lot, by=_user(lot), legal_basis=basis, method="fixed", hours_target=Decimal(500)
            )
        assert list(refused.value.message_dict) == ["legal_basis"]
    assert not Clause.objects.filter(lot=lot).exists()


def test_a_clause_keeps_the_repealed_or_withdrawn_basis_it_has():
    repealed = ClauseFactory(old_text=True)
    withdrawn = ClauseFactory(legal_basis=_withdrawn())
    for clause in (repealed, withdrawn):
        assert clause.legal_basis.code in _codes(clause.lot, clause)
        actions.update_clause(clause=clause, by=_user(clause.lot), notes="Toujours sous l'ancien texte")
        assert _stored(clause).legal_basis == clause.legal_basis
    # Once it has left it, it may not go back.
    actions.update_clause(clause=repealed, by=_user(repealed.lot), legal_basis=ref(LegalBasis, "ccp_l2112_2"))
    with pytest.raises(ValidationError):
        actions.update_clause(
            clause=_stored(repealed), by=_user(repealed.lot), legal_basis=ref(LegalBasis, "ord2015_38")
        )
