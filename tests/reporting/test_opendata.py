"""Open data by year and commune of residence, with the statistical secret, against a hand-computed territory.

Toulouse (31555)  T1…T6  contract 2023-06-01 → 2024-03-31   100 h in 2023-07, 100 h in 2024-01
                  T1, T2 contract 2022-03-01 → 2022-06-30    80 h in 2022-04
                  T7     contract 2024                      100 h in 2024-03
                         T7's duplicate (living in Blagnac, merged into T7): contract 2024, 50 h
                  T1     999 h in a draft statement (2024-02): do not count
Colomiers (31149) C1…C5  contract 2024                      100 h in 2024-03
                  C1, C2 contract 2023-02-01 → 2023-05-31    60 h in 2023-03
Blagnac (31069)   B1, B2 contract 2023-09-01 → 2024-02-29    40 h in 2023-10, 40 h in 2024-01
                  B3     contract 2023-03-01 → 2023-04-30    30 h in 2023-03
unknown commune   U1     contract 2024                      100 h in 2024-03

2022: Toulouse 2 people → the whole year is under 5: one secret row, values empty.
2023: Toulouse 6 / 6 / 600 h shown; Colomiers 2 and Blagnac 3 hidden → secret row 5 / 5 / 230 h (shown).
2024: Toulouse 7 people / 8 contracts / 750 h; Colomiers 5 / 5 / 500; Blagnac 2 / 2 / 80; unknown 1 / 1 / 100.
      Blagnac + unknown = 3 people (< 5): Colomiers, the smallest shown, joins the secret row
      → secret 8 / 8 / 680 h. Rows: Toulouse, secret.
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from clausier.employment.models import StatementStatus
from clausier.reporting.indicators import participants_per_year
from clausier.reporting.opendata import HEADER, SECRET_LABEL, commune_rows, opendata_csv
from tests.factories import (
    ClauseFactory,
    CommuneFactory,
    ContractFactory,
    FacilitatorFactory,
    HoursRecordFactory,
    ParticipantFactory,
)

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2024, 12, 31)
YEAR_2024 = (D(2024, 2, 1), D(2024, 7, 31))


def work(lot, person, period, *hours):
    contract = ContractFactory(lot=lot, participant=person, start_date=period[0], end_date=period[1])
    for month, value in hours:
        HoursRecordFactory(contract=contract, month=month, hours=Decimal(value))
    return contract


def build(fac):
    toulouse = CommuneFactory()
    colomiers = CommuneFactory(insee_code="31149", name="Colomiers")
    blagnac = CommuneFactory(insee_code="31069", name="Blagnac")
    lot = ClauseFactory(lot__market__facilitator=fac, lot__market__start_date=D(2022, 1, 1)).lot

    def person(commune, **kwargs):
        return ParticipantFactory(facilitator=fac, commune=commune, **kwargs)

    ts = [person(toulouse) for _ in range(7)]
    for t in ts[:6]:
        work(lot, t, (D(2023, 6, 1), D(2024, 3, 31)), (D(2023, 7, 1), 100), (D(2024, 1, 1), 100))
    for t in ts[:2]:
        work(lot, t, (D(2022, 3, 1), D(2022, 6, 30)), (D(2022, 4, 1), 80))
    work(lot, ts[6], YEAR_2024, (D(2024, 3, 1), 100))
    work(lot, person(blagnac, merged_into=ts[6]), YEAR_2024, (D(2024, 4, 1), 50))
    HoursRecordFactory(
        contract=ts[0].contracts.order_by("start_date").last(),
        month=D(2024, 2, 1),
        hours=Decimal(999),
        statement_status=StatementStatus.DRAFT,
    )
    cs = [person(colomiers) for _ in range(5)]
    for c in cs:
        work(lot, c, YEAR_2024, (D(2024, 3, 1), 100))
    for c in cs[:2]:
        work(lot, c, (D(2023, 2, 1), D(2023, 5, 31)), (D(2023, 3, 1), 60))
    bs = [person(blagnac) for _ in range(3)]
    for b in bs[:2]:
        work(lot, b, (D(2023, 9, 1), D(2024, 2, 29)), (D(2023, 10, 1), 40), (D(2024, 1, 1), 40))
    work(lot, bs[2], (D(2023, 3, 1), D(2023, 4, 30)), (D(2023, 3, 1), 30))
    work(lot, person(None), YEAR_2024, (D(2024, 3, 1), 100))
    return fac


@pytest.fixture
def territory():
    return build(FacilitatorFactory(name="Cellule ouverte", slug="cellule-ouverte"))


EXPECTED = [
    ["annee", "code_commune_insee", "nom_commune", "beneficiaires", "contrats", "heures"],
    ["2022", "", SECRET_LABEL, "", "", ""],
    ["2023", "31555", "Toulouse", "6", "6", "600.00"],
    ["2023", "", SECRET_LABEL, "5", "5", "230.00"],
    ["2024", "31555", "Toulouse", "7", "8", "750.00"],
    ["2024", "", SECRET_LABEL, "8", "8", "680.00"],
]


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_rows_hand_computed(territory):
    assert parse(opendata_csv(territory, today=TODAY)) == EXPECTED
    assert EXPECTED[0] == HEADER
    assert opendata_csv(territory, today=TODAY).startswith("annee,code_commune_insee,")  # no BOM, commas


def test_hidden_cells_cannot_be_recovered_from_the_published_totals(territory):
    rows = commune_rows(territory, today=TODAY)
    published = dict(participants_per_year(territory, until=2024))  # the public page's yearly figures
    assert published == {2022: 2, 2023: 11, 2024: 15}
    for year in (2023, 2024):
        shown = [r for r in rows if r.year == year]
        # Shown rows add up to the published total: nothing is left to subtract, and every shown row has ≥ 5.
        assert sum(r.participants for r in shown) == published[year]
        assert all(r.participants >= 5 for r in shown)
    # No commune under 5 people ever appears, nor Colomiers in 2024 (secondary secret), nor any total row.
    communes = {(r.year, r.insee) for r in rows}
    assert (2023, "31149") not in communes and (2023, "31069") not in communes
    assert (2024, "31149") not in communes and (2024, "31069") not in communes
    assert all("total" not in r.name.lower() for r in rows)
    [year_2022] = [r for r in rows if r.year == 2022]
    assert year_2022.hidden and year_2022.name == SECRET_LABEL


def test_no_data_no_rows():
    fac = FacilitatorFactory()
    assert parse(opendata_csv(fac, today=TODAY)) == [HEADER]


def test_command_writes_the_file(territory, tmp_path):
    path = tmp_path / "communes.csv"
    call_command("opendata", "--facilitator", "cellule-ouverte", "--output", str(path))
    text = path.read_bytes().decode("utf-8")
    assert "\r\n" in text and "\r\r" not in text
    assert parse(text) == EXPECTED  # later years: no contract, no row
    out = io.StringIO()
    call_command("opendata", "--facilitator", "cellule-ouverte", stdout=out)
    assert parse(out.getvalue()) == EXPECTED
