"""The directory of insertion structures (facilitator staff and companies) and the structures proposed to
companies.

Structures are those of the facilitator(s), typically imported from the SIAE file (import kind `structures`):
searchable by kind (ACI, AI, EI, ETTI, GEIQ, EA, ESAT…), activity (NAF code, or words of its label when the NAF
referential is loaded), commune or département, and text. A structure's page shows its contact, activity and
commune; there the facilitator's staff propose it to a company awarded a lot, for a mise à disposition or
subcontracting (`organizations.suggestions`), which the company then follows up from its space or the lot page.
"""

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from clausier.organizations.access import (
    directory_structures_visible_to,
    get_object_for_user_or_404,
    is_facilitator_staff,
)
from clausier.organizations.models import (
    OrganizationKind,
    StructureSuggestion,
    SuggestionModality,
)
from clausier.organizations.suggestions import (
    FOLLOW_UP_CHOICES,
    follow_up_suggestion,
    propose_structure,
    suggestions_for,
)
from clausier.procurement.models import Award
from clausier.reference.models import NafCode, OrganizationCategory
from clausier.www.kit.forms import UuidModelChoiceField
from clausier.www.kit.lists import Column, FilteredListView, ListFilterForm
from clausier.www.kit.mixins import DsfrFormMixin, FacilitatorStaffRequiredMixin
from clausier.www.spaces.views import KindRequiredMixin

K = OrganizationKind
DIRECTORY_KINDS = frozenset({K.FACILITATOR, K.COMPANY})
_NAF_CODE = re.compile(r"^(\d{2})(?:\.?(\d{1,2})([A-Za-z])?)?$")  # 43, 43.9, 43.99, 4399C, 43.99C
_DEPARTMENT = re.compile(r"^(\d{2,3}|2[AaBb])$")


def naf_prefix(text: str) -> str | None:
    """The stored form (« 43.99C ») of the beginning of a NAF code typed as 43, 4399, 43.99 or 4399c."""
    match = _NAF_CODE.match(text.strip().replace(" ", ""))
    if match is None:
        return None
    division, rest, letter = match.groups()
    if not rest:
        return division
    return f"{division}.{rest}{(letter or '').upper()}"


def directory(user):
    """The structures of the directory for `user`, with their NAF label (a correlated subquery: the NAF
    referential is optional and is not a foreign key)."""
    label = NafCode.objects.filter(code=OuterRef("naf_code")).values("label")[:1]
    return (
        directory_structures_visible_to(user)
        .select_related("category", "commune")
        .annotate(naf_label=Subquery(label))
    )


class DirectoryFilterForm(ListFilterForm):
    category = forms.ModelChoiceField(
        OrganizationCategory.objects.none(),
        label="Type de structure",
        required=False,
        empty_label="Tous",
        to_field_name="code",
    )
    activity = forms.CharField(
        label="Activité",
        required=False,
        max_length=100,
        help_text="Code NAF (43, 43.99C) ou mots du libellé",
    )
    place = forms.CharField(
        label="Commune ou département", required=False, max_length=100, help_text="Nom, code postal ou n°"
    )
    lookups = {"category": "category"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = OrganizationCategory.objects.active().filter(
            kind=K.INSERTION_STRUCTURE
        )

    def filter_activity(self, queryset, value):
        value = value.strip()
        prefix = naf_prefix(value)
        if prefix is not None:
            return queryset.filter(naf_code__startswith=prefix)
        words = value.split()[:6]
        labels = NafCode.objects.all()
        for word in words:
            labels = labels.filter(label__icontains=word)
        return queryset.filter(naf_code__in=labels.values("code"))

    def filter_place(self, queryset, value):
        value = value.strip()
        if _DEPARTMENT.match(value):
            department = value.upper()
            return queryset.filter(
                Q(commune__department_code=department)
                | Q(commune__isnull=True, postal_code__startswith=value)
            )
        if value.isdigit() and len(value) == 5:
            return queryset.filter(Q(postal_code=value) | Q(commune__insee_code=value))
        return queryset.filter(commune__name__icontains=value)


class DirectoryListView(KindRequiredMixin, FilteredListView):
    kinds = DIRECTORY_KINDS
    title = "Annuaire des structures d'insertion"
    table_template_name = "www/directory/_table.html"
    filter_form_class = DirectoryFilterForm
    search_fields = ("name", "siret", "address", "commune__name")
    search_placeholder = "Nom, SIRET, adresse"
    sort_fields = {
        "nom": ("name",),
        "type": ("category__label", "name"),
        "activite": ("naf_code", "name"),
        "commune": ("commune__name", "name"),
    }
    default_sort = "nom"
    columns = (
        Column("Nom", "nom", value="name"),
        Column("Type", "type", value="category"),
        Column("Activité", "activite", value=(("Code NAF", "naf_code"), ("Activité", "naf_label"))),
        Column("Commune", "commune", value=(("Commune", "commune.name"), ("Code postal", "postal_code"))),
        Column("Contact", value=(("E-mail", "email"), ("Téléphone", "phone"))),
    )

    def get_base_queryset(self):
        return directory(self.request.user)


def directory_structure_or_404(user, uuid):
    """A structure of `user`'s directory, or 404 (another facilitator's, or no directory for this user)."""
    structure = directory(user).filter(uuid=uuid).first()
    if structure is None:
        raise Http404("Structure inconnue.")
    return structure


class ProposeForm(DsfrFormMixin, forms.Form):
    award = UuidModelChoiceField(
        Award.objects.none(),
        label="Lot et entreprise attributaire",
        help_text="Les lots avec une clause d'insertion et leurs attributaires.",
    )
    modality = forms.ChoiceField(label="Modalité", choices=SuggestionModality.choices)
    note = forms.CharField(
        label="Message à l'entreprise",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["award"]
        field.queryset = (
            Award.objects.visible_to(user)
            .filter(lot__clause__isnull=False)
            .select_related("lot__market", "company")
            .order_by("lot__market__reference", "lot__number", "company__name")
        )
        field.label_from_instance = lambda a: (
            f"{a.lot.market.reference} — lot {a.lot.number} {a.lot.title} : {a.company.name}"
        )


class DirectoryStructureView(KindRequiredMixin, View):
    """A structure of the directory: contact, activity, commune; for the staff, the form proposing it to a
    company and the proposals made; for a company, those made to it."""

    kinds = DIRECTORY_KINDS
    http_method_names = ["get"]
    template_name = "www/directory/detail.html"

    def render(self, structure, form=None, status=200):
        user = self.request.user
        staff = is_facilitator_staff(user)
        if staff and form is None:
            form = ProposeForm(user=user)
        suggestions = suggestions_for(
            StructureSuggestion.objects.visible_to(user).filter(structure=structure)
        )
        context = {
            "title": structure.name,
            "object": structure,
            "is_staff_view": staff,
            "form": form,
            "suggestions": list(suggestions[:100]),
            "follow_ups_choices": FOLLOW_UP_CHOICES,
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def get(self, request, uuid):
        return self.render(directory_structure_or_404(request.user, uuid))


class ProposeStructureView(FacilitatorStaffRequiredMixin, View):
    """POST: propose the structure to a company for a lot (audited); GET: back to the structure's page."""

    def get(self, request, uuid):
        structure = directory_structure_or_404(request.user, uuid)
        return redirect("www:directory_structure", uuid=structure.uuid)

    def post(self, request, uuid):
        structure = directory_structure_or_404(request.user, uuid)
        form = ProposeForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                suggestion = propose_structure(
                    award=form.cleaned_data["award"],
                    structure=structure,
                    modality=form.cleaned_data["modality"],
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(
                    request,
                    f"{structure.name} est proposée à {suggestion.company.name} pour le lot "
                    f"{suggestion.lot.number} ({suggestion.get_modality_display().lower()}).",
                )
                return redirect("www:directory_structure", uuid=structure.uuid)
        view = DirectoryStructureView()
        view.setup(request, uuid=uuid)
        return view.render(structure, form=form, status=422)


class SuggestionStatusView(View):
    """POST: what came of a proposal (the company it was made to, or the facilitator's staff); GET: back to the
    lot page. `suivant`: the page to go back to (on this site)."""

    def get_suggestion(self):
        return get_object_for_user_or_404(
            StructureSuggestion.objects.select_related("lot", "company"),
            self.request.user,
            uuid=self.kwargs["uuid"],
        )

    def next_url(self, suggestion):
        target = self.request.POST.get("suivant", "")
        if target and url_has_allowed_host_and_scheme(target, {self.request.get_host()}, require_https=False):
            return target
        return reverse("www:lot_detail", kwargs={"uuid": suggestion.lot.uuid})

    def get(self, request, uuid):
        return redirect("www:lot_detail", uuid=self.get_suggestion().lot.uuid)

    def post(self, request, uuid):
        suggestion = self.get_suggestion()
        try:
            suggestion = follow_up_suggestion(
                suggestion=suggestion, status=request.POST.get("suite", ""), by=request.user
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request, f"Proposition de {suggestion.structure} : {suggestion.get_status_display().lower()}."
            )
        return redirect(self.next_url(suggestion))
