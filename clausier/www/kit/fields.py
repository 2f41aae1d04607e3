"""Form fields that read what people type in France: "1 000 000,50 €", "1 600", "5,5 %", "31/12/2025",
"123 456 789 00012", "Toulouse (31555)"."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from clausier.geo.models import Commune
from clausier.utils.formatting import fr_number
from clausier.www.kit.widgets import DsfrDateInput, PercentInput

SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _compact(value: str) -> str:
    return SPACES.sub("", str(value)).replace("€", "").replace(",", ".")


class FrenchDateField(forms.DateField):
    """A date, entered with the DSFR date input (the browser's calendar, which posts yyyy-mm-dd); dd/mm/yyyy
    typed by hand (a browser without a calendar, a script, an import) is read too."""

    widget = DsfrDateInput


class FrenchDecimalField(forms.DecimalField):
    """A decimal typed the French way: spaces as thousands separators, a comma, an optional €."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.pop("localize", None)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.pop("step", None)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = _compact(value)
        if value == "":
            return None
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if not number.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number

    def widget_attrs(self, widget):
        return {}

    def prepare_value(self, value):
        if isinstance(value, Decimal | int):
            return fr_number(value, decimals=None, grouping=False)
        return value


class FrenchIntegerField(forms.IntegerField):
    """A whole number typed the French way: "1 600", with a (narrow) no-break space or not."""

    def to_python(self, value):
        if isinstance(value, str):
            value = SPACES.sub("", value)
        return super().to_python(value)


class RateField(FrenchDecimalField):
    """A rate stored as a fraction (0.055), typed and shown as a percentage: "5", "5 %" and "5,5" are 5 % and
    5,5 %.

    One reading only, the one the "%" beside the input announces: "0,05" is 0,05 %, never 5 %. Two decimals at
    most (the column keeps four for the fraction): more is refused rather than silently rounded.
    """

    widget = PercentInput
    default_error_messages = {
        "invalid": "Saisissez un pourcentage, ex. : 5 ou 5,5.",
        "range": "Le taux doit être compris entre 0 et 100 %.",
        "precision": "Un pourcentage a au plus deux décimales, ex. : 5,25.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Ex. : 5 ou 5,5.")
        super().__init__(**kwargs)
        if self.label and not self.label.endswith("(%)"):
            self.label = f"{self.label} (%)"

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = super().to_python(str(value).strip().removesuffix("%"))
        if number is None:
            return None
        if number < 0 or number > 100:
            raise ValidationError(self.error_messages["range"], code="range")
        if number != number.quantize(Decimal("0.01")):
            raise ValidationError(self.error_messages["precision"], code="precision")
        return (number / 100).quantize(Decimal("0.0001"))

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return fr_number(value * 100, decimals=None, grouping=False)
        return value


class SiretField(forms.CharField):
    """A SIRET: 14 digits; spaces and dots typed in are dropped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", "14 chiffres, espaces acceptés.")
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return SPACES.sub("", value).replace(".", "")

    def validate(self, value):
        super().validate(value)
        if value and not re.fullmatch(r"\d{14}", value):
            raise ValidationError("Le SIRET doit compter exactement 14 chiffres.", code="invalid_siret")


class CommuneField(forms.ModelChoiceField):
    """A commune typed as its INSEE code, as "Nom (code)" or as its exact name."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Commune.objects.all())
        kwargs.setdefault("help_text", "Code INSEE (ex. : 31555) ou nom de la commune.")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("placeholder", "31555 ou Toulouse")

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        match = re.search(r"\(?\b(\d[0-9AB]\d{3})\)?\s*$", text, flags=re.IGNORECASE)
        if match:
            commune = self.queryset.filter(insee_code=match.group(1).upper()).first()
            if commune is None:
                raise ValidationError("Aucune commune ne porte ce code INSEE.", code="invalid_choice")
            return commune
        communes = list(self.queryset.filter(name__iexact=text)[:2])
        if not communes:
            raise ValidationError("Commune inconnue : saisissez son code INSEE.", code="invalid_choice")
        if len(communes) > 1:
            raise ValidationError(
                "Plusieurs communes portent ce nom : saisissez son code INSEE.", code="invalid_choice"
            )
        return communes[0]

    def prepare_value(self, value):
        if isinstance(value, Commune):
            return f"{value.name} ({value.insee_code})"
        if isinstance(value, str) and re.fullmatch(r"\d[0-9AB]\d{3}", value):
            commune = self.queryset.filter(insee_code=value).first()
            return f"{commune.name} ({commune.insee_code})" if commune else value
        return value


# Sizing inputs shared by the clause form and the public simulator (each call gives a new field).


def months_field():
    return forms.IntegerField(label="Durée du marché en mois (N)", required=False, min_value=1, max_value=600)


def transferred_monthly_hours_field():
    return FrenchDecimalField(
        label="Heures mensuelles du personnel repris (S)",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Total des heures par mois des salariés repris de l'ancien titulaire.",
    )


def estimated_total_hours_field():
    return FrenchDecimalField(
        label="Heures travaillées estimées sur le marché",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
    )
