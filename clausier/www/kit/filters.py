"""Field builders of the list pages' filter forms, shared by several areas (the forms are in their areas)."""

from django import forms

from clausier.www.kit.lists import year_choices


def year_field(label="Année"):
    return forms.TypedChoiceField(
        label=label, required=False, choices=year_choices, coerce=int, empty_value=None
    )
