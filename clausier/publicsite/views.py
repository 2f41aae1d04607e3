"""The public simulator "Simulateur d'heures d'insertion": GET only, no login, never writes."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from clausier.organizations.models import Organization, OrganizationKind
from clausier.procurement.parameters import platform_parameters, simulate, sizing_parameters
from clausier.publicsite.forms import SimulatorForm

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
        self.facilitator = get_object_or_404(
            Organization, kind=OrganizationKind.FACILITATOR, is_active=True, slug=kwargs["slug"]
        )
        return super().get(request, *args, **kwargs)

    def get_parameters(self):
        return sizing_parameters(self.facilitator)
