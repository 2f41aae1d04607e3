"""The award of a lot to a company: chosen among the facilitator's partners, or created on the spot."""

from django import forms
from django.core.exceptions import ValidationError

from clausier.imports.values import siret_luhn_ok
from clausier.organizations.models import Company, Organization, OrganizationKind
from clausier.procurement.models import Award
from clausier.www.kit.fields import FrenchDateField, FrenchDecimalField, SiretField
from clausier.www.kit.mixins import DsfrFormMixin
from clausier.www.kit.widgets import QuickSelect


class CompanyChoiceField(forms.ModelChoiceField):
    """A partner company, its SIRET in the label: a select is searched by typing, by name or by SIRET."""

    widget = QuickSelect

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset, to_field_name="uuid", empty_label="— Choisir —", **kwargs)

    def label_from_instance(self, obj):
        return f"{obj.name} — SIRET {obj.siret}" if obj.siret else obj.name


class AwardForm(DsfrFormMixin, forms.Form):
    """Add an award (`award` None: the company is chosen or created) or change one (role, date, amount)."""

    company = CompanyChoiceField(Organization.objects.none(), label="Entreprise partenaire", required=False)
    new_name = forms.CharField(label="Raison sociale", max_length=255, required=False)
    new_siret = SiretField(label="SIRET", required=False)
    role = forms.ChoiceField(label="Rôle", choices=Award.AwardRole.choices, initial=Award.AwardRole.HOLDER)
    awarded_on = FrenchDateField(label="Date d'attribution", required=False)
    amount_ht = FrenchDecimalField(
        label="Montant HT attribué (€)",
        required=False,
        min_value=0,
        help_text="En euros HT, ex. : 250 000,00",
    )

    def __init__(self, *args, facilitator, lot, award=None, **kwargs):
        if award is not None:
            kwargs.setdefault(
                "initial", {"role": award.role, "awarded_on": award.awarded_on, "amount_ht": award.amount_ht}
            )
        super().__init__(*args, **kwargs)
        self.facilitator, self.lot, self.award = facilitator, lot, award
        if award is not None:
            for name in ("company", "new_name", "new_siret"):
                del self.fields[name]
            return
        self.fields["company"].queryset = Company.objects.partners_of(facilitator).order_by("name")
        self.fields["company"].help_text = (
            "Tapez les premières lettres de son nom. Vous avez son SIRET ? Saisissez-le ci-dessous : une "
            "entreprise déjà connue est reprise."
        )
        self.fields[
            "new_siret"
        ].help_text = (
            "14 chiffres, espaces acceptés. Une entreprise déjà connue sous ce SIRET est reprise, pas créée."
        )

    def clean_new_siret(self):
        siret = self.cleaned_data["new_siret"]
        if siret and not siret_luhn_ok(siret):
            raise ValidationError(
                "Ce SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez les 14 chiffres."
            )
        return siret

    def clean(self):
        data = super().clean()
        if self.award is not None:
            return data
        company, name, siret = data.get("company"), data.get("new_name"), data.get("new_siret")
        if "new_siret" in self.errors:
            return data
        if company and (name or siret):
            self.add_error(
                None,
                "Choisissez une entreprise partenaire ou décrivez une nouvelle entreprise, pas les deux.",
            )
        elif not company and not siret:
            if name:
                self.add_error("new_siret", "Le SIRET de la nouvelle entreprise est obligatoire.")
            else:
                self.add_error("company", "Choisissez l'entreprise attributaire, ou créez-la ci-dessous.")
        elif not company:
            # A SIRET already among the partners is that partner, whatever name was typed.
            data["company"] = Company.objects.partners_of(self.facilitator).filter(siret=siret).first()
            if (
                data["company"] is None
                and not name
                and not Organization.objects.filter(kind=OrganizationKind.COMPANY, siret=siret).exists()
            ):
                self.add_error(
                    "new_name", "Aucune entreprise connue sous ce SIRET : indiquez sa raison sociale."
                )
        company = data.get("company")
        role = data.get("role")
        if company and role and Award.objects.filter(lot=self.lot, company=company, role=role).exists():
            self.add_error("role", f"{company} est déjà {Award.AwardRole(role).label.lower()} de ce lot.")
        return data
