"""The simulator's form: parses what a buyer types the French way; the calculation is `procurement.parameters.simulate`."""

from django import forms

from clausier.procurement.parameters import families
from clausier.reference.models import LotFamily
from clausier.www.kit.fields import (
    FrenchDecimalField,
    RateField,
    estimated_total_hours_field,
    months_field,
    transferred_monthly_hours_field,
)
from clausier.www.kit.mixins import DsfrFormMixin

METHODS = [
    ("formula", "Montant × part de main-d'œuvre × taux d'insertion ÷ coût horaire"),
    ("cleaning", "Propreté avec reprise du personnel"),
    ("percent", "Pourcentage des heures travaillées"),
]
FIELDS_OF = {
    "formula": ("family", "amount_ht", "labour_share", "insertion_rate", "hourly_cost"),
    "cleaning": ("amount_ht", "months", "transferred_monthly_hours", "insertion_rate", "hourly_cost"),
    "percent": ("estimated_total_hours", "insertion_rate"),
}


class SimulatorForm(DsfrFormMixin, forms.Form):
    method = forms.ChoiceField(
        label="Comment calculer ?", choices=METHODS, initial="formula", widget=forms.RadioSelect
    )
    family = forms.ModelChoiceField(
        LotFamily.objects.none(),
        label="Nature des travaux ou des prestations",
        required=False,
        to_field_name="code",
        empty_label="— Choisir —",
        error_messages={"invalid_choice": "Choix invalide : choisissez une nature dans la liste."},
    )
    amount_ht = FrenchDecimalField(
        label="Montant du marché HT (€)",
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="En euros hors taxes, ex. : 1 000 000. En propreté : le chiffre d'affaires du marché (A).",
    )
    labour_share = RateField(label="Part de main-d'œuvre", required=False)
    insertion_rate = RateField(label="Taux d'insertion", required=False)
    hourly_cost = FrenchDecimalField(
        label="Coût horaire (€)", required=False, min_value=0, max_digits=8, decimal_places=2
    )
    months = months_field()
    transferred_monthly_hours = transferred_monthly_hours_field()
    estimated_total_hours = estimated_total_hours_field()

    def __init__(self, *args, parameters, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].queryset = families()
        self.fields["family"].help_text = (
            "Elle donne la part de main-d'œuvre habituelle : "
            + ", ".join(f"{row.family.label.lower()} {row.share * 100:.0f} %" for row in parameters.shares)
            + "."
        )
        self.fields[
            "labour_share"
        ].help_text = "Vide : la part de la nature choisie. En pourcentage, ex. : 50 %."
        self.fields[
            "insertion_rate"
        ].help_text = f"Le plus souvent entre 5 et 10 %, ex. : {parameters.insertion_rate * 100:.0f} %."
        self.fields["hourly_cost"].help_text = (
            f"Vide : {parameters.hourly_cost:.0f} € de l'heure (calcul au montant), "
            f"{parameters.cleaning_hourly_cost:.0f} € en propreté (C)."
        )

    def values(self) -> dict:
        data = self.cleaned_data
        return {name: data.get(name) for name in FIELDS_OF.get(data.get("method"), ())}
