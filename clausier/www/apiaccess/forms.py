"""Forms of the API access area: they parse; `clausier.accounts.api_tokens` decides and writes."""

import datetime

from django import forms
from django.utils import timezone

from clausier.accounts.api_tokens import MAX_LIFETIME_DAYS
from clausier.www.kit.fields import FrenchDateField
from clausier.www.kit.mixins import DsfrFormMixin

DEFAULT_LIFETIME_DAYS = 90


class TokenForm(DsfrFormMixin, forms.Form):
    name = forms.CharField(
        label="Nom du jeton",
        max_length=80,
        help_text="Pour le reconnaître dans la liste, ex. : Logiciel de paie, Tableau de bord BI.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        label="Droits",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choisissez au moins un droit."},
    )
    expires_on = FrenchDateField(label="Date d'expiration")

    def __init__(self, *args, scopes, **kwargs):
        """`scopes`: the `ApiScope`s the organization may give (`api_tokens.scopes_for`)."""
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(scope.value, scope.label) for scope in scopes]
        self.fields[
            "scopes"
        ].help_text = "Le jeton agit avec vos droits dans l'organisation, limités à ceux cochés ici."
        today = timezone.localdate()
        self.fields["expires_on"].initial = today + datetime.timedelta(days=DEFAULT_LIFETIME_DAYS)
        self.fields[
            "expires_on"
        ].help_text = (
            f"Au plus tard dans {MAX_LIFETIME_DAYS} jours ; le jeton ne fonctionne plus après cette date."
        )
        self.fields["expires_on"].widget.attrs.update(
            {
                "min": (today + datetime.timedelta(days=1)).isoformat(),
                "max": (today + datetime.timedelta(days=MAX_LIFETIME_DAYS)).isoformat(),
            }
        )


class ConfirmForm(DsfrFormMixin, forms.Form):
    """A confirmation page: the button is the confirmation (nothing to fill in)."""
