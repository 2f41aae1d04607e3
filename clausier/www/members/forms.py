"""Forms of the members area (invitations, roles) and of « Mes notifications ». They parse; actions write."""

from django import forms

from clausier.notifications.models import AUDIENCE, Category
from clausier.organizations.models import Role
from clausier.www.kit.mixins import DsfrFormMixin


class InvitationForm(DsfrFormMixin, forms.Form):
    email = forms.EmailField(
        label="Adresse e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label="Rôle", choices=Role.choices, initial=Role.MEMBER, widget=forms.RadioSelect
    )

    def __init__(self, *args, days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = f"La personne reçoit un lien à usage unique, valable {days} jours."
        self.fields["role"].help_text = (
            "Un administrateur invite, change les rôles et désactive les membres ; un membre travaille "
            "dans l'organisation."
        )


class RoleForm(DsfrFormMixin, forms.Form):
    role = forms.ChoiceField(label="Rôle", choices=Role.choices, widget=forms.RadioSelect)


class ConfirmForm(DsfrFormMixin, forms.Form):
    """A confirmation page: the button is the confirmation (nothing to fill in)."""


class NotificationPreferencesForm(DsfrFormMixin, forms.Form):
    """One checkbox per category that concerns the user's organizations (all of them if it has none)."""

    def __init__(self, *args, kinds=frozenset(), enabled=None, **kwargs):
        super().__init__(*args, **kwargs)
        enabled = enabled or {}
        self.categories = [
            category for category in Category if not kinds or AUDIENCE[category][0] & set(kinds)
        ]
        for category in self.categories:
            self.fields[category.value] = forms.BooleanField(
                label=category.label,
                help_text=AUDIENCE[category][1],
                required=False,
                initial=enabled.get(category.value, True),
            )

    def choices(self) -> dict:
        return {category.value: self.cleaned_data[category.value] for category in self.categories}
