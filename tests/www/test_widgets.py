"""QuickSelect writes exactly the HTML of Django's Select, faster."""

import datetime
import re

from django import forms
from hypothesis import given
from hypothesis import strategies as st

from clausier.www.kit.fields import FrenchDateField
from clausier.www.kit.widgets import DsfrDateInput, PercentInput, QuickSelect


def _same(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


CHOICES = [
    ("", "Tous"),
    ("a", "Ville de Toulouse"),
    ("b", 'Toulouse Métropole Habitat <&> "OPH"'),
    (3, "Trois"),
]


def test_same_html_as_django_select_with_selection_attrs_and_escaping():
    attrs = {"class": "fr-select", "id": "id_donneur", "aria-describedby": "x"}
    for value in ("", "b", 3, None):
        expected = forms.Select(choices=CHOICES).render("donneur", value, attrs=attrs)
        assert _same(QuickSelect(choices=CHOICES).render("donneur", value, attrs=attrs)) == _same(expected)
    assert "&lt;&amp;&gt; &quot;OPH&quot;" in QuickSelect(choices=CHOICES).render("d", None)


def test_same_html_with_option_groups():
    grouped = [
        ("", "—"),
        ("Travaux", [("1", "Gros œuvre"), ("2", "Peinture")]),
        ("Propreté", [("3", "Ménage")]),
    ]
    for value in ("2", "3", ""):
        expected = forms.Select(choices=grouped).render("lot", value)
        assert _same(QuickSelect(choices=grouped).render("lot", value)) == _same(expected)


@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=12)), max_size=8),
    st.text(max_size=8),
)
def test_same_html_for_any_choices(choices, value):
    expected = forms.Select(choices=choices).render("f", value)
    assert _same(QuickSelect(choices=choices).render("f", value)) == _same(expected)


class _QuickMultiple(QuickSelect, forms.SelectMultiple):
    pass


def test_same_html_as_django_select_multiple():
    for value in (["a", "3"], [], None, ["b"]):
        expected = forms.SelectMultiple(choices=CHOICES).render("f", value, attrs={"id": "id_f"})
        assert _same(_QuickMultiple(choices=CHOICES).render("f", value, attrs={"id": "id_f"})) == _same(
            expected
        )


# --- DSFR date input, percent input ------------------------------------------------------------------------


def test_the_dsfr_date_input_writes_iso_dates():
    widget = DsfrDateInput(attrs={"class": "fr-input"})
    html = widget.render("start_date", datetime.date(2024, 3, 5))
    assert html == '<input type="date" name="start_date" value="2024-03-05" class="fr-input">'
    assert 'value="2024-03-05"' in widget.render("d", "05/03/2024")  # typed the French way, posted back
    assert 'value="2024-03-05"' in widget.render("d", " 5/3/2024 ")
    assert 'value="31/02/2024"' in widget.render("d", "31/02/2024")  # impossible: left as typed
    assert 'value="&lt;b&gt;"' in widget.render("d", "<b>")
    assert 'value="' not in widget.render("d", None)


def test_the_dsfr_date_field_reads_french_and_iso_dates():
    field = FrenchDateField(required=False)
    assert field.clean("15/03/2024") == field.clean("2024-03-15") == datetime.date(2024, 3, 15)
    assert field.help_text == ""


def test_the_percent_input_shows_its_unit_and_escapes_the_value():
    html = PercentInput().render("rate", '5" onfocus="x')
    assert html.startswith('<div class="cl-suffixed"><input type="text" name="rate" value="5&quot; onfocus')
    assert html.endswith('<span class="cl-suffixed__unit" aria-hidden="true">%</span></div>')
