"""Bilans: the small-cell rule, the layout, the PDF (it opens and carries its charts) and the XLSX (typed cells)."""

import io

import pytest
from python_calamine import CalamineWorkbook

from clausier.reporting.bilans import MASKED, build_bilan, mask
from clausier.reporting.filters import IndicatorFilter
from clausier.reporting.pdf import render_pdf
from clausier.reporting.xlsx import render_xlsx
from tests.pdf import pdf_pages, pdf_text
from tests.reporting.test_breakdowns import TODAY, build

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "public", "expected"),
    [(0, True, 0), (1, True, MASKED), (4, True, MASKED), (5, True, 5), (120, True, 120), (3, False, 3)],
)
def test_small_cell_rule(value, public, expected):
    assert mask(value, public) == expected


@pytest.fixture
def t():
    from tests.factories import FacilitatorFactory

    return build(FacilitatorFactory(name="Cellule clause des bilans"))


def bilan(t, public, **kwargs):
    f = IndicatorFilter(t["fac"], **kwargs)
    return build_bilan(
        f, title="Bilan du donneur d'ordre B1", subject="Donneur d'ordre : B1", public=public, today=TODAY
    )


def figure(report, label):
    return dict(report.key_figures)[label].value


def test_staff_see_every_count_outsiders_get_the_small_cells_hidden(t):
    staff = bilan(t, public=False, buyer_id=t["b1"].pk)
    assert figure(staff, "Bénéficiaires (sans double compte)") == 3
    assert figure(staff, "Contrats") == 3
    assert figure(staff, "Heures réalisées") == 610  # hours are never hidden

    public = bilan(t, public=True, buyer_id=t["b1"].pk)
    assert figure(public, "Bénéficiaires (sans double compte)") == MASKED
    assert figure(public, "Contrats") == MASKED
    assert figure(public, "Heures réalisées") == 610
    for table in public.tables:
        for row in table.rows:
            for cell, (_, kind) in zip(row, table.columns, strict=True):
                if kind == "people":
                    assert cell.value == MASKED or cell.value == 0 or cell.value >= 5, (table.title, row)
    years = {row[0].value: [c.value for c in row[1:]] for row in public.tables[0].rows}
    assert years == {2023: [MASKED, MASKED, 310], 2024: [MASKED, MASKED, 200], 2025: [MASKED, MASKED, 100]}


def test_layout_has_charts_with_their_tables(t):
    report = bilan(t, public=False)
    titles = [chart.title for chart in report.charts]
    assert titles[0] == "Évolution par an du nombre de bénéficiaires depuis 2023"
    assert all(chart.svg.startswith("<svg") for chart in report.charts)
    assert report.charts[0].table.title == "Évolution par an"
    assert [t.slug for t in report.tables] == [
        "annees",
        "donneurs",
        "types",
        "modalites",
        "profils",
        "criteres",
        "communes",
        "sorties",
    ]


def test_bilans_outside_the_facilitator_have_no_eligibility_criteria(t):
    assert "criteres" not in [table.slug for table in bilan(t, public=True).tables]


def test_pdf_opens_and_contains_the_charts(t):
    report = bilan(t, public=True, buyer_id=t["b1"].pk)
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-1024:]
    assert pdf_pages(pdf) >= 3
    text = pdf_text(pdf)
    words = " ".join(text.split())
    assert "Bilan du donneur d'ordre B1" in text  # cover
    assert "Évolution par an du nombre de bénéficiaires depuis 2023" in text  # the charts' captions
    assert "Heures réalisées par an depuis 2023" in text
    # The hours chart itself, drawn in SVG: its axis ticks, then each year's bar with its value.
    assert "0 125 250 375 500 2023 310 2024 200 2025 100" in words
    assert "Méthode et définitions" in text
    assert "2023 < 5 < 5 310" in words  # small cells hidden in the tables (the row of the year 2023)


def test_xlsx_typed_cells_and_masked_counts(t):
    report = bilan(t, public=True, buyer_id=t["b1"].pk)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(render_xlsx(report)))
    names = workbook.sheet_names
    assert names[0] == "Synthèse" and names[-1] == "Méthode"
    summary = workbook.get_sheet_by_name("Synthèse").to_python()
    values = {row[0]: row[1] for row in summary[6:] if row and row[0]}
    assert values["Heures réalisées"] == 610.0  # a number, not text
    assert values["Heures prévues"] == 800.0
    assert values["Bénéficiaires (sans double compte)"] == "< 5"
    assert round(values["Taux de réalisation"], 4) == round(610 / 800, 4)
    years = workbook.get_sheet_by_name("Évolution par an").to_python()
    assert years[0] == ["Année", "Bénéficiaires", "Contrats", "Heures réalisées"]
    assert years[1][1:] == ["< 5", "< 5", 310.0]


def test_xlsx_for_staff_has_every_count(t):
    report = bilan(t, public=False)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(render_xlsx(report)))
    types = workbook.get_sheet_by_name("Contrats par type").to_python()
    counts = [row[1] for row in types[1:]]
    assert counts == [1.0] * 5  # five contract types, one contract each, as numbers
