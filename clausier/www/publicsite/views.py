"""Public pages (no login, GET only, never write): the cellules of the instance, each cellule's home with its
live figures, its documentation space, and the simulator "Simulateur d'heures d'insertion"."""

from decimal import Decimal

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from clausier.organizations.models import FacilitatorSettings, Organization
from clausier.procurement.parameters import platform_parameters, simulate, sizing_parameters
from clausier.publicsite.actions import profile_of
from clausier.publicsite.figures import cached_on_data, public_figures, published_cellules
from clausier.publicsite.models import Audience, Partner, PublicDocument
from clausier.reporting.charts import Point, bar_chart
from clausier.reporting.opendata import COLUMNS as OPENDATA_COLUMNS
from clausier.reporting.opendata import opendata_csv
from clausier.www.publicsite.forms import SimulatorForm

TITLE = "Simulateur d'heures d'insertion"
FTE_HOURS = 1600
# What each step of the calculation means, in plain words (same order as the steps of `sizing`).
EXPLANATIONS = {
    "formula": [
        "Le point de départ est le prix du marché, hors taxes.",
        "Une partie seulement de ce prix paie des salaires : c'est la part de main-d'œuvre, qui dépend de "
        "la nature des travaux (la peinture en demande plus que la charpente métallique).",
        "Sur ces salaires, on réserve un pourcentage à des personnes éloignées de l'emploi : c'est le taux "
        "d'insertion, le plus souvent entre 5 et 10 %.",
        "On convertit ce montant en heures de travail en le divisant par le coût d'une heure de travail "
        "(salaire et charges). On arrondit à l'heure inférieure.",
    ],
    "cleaning": [
        "Le chiffre d'affaires du marché, réparti sur sa durée, donne ce que le marché rapporte chaque mois.",
        "Dans la propreté, l'entreprise reprend le personnel de l'ancien titulaire : ces heures déjà "
        "occupées coûtent chaque mois S heures × C euros.",
        "Ce qui reste du chiffre d'affaires mensuel, en proportion (P), peut aller à de nouvelles embauches. "
        "Si le personnel repris occupe tout le marché, P vaut 0 et aucune clause n'est possible.",
        "Les heures d'insertion sont le taux T appliqué aux heures correspondant à cette part disponible. "
        "On arrondit à l'heure inférieure.",
    ],
    "percent": [
        "On part du nombre total d'heures de travail que le marché demandera, estimé avec l'entreprise ou le maître d'œuvre.",
        "On en réserve un pourcentage à des personnes en insertion. On arrondit à l'heure inférieure.",
    ],
}


class SimulatorView(TemplateView):
    template_name = "publicsite/simulator.html"
    partial_template_name = "publicsite/_result.html"
    http_method_names = ["get", "head"]
    facilitator = None

    def get_parameters(self):
        return platform_parameters()

    def get_template_names(self):
        return [self.partial_template_name if self.request.htmx else self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        parameters = self.get_parameters()
        submitted = any(name in self.request.GET for name in SimulatorForm.base_fields)
        form = SimulatorForm(self.request.GET if submitted else None, parameters=parameters)
        result, problems = None, []
        if submitted and form.is_valid():
            try:
                result = simulate(parameters, method=form.cleaned_data["method"], **form.values())
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for name, errors in error.error_dict.items():
                        for message in (m for e in errors for m in e.messages):
                            form.add_error(name, message)
                else:
                    problems = error.messages
        if submitted and form.errors:
            problems = [
                f"{form.fields[name].label if name in form.fields else 'Calcul'} : {message}"
                for name, messages in form.errors.items()
                for message in messages
            ]
        steps = []
        if result is not None:
            explanations = EXPLANATIONS.get(result.method, [])
            steps = [
                (step, explanations[i] if i < len(explanations) else "")
                for i, step in enumerate(result.steps)
            ]
        context.update(
            title=TITLE,
            steps=steps,
            fte=round(result.hours / FTE_HOURS, 1) if result is not None else None,
            fte_hours=FTE_HOURS,
            form=form,
            parameters=parameters,
            facilitator=self.facilitator,
            result=result,
            problems=problems,
            submitted=submitted,
        )
        return context


class FacilitatorSimulatorView(SimulatorView):
    def get(self, request, *args, **kwargs):
        self.facilitator = public_facilitator_or_404(kwargs["slug"])
        return super().get(request, *args, **kwargs)

    def get_parameters(self):
        return sizing_parameters(self.facilitator)


# The cellule's public pages ---------------------------------------------------------------------------------


def public_facilitator_or_404(slug: str) -> Organization:
    return get_object_or_404(published_cellules(), slug=slug)


def cellules_with_territory() -> list[tuple[Organization, str]]:
    """(facilitator, territory) of every published cellule, by name; one query."""
    cellules = published_cellules().select_related("settings").order_by("name")
    return [(cellule, territory_of(cellule)) for cellule in cellules]


class CelluleListView(TemplateView):
    """The cellules clauses hosted on this instance."""

    template_name = "publicsite/cellule_list.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title="Les cellules clauses", cellules=cellules_with_territory())
        return context


class WelcomeView(TemplateView):
    """`/` for a visitor who is not signed in: what Clausier is, the public sites of the cellules hosted (or,
    when there is one, its headline figures — the figures of its public page), the sign-in button.

    Queries: the cellules (one), and for a single cellule its cached figures — whatever the number of cellules.
    """

    template_name = "publicsite/welcome.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cellules = cellules_with_territory()
        single, territory = cellules[0] if len(cellules) == 1 else (None, "")
        context.update(
            title="Accueil",
            cellules=cellules,
            single=single,
            territory=territory,
            figures=public_figures(single) if single else None,
        )
        return context


def territory_of(facilitator) -> str:
    try:
        return facilitator.settings.territory_label
    except FacilitatorSettings.DoesNotExist:
        return ""


class CelluleMixin:
    http_method_names = ["get", "head"]
    section = ""

    def get(self, request, *args, **kwargs):
        self.facilitator = public_facilitator_or_404(kwargs["slug"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            facilitator=self.facilitator, territory=territory_of(self.facilitator), section=self.section
        )
        return context


class CelluleHomeView(CelluleMixin, TemplateView):
    template_name = "publicsite/home.html"
    section = "home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        figures = public_figures(self.facilitator)
        chart_title = "Évolution par an du nombre de bénéficiaires" + (
            f" depuis {figures.first_year}" if figures.first_year else ""
        )
        context.update(
            title=self.facilitator.name,
            profile=profile_of(self.facilitator),
            figures=figures,
            chart_title=chart_title,
            chart=bar_chart(
                [Point(str(year), Decimal(count)) for year, count in figures.per_year],
                title=chart_title,
                description="Nombre de personnes distinctes ayant travaillé au moins un jour de l'année "
                "dans le cadre d'une clause sociale, par année (détail dans le tableau qui suit).",
            )
            if figures.per_year
            else None,
            partners=Partner.objects.filter(facilitator=self.facilitator),
            has_documents=PublicDocument.objects.filter(facilitator=self.facilitator).exists(),
            opendata_columns=OPENDATA_COLUMNS,
        )
        return context


class DocumentationView(CelluleMixin, TemplateView):
    template_name = "publicsite/documentation.html"
    section = "documentation"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        documents = list(PublicDocument.objects.filter(facilitator=self.facilitator))
        context.update(
            title=f"Espace documentation — {self.facilitator.name}",
            model_clauses=[d for d in documents if d.is_model_clause],
            audiences=[
                (value, label, [d for d in documents if d.audience == value])
                for value, label in Audience.choices
            ],
        )
        return context


def _stored_file_response(field_file, *, content_type: str, filename: str, as_attachment: bool):
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404("Fichier introuvable.") from error
    response = FileResponse(handle, content_type=content_type, as_attachment=as_attachment, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_not_required
@require_safe
def document_download(request, slug, uuid):
    facilitator = public_facilitator_or_404(slug)
    document = get_object_or_404(PublicDocument, facilitator=facilitator, uuid=uuid)
    return _stored_file_response(
        document.file,
        content_type=document.content_type,
        filename=document.original_name,
        as_attachment=True,
    )


@login_not_required
@require_safe
def partner_logo(request, slug, uuid):
    facilitator = public_facilitator_or_404(slug)
    partner = get_object_or_404(Partner, facilitator=facilitator, uuid=uuid)
    if not partner.logo:
        raise Http404("Ce partenaire n'a pas de logo.")
    extension = "png" if partner.logo_content_type == "image/png" else "jpg"
    return _stored_file_response(
        partner.logo,
        content_type=partner.logo_content_type,
        filename=f"logo.{extension}",
        as_attachment=False,
    )


@login_not_required
@require_safe
def opendata_communes(request, slug):
    """The open data file: participants, contracts and hours by year and commune of residence (CSV, the
    statistical secret applied; schema on the cellule's home page and in docs/opendata.md). Cached like the
    live figures: recomputed when the facilitator's data change, or the next day."""
    facilitator = public_facilitator_or_404(slug)
    day = timezone.localdate()
    text = cached_on_data(
        facilitator, "publicsite:opendata", lambda: opendata_csv(facilitator, today=day), day=day
    )
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{slug}-beneficiaires-par-commune.csv"'
    schema = request.build_absolute_uri(reverse("public:home", kwargs={"slug": slug}) + "#donnees-ouvertes")
    response["Link"] = f'<{schema}>; rel="describedby"'
    return response
