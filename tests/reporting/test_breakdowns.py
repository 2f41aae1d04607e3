"""Every indicator under every filter, against a hand-computed territory.

Facilitator F (another facilitator G has the same data, never counted):

    buyer B1: operation O1 in Toulouse (31555) ⊃ market M1 (2023-01-01 → 2024-12-31)
              lot L1 clause 500 h, lot L1b clause 300 h — both awarded to company K1
    buyer B2: market M2 (2024-01-01 → 2025-12-31), lot L2 clause 1,000 h — awarded to company K2
    buyer B3: market M3, a lot without clause                      → never counted
    insertion structure S (ETTI) employs C2 and C5

    P (F, born 1990-05-17, infra 3, in QPV, Toulouse; criteria deld + qpv_resident)
       C1  L1  K1  direct_hire  cdd     2023-03-01 → 2023-06-30   2023-03: 100, 2023-04: 150
       C2  L2  K2  provision/S  ctti    2024-06-01 → 2024-12-31   2024-06: 140, 2024-07: 150   end: cdi
    Q (M, born 2000-01-01, level 4, outside QPV, Colomiers; criteria deld + young_unqualified)
       C3  L1  K1  direct_hire  cdi     2024-01-15 → (open)       2024-01: 80, 2024-02: 120, 2025-01: 100
       Q's duplicate (merged into Q):
       C4  L2  K2  direct_hire  apprent 2025-02-01 → 2025-03-31   2025-02: 70             end: job_seeking
    R (F, born 1970-03-01, level 5, QPV unknown, Toulouse; criteria senior_50 + rsa)
       C5  L1b K1  subcontr./S  cddi    2023-05-01 → 2023-05-31   2023-05: 60
                                                                   end: qualifying_training, 6 m: cdd_short

    all:   planned 1,800 h, realised 970 h (53.9 %), 5 contracts, 3 people, 2 companies, 1 structure,
           2 buyers, 2 markets, 3 lots
    2023:  C1, C5 — 2 people, 310 h; markets M1 (+ M2? no: starts 2024) → planned 800, 1 buyer
    2024:  C2, C3 — 2 people (P, Q), 490 h; M1 and M2 → planned 1,800, 2 buyers
    2025:  C3, C4 — 1 person (Q: the duplicate counts as Q), 170 h; M2 → planned 1,000, 1 buyer
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.organizations.models import Organization
from clausier.participants.models import Sex
from clausier.participants.profiles import refresh_facilitator_profiles
from clausier.reference.models import ContractType, Modality, QualificationLevel
from clausier.reporting.breakdowns import indicators
from clausier.reporting.filters import IndicatorFilter
from clausier.reporting.indicators import territory_figures
from tests.factories import (
    AwardFactory,
    BuyerFactory,
    ClauseFactory,
    CommuneFactory,
    CompanyFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    InsertionStructureFactory,
    LotFactory,
    MarketFactory,
    OperationFactory,
    OutcomeFactory,
    ParticipantFactory,
    monthly_hours,
    ref,
)

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2025, 6, 1)


def build(fac) -> dict:
    toulouse = CommuneFactory()
    colomiers = CommuneFactory(insee_code="31149", name="Colomiers", population=39000)
    b1, b2, b3 = (BuyerFactory(partner_of=fac) for _ in range(3))
    k1, k2 = (CompanyFactory(partner_of=fac) for _ in range(2))
    s = InsertionStructureFactory(partner_of=fac)
    o1 = OperationFactory(facilitator=fac, buyer=b1, commune=toulouse)
    m1 = MarketFactory(
        facilitator=fac, buyer=b1, operation=o1, start_date=D(2023, 1, 1), end_date=D(2024, 12, 31)
    )
    m2 = MarketFactory(facilitator=fac, buyer=b2, start_date=D(2024, 1, 1), end_date=D(2025, 12, 31))
    m3 = MarketFactory(facilitator=fac, buyer=b3, start_date=D(2023, 1, 1), end_date=D(2025, 12, 31))
    l1 = ClauseFactory(lot__market=m1, fixed=True, hours_target=Decimal(500)).lot
    l1b = ClauseFactory(lot__market=m1, fixed=True, hours_target=Decimal(300)).lot
    l2 = ClauseFactory(lot__market=m2, fixed=True, hours_target=Decimal(1000)).lot
    LotFactory(market=m3)
    for lot, company in ((l1, k1), (l1b, k1), (l2, k2)):
        AwardFactory(lot=lot, company=company)

    level = lambda code: ref(QualificationLevel, code)  # noqa: E731
    p = ParticipantFactory(
        facilitator=fac,
        sex=Sex.FEMALE,
        birth_date=D(1990, 5, 17),
        qualification_level=level("infra3"),
        qpv_status="inside",
        qpv_code="QP031007",
        commune=toulouse,
    )
    q = ParticipantFactory(
        facilitator=fac,
        sex=Sex.MALE,
        birth_date=D(2000, 1, 1),
        qualification_level=level("level4"),
        qpv_status="outside",
        commune=colomiers,
    )
    q_dup = ParticipantFactory(
        facilitator=fac,
        sex=Sex.MALE,
        birth_date=D(2000, 1, 1),
        qualification_level=level("level4"),
        merged_into=q,
        commune=colomiers,
    )
    r = ParticipantFactory(
        facilitator=fac,
        sex=Sex.FEMALE,
        birth_date=D(1970, 3, 1),
        qualification_level=level("level5"),
        qpv_status="unlocated",
        commune=toulouse,
    )
    EligibilityAssessmentFactory(participant=p, assessed_on=D(2023, 1, 1), criteria=["deld", "qpv_resident"])
    EligibilityAssessmentFactory(
        participant=q, assessed_on=D(2024, 1, 1), criteria=["deld", "young_unqualified"]
    )
    EligibilityAssessmentFactory(participant=r, assessed_on=D(2023, 1, 1), criteria=["senior_50", "rsa"])

    def contract(person, lot, company, modality, ctype, start, end, employer=None):
        return ContractFactory(
            participant=person,
            lot=lot,
            company=company,
            employer=employer or company,
            modality=ref(Modality, modality),
            contract_type=ref(ContractType, ctype),
            start_date=start,
            end_date=end,
        )

    c1 = contract(p, l1, k1, "direct_hire", "cdd", D(2023, 3, 1), D(2023, 6, 30))
    c2 = contract(p, l2, k2, "provision", "ctti", D(2024, 6, 1), D(2024, 12, 31), employer=s)
    c3 = contract(q, l1, k1, "direct_hire", "cdi", D(2024, 1, 15), None)
    c4 = contract(q_dup, l2, k2, "direct_hire", "apprenticeship", D(2025, 2, 1), D(2025, 3, 31))
    c5 = contract(r, l1b, k1, "subcontracting", "cddi", D(2023, 5, 1), D(2023, 5, 31), employer=s)
    monthly_hours(c1, {D(2023, 3, 1): 100, D(2023, 4, 1): 150})
    monthly_hours(c2, {D(2024, 6, 1): 140, D(2024, 7, 1): 150})
    monthly_hours(c3, {D(2024, 1, 1): 80, D(2024, 2, 1): 120, D(2025, 1, 1): 100})
    monthly_hours(c4, {D(2025, 2, 1): 70})
    monthly_hours(c5, {D(2023, 5, 1): 60})
    OutcomeFactory(contract=c2, category=ref_outcome("cdi"))
    OutcomeFactory(contract=c4, job_seeking=True)
    OutcomeFactory(contract=c5, training=True)
    OutcomeFactory(contract=c5, six_months=True, category=ref_outcome("cdd_short"))
    refresh_facilitator_profiles(fac)
    return locals()


def ref_outcome(code):
    from clausier.reference.models import OutcomeCategory

    return ref(OutcomeCategory, code)


@pytest.fixture
def t():
    fac = FacilitatorFactory(slug="cellule-breakdowns")
    world = build(fac)
    build(FacilitatorFactory())  # another tenant: never counted
    return world


def run(t, **kwargs):
    return indicators(IndicatorFilter(t["fac"], **kwargs), today=TODAY)


def headline(result):
    return (
        result.planned_hours,
        result.hours,
        result.contracts,
        result.participants,
        result.companies,
        result.structures,
        result.buyers,
        result.markets,
        result.lots,
    )


def test_all_years(t):
    result = run(t)
    assert headline(result) == (1800, 970, 5, 3, 2, 1, 2, 2, 3)
    assert round(result.completion, 4) == Decimal("0.5389")
    assert result.fte == Decimal("0.6")  # 970 / 1,600 = 0.606
    figures = territory_figures(t["fac"])  # the public figures agree
    assert (figures.hours, figures.contracts, figures.participants, figures.buyers) == (970, 5, 3, 2)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # period
        ({"start": D(2023, 1, 1), "end": D(2023, 12, 31)}, (800, 310, 2, 2, 1, 1, 1, 1, 2)),
        ({"start": D(2024, 1, 1), "end": D(2024, 12, 31)}, (1800, 490, 2, 2, 2, 1, 2, 2, 3)),
        ({"start": D(2025, 1, 1), "end": D(2025, 12, 31)}, (1000, 170, 2, 1, 2, 0, 1, 1, 1)),
        ({"start": D(2024, 7, 1), "end": D(2024, 7, 31)}, (1800, 150, 2, 2, 2, 1, 2, 2, 3)),
        # buyer, operation, commune, market, lot
        ({"buyer": "b1"}, (800, 610, 3, 3, 1, 1, 1, 1, 2)),
        ({"operation": "o1"}, (800, 610, 3, 3, 1, 1, 1, 1, 2)),
        ({"commune_id": "31555"}, (800, 610, 3, 3, 1, 1, 1, 1, 2)),
        ({"market": "m2"}, (1000, 360, 2, 2, 1, 1, 1, 1, 1)),
        ({"lot": "l1b"}, (300, 60, 1, 1, 1, 1, 1, 1, 1)),
        # company: the lots awarded to it, the contracts fulfilling its obligation
        ({"company": "k2"}, (1000, 360, 2, 2, 1, 1, 1, 1, 1)),
        # modality, contract type: contracts and hours only
        ({"modality": "provision"}, (1800, 290, 1, 1, 1, 1, 2, 2, 3)),
        ({"modality": "direct_hire"}, (1800, 620, 3, 2, 2, 0, 2, 2, 3)),
        ({"contract_type": "cdi"}, (1800, 300, 1, 1, 1, 0, 2, 2, 3)),
        # combined: buyer B1 in 2024 → C3 only
        ({"buyer": "b1", "start": D(2024, 1, 1), "end": D(2024, 12, 31)}, (800, 200, 1, 1, 1, 0, 1, 1, 2)),
    ],
)
def test_filters(t, kwargs, expected):
    resolved = {}
    for key, value in kwargs.items():
        if key in ("buyer", "operation", "market", "lot", "company"):
            resolved[f"{key}_id"] = t[value].pk
        elif key == "modality":
            resolved["modality_id"] = ref(Modality, value).pk
        elif key == "contract_type":
            resolved["contract_type_id"] = ref(ContractType, value).pk
        else:
            resolved[key] = value
    assert headline(run(t, **resolved)) == expected


def test_contracts_by_type_and_modality(t):
    result = run(t)
    by_type = {r["code"]: (r["contracts"], r["participants"], r["hours"]) for r in result.by_contract_type}
    assert by_type == {
        "cdd": (1, 1, 250),
        "ctti": (1, 1, 290),
        "cdi": (1, 1, 300),
        "apprenticeship": (1, 1, 70),
        "cddi": (1, 1, 60),
    }
    by_modality = {r["code"]: (r["contracts"], r["participants"], r["hours"]) for r in result.by_modality}
    # Q holds two direct hires (one through the merged duplicate): counted once.
    assert by_modality == {"direct_hire": (3, 2, 620), "provision": (1, 1, 290), "subcontracting": (1, 1, 60)}


def test_hours_by_buyer(t):
    rows = [(r["name"], r["planned"], r["hours"]) for r in run(t).by_buyer]
    assert rows == [(t["b2"].name, 1000, 360), (t["b1"].name, 800, 610)]


def test_profiles_at_entry(t):
    result = run(t)
    profiles = result.profiles
    assert profiles["total"]["total"] == 3
    assert profiles["sex"] == {"F": 2, "M": 1}
    assert profiles["age_band"] == {"lt26": 1, "26_49": 1, "ge50": 1, "unknown": 0}
    assert profiles["qualification_band"] == {"infra3": 1, "3": 0, "4": 1, "5plus": 1, "unknown": 0}
    assert profiles["qpv_flag"] == {"inside": 1, "outside": 1, "unknown": 1}
    assert result.criteria == {"deld": 2, "qpv_resident": 1, "young_unqualified": 1, "senior_50": 1, "rsa": 1}
    assert [(c["insee"], c["name"], c["n"]) for c in result.communes] == [
        ("31555", "Toulouse", 2),
        ("31149", "Colomiers", 1),
    ]
    # Filtered: the people of market M2 (P and Q).
    result = run(t, market_id=t["m2"].pk)
    assert result.profiles["sex"] == {"F": 1, "M": 1}
    assert result.criteria == {"deld": 2, "qpv_resident": 1, "young_unqualified": 1}


def test_outcomes(t):
    result = run(t)
    assert result.outcomes["end"] == {
        "durable": 1,
        "transition": 0,
        "positive": 1,
        "other": 1,
        "dynamic": 2,
        "total": 3,
    }
    assert result.outcomes["6m"] == {
        "durable": 0,
        "transition": 1,
        "positive": 0,
        "other": 0,
        "dynamic": 1,
        "total": 1,
    }
    assert run(t, buyer_id=t["b2"].pk).outcomes["end"] == {
        "durable": 1,
        "transition": 0,
        "positive": 0,
        "other": 1,
        "dynamic": 1,
        "total": 2,
    }


def test_years_since_the_first(t):
    rows = [(y.year, y.participants, y.contracts, y.hours) for y in run(t).years]
    assert rows == [(2023, 2, 2, 310), (2024, 2, 2, 490), (2025, 1, 2, 170)]
    # P worked for B1 in 2023 and for B2 in 2024: one person over the whole span.
    assert run(t).participants == 3
    rows = [(y.year, y.participants, y.contracts, y.hours) for y in run(t, buyer_id=t["b2"].pk).years]
    assert rows == [(2024, 1, 1, 290), (2025, 1, 1, 70)]


def test_months_of_the_current_year(t):
    result = run(t)
    assert result.months_year == 2025
    rows = [(m.month.month, m.participants, m.contracts, m.hours) for m in result.months]
    assert rows[:4] == [(1, 1, 1, 100), (2, 1, 2, 70), (3, 1, 2, 0), (4, 1, 1, 0)]
    assert len(rows) == 12


def count_queries(function):
    with CaptureQueriesContext(connection) as ctx:
        function()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("kwargs", [{}, {"start": D(2024, 1, 1), "end": D(2024, 12, 31)}])
def test_query_count_does_not_grow_with_data(kwargs):
    fac = FacilitatorFactory()
    build(fac)

    def measure():
        fresh = Organization.objects.get(pk=fac.pk)
        return count_queries(lambda: indicators(IndicatorFilter(fresh, **kwargs), today=TODAY))

    small = measure()
    build(fac)
    build(fac)
    assert measure() == small
    assert small <= 22
