"""Forms of the staff area of the public site; the checks of uploaded files are `uploads.check_*`."""

from django import forms

from clausier.publicsite.models import Audience
from clausier.publicsite.uploads import DOCUMENT_MAX_BYTES, LOGO_MAX_BYTES, MB, check_document, check_logo
from clausier.www.kit.mixins import DsfrFormMixin

PLAIN_TEXT_HELP = (
    "Texte simple : séparez les paragraphes par une ligne vide. Pas de mise en forme ni de HTML."
)


class PublicTextsForm(DsfrFormMixin, forms.Form):
    role_text = forms.CharField(
        label="Rôle et missions",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=PLAIN_TEXT_HELP,
    )
    history_text = forms.CharField(
        label="Historique",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=PLAIN_TEXT_HELP,
    )


class DocumentForm(DsfrFormMixin, forms.Form):
    title = forms.CharField(label="Titre", max_length=200)
    audience = forms.ChoiceField(label="Public concerné", choices=Audience.choices)
    description = forms.CharField(
        label="Description", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    is_model_clause = forms.BooleanField(
        label="Texte de clause type",
        required=False,
        help_text="Un modèle de clause que les donneurs d'ordre reprennent dans leurs marchés.",
    )
    file = forms.FileField(
        label="Fichier",
        help_text=f"PDF, DOCX, ODT ou XLSX, {DOCUMENT_MAX_BYTES // MB} Mo au plus.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.odt,.xlsx"}),
    )

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["file"].required = False
            self.fields["file"].help_text += " Laissez vide pour garder le fichier actuel."
            self.fields["file"].widget = forms.FileInput(attrs={"accept": ".pdf,.docx,.odt,.xlsx"})

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        return check_document(upload) if upload else None


class PartnerForm(DsfrFormMixin, forms.Form):
    name = forms.CharField(label="Nom", max_length=200)
    url = forms.URLField(
        label="Lien", required=False, assume_scheme="https", help_text="Adresse du site, ex. : https://…"
    )
    order = forms.IntegerField(
        label="Ordre d'affichage",
        min_value=0,
        max_value=32767,
        initial=0,
        help_text="Les partenaires s'affichent du plus petit numéro au plus grand.",
    )
    logo = forms.FileField(
        label="Logo",
        required=False,
        help_text=f"Image PNG ou JPEG, {LOGO_MAX_BYTES // MB} Mo au plus (le SVG n'est pas accepté).",
        widget=forms.FileInput(attrs={"accept": ".png,.jpg,.jpeg"}),
    )
    remove_logo = forms.BooleanField(label="Retirer le logo actuel", required=False)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["remove_logo"]

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        return check_logo(upload) if upload else None


class ConfirmDeleteForm(DsfrFormMixin, forms.Form):
    confirm = forms.BooleanField(label="Je confirme la suppression", required=True)
