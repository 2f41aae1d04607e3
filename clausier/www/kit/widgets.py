"""Widgets of the UI."""

import datetime
import re

from django import forms
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe


def _attrs(attrs: dict) -> str:
    """Attributes as Django's `attrs.html` writes them: in order, `True` bare, `False` left out."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value)),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class QuickSelect(forms.Select):
    """The same `<select>` as Django's, its options written in Python instead of one template per option.

    Django renders every option through a template include (about 0.15 ms each), after building a dict per
    option: a territory's filters list hundreds of markets, operations and companies, and that was most of
    the dashboard's time at scale. Here each option is one escaped string (checked against Django's output by
    `tests/www/test_widgets.py`).
    """

    def render(self, name, value, attrs=None, renderer=None):
        final_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        chosen = set(self.format_value(value))
        has_selected = False  # a single select marks its first matching option only, as Django's

        def option(option_value, label) -> str:
            nonlocal has_selected
            option_value = "" if option_value is None else str(option_value)
            selected = (self.allow_multiple_selected or not has_selected) and option_value in chosen
            has_selected |= selected
            return f'<option value="{escape(option_value)}"{" selected" if selected else ""}>{escape(label)}</option>'

        parts = []
        for option_value, label in self.choices:
            if isinstance(label, (list, tuple)):  # an optgroup
                inner = "".join(option(v, sub) for v, sub in label)
                parts.append(f'<optgroup label="{escape(option_value)}">{inner}</optgroup>')
            else:
                parts.append(option(option_value, label))
        return format_html(
            '<select name="{}"{}>{}</select>', name, _attrs(final_attrs), mark_safe("".join(parts))
        )


class SuffixedInput(forms.TextInput):
    """A text input with its unit written just after it ("%"). The unit is decorative (`aria-hidden`): the
    field's label names it for screen readers."""

    suffix = ""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html(
            '<div class="cl-suffixed">{}<span class="cl-suffixed__unit" aria-hidden="true">{}</span></div>',
            super().render(name, value, attrs, renderer),
            self.suffix,
        )


class PercentInput(SuffixedInput):
    suffix = "%"


FRENCH_DATE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*")


class DsfrDateInput(forms.DateInput):
    """The DSFR date input: `type="date"` (the browser's calendar; it posts yyyy-mm-dd), its value in ISO.

    A rejected form writes back what was posted: a French date typed by hand (a browser without a calendar, a
    script) is turned into ISO, or the input would show it empty.
    """

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")

    def format_value(self, value):
        if isinstance(value, str):
            match = FRENCH_DATE.fullmatch(value)
            if match:
                day, month, year = (int(part) for part in match.groups())
                try:
                    return datetime.date(year, month, day).isoformat()
                except ValueError:
                    return value
            return value
        return super().format_value(value)
