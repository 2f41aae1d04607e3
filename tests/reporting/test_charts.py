from decimal import Decimal
from xml.etree import ElementTree

from clausier.reporting.charts import Point, _nice_max, bar_chart, line_chart


def test_bar_chart_is_valid_svg_with_title_and_one_bar_per_point():
    svg = bar_chart(
        [Point("2012", Decimal(10)), Point("2013", Decimal(25)), Point("<script>", Decimal(0))],
        title="Bénéficiaires par an",
        description="Nombre de bénéficiaires",
    )
    root = ElementTree.fromstring(svg)  # well-formed, labels escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Bénéficiaires par an"
    assert len(root.findall(f"{ns}rect")) == 3
    assert "&lt;script&gt;" in svg


def test_line_chart_with_target_and_projection():
    svg = line_chart(
        [Point("01/2026", Decimal(100)), Point("02/2026", Decimal(250))],
        title="Heures cumulées",
        description="Heures réalisées cumulées par mois",
        target=Decimal(1000),
        projection=("12/2026", Decimal(900)),
    )
    ElementTree.fromstring(svg)
    assert "Objectif 1\u202f000 h" in svg and "Projection 12/2026 : 900 h" in svg


def test_nice_max():
    assert _nice_max(Decimal(833)) == 1000
    assert _nice_max(Decimal(1983)) == 2000
    assert _nice_max(Decimal(210)) == 250
    assert _nice_max(Decimal(0)) == 1


def test_small_counts_get_distinct_axis_labels():
    svg = bar_chart([Point("2023", Decimal(2)), Point("2024", Decimal(1))], title="t", description="d")
    labels = [t.text for t in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")][:5]
    assert labels == ["0", "1", "2", "3", "4"]
