from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clausier.procurement import sizing

D = Decimal


def test_worked_example_833_hours():
    result = sizing.formula(D("1000000"), D("0.5"), D("0.05"), D("30"))
    assert result.hours == 833  # 25 000 € ÷ 30 €/h = 833.33 h, rounded down
    assert [s.value for s in result.steps][-1] == "833 h"
    assert result.steps[1].value == "500\u202f000 €"


def test_formula_rounds_down_even_just_below_the_next_hour():
    assert sizing.formula(D("5999.99"), D("1"), D("1"), D("30")).hours == 199
    assert sizing.formula(D("6000"), D("1"), D("1"), D("30")).hours == 200


def test_minimum_warning():
    assert sizing.formula(D("100000"), D("0.5"), D("0.05"), D("30"), minimum=150).below_minimum  # 83 h
    assert not sizing.formula(D("1000000"), D("0.5"), D("0.05"), D("30"), minimum=150).below_minimum


def test_cleaning_with_transferred_staff():
    # A = 240 000 € over N = 12 months → 20 000 €/month; S = 400 h × 25 € = 10 000 €/month → P = 50 %.
    # I = 0.5 × 240 000 ÷ 25 × 5 % = 240 h.
    result = sizing.cleaning(D("240000"), 12, D("400"), D("0.05"))
    assert result.hours == 240
    assert result.parameters["hourly_cost"] == 25


def test_cleaning_when_transferred_staff_absorb_everything():
    assert sizing.cleaning(D("120000"), 12, D("500"), D("0.05")).hours == 0


def test_percent_of_hours_and_fixed():
    assert sizing.percent_of_hours(D("10000"), D("0.07")).hours == 700
    assert sizing.fixed(D("420.9")).hours == 420


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("abc", "0.5", "0.05", "30"), "« Montant HT » doit être un nombre."),
        (("1000", "0.5", "0.05", "0"), "« Coût horaire » doit être strictement positif."),
        (("1000", "1.5", "0.05", "30"), "« Part de main-d'œuvre » ne peut pas dépasser 100 %."),
        (("-1", "0.5", "0.05", "30"), "« Montant HT » doit être positif."),
        (("NaN", "0.5", "0.05", "30"), "« Montant HT » doit être un nombre."),
    ],
)
def test_bad_parameters_give_french_errors(args, message):
    with pytest.raises(sizing.SizingError, match=message):
        sizing.formula(*args)


@given(
    amount=st.decimals(min_value=0, max_value=10**9, places=2),
    share=st.decimals(min_value=0, max_value=1, places=4),
    rate=st.decimals(min_value=0, max_value=1, places=4),
    cost=st.decimals(min_value=D("0.01"), max_value=1000, places=2),
)
def test_formula_is_the_floor_of_the_exact_product(amount, share, rate, cost):
    hours = sizing.formula(amount, share, rate, cost).hours
    exact = amount * share * rate / cost
    assert hours <= exact < hours + 1
