"""Property-based tests of the pipeline's validation: whatever the cells, no crash, only clear French problems."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clausier.imports.kinds import KINDS
from clausier.imports.pipeline import Problem, suggest_mapping, validate
from clausier.imports.readers import Row, Table, find_records
from tests.factories import ContractFactory, ParticipantFactory

HEADER = ["Nom", "Prénom", "Date de naissance", "Marché", "Lot", "Mois", "Heures", "dont formation"]

cells = st.one_of(
    st.none(),
    st.text(max_size=12),
    # Values that resolve the contract below, and classic traps.
    st.sampled_from(["Durand", "Lot 1", "1", "M-1", "17/05/1990", "05/2024", "mai 2024", "151,67", "7h30"]),
    st.sampled_from(["-3", "1e9", "31/02/2000", "NaN", "12,3,4", "1 234,5 h", "00:75", "=SUM(A1)"]),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=datetime.date(1900, 1, 1)),
    st.datetimes(min_value=datetime.datetime(1900, 1, 1)),
    st.timedeltas(min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=3)),
)


@pytest.fixture
def contract(db):
    contract = ContractFactory(
        participant=ParticipantFactory(last_name="Durand", birth_date=datetime.date(1990, 5, 17)),
        lot__number="1",
        lot__market__reference="M-1",
    )
    return contract


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=9), min_size=1, max_size=8))
def test_validation_never_crashes(contract, rows):
    table = Table(
        filename="x.xlsx",
        format="xlsx",
        sheet="Feuil1",
        sheet_names=["Feuil1"],
        rows=[Row(1, list(HEADER))] + [Row(n, list(cells)) for n, cells in enumerate(rows, start=2)],
    )
    kind = KINDS["heures"]
    records = find_records(table, expected=kind.expected())
    validation = validate(records, kind, suggest_mapping(records, kind), facilitator=contract.facilitator)
    for problem in validation.problems:
        assert isinstance(problem, Problem)
        assert problem.row is None or 2 <= problem.row <= len(rows) + 1
        assert isinstance(problem.message, str) and problem.message.strip()
    assert validation.ok == (validation.problem_count == 0)
    assert len(validation.items) <= len(records.rows)


def test_every_kind_is_a_stored_choice():
    from clausier.imports.kinds import KINDS
    from clausier.imports.models import ImportKind

    assert dict(ImportKind.choices) == {name: kind.label for name, kind in KINDS.items()}
