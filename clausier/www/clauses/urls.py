"""Clauses area: the clause sizing form, the facilitator's parameters, placing participants on lots."""

from django.urls import path

from clausier.www.clauses import contracts, parameters
from clausier.www.clauses import views as clauses

urlpatterns = [
    path("lots/<uuid:uuid>/clause/", clauses.ClauseEditView.as_view(), name="clause_edit"),
    path("lots/<uuid:uuid>/clause/calcul/", clauses.ClauseSizingView.as_view(), name="clause_sizing"),
    path("lots/<uuid:uuid>/placer/", contracts.PlaceOnLotView.as_view(), name="contract_create_for_lot"),
    path(
        "participants/<uuid:uuid>/placer/",
        contracts.PlaceParticipantView.as_view(),
        name="contract_create_for_participant",
    ),
    path("parametres/", parameters.ParametersView.as_view(), name="parameters"),
    path(
        "parametres/parts-main-d-oeuvre/",
        parameters.LabourSharesEditView.as_view(),
        name="parameters_labour_shares",
    ),
    path(
        "parametres/couts-horaires/nouveau/",
        parameters.HourlyCostCreateView.as_view(),
        name="parameters_hourly_cost_create",
    ),
    path("parametres/seuils/", parameters.ThresholdsEditView.as_view(), name="parameters_thresholds"),
    path(
        "parametres/eligibilite-et-etp/",
        parameters.EligibilityFteEditView.as_view(),
        name="parameters_eligibility_fte",
    ),
    path(
        "parametres/notifications/",
        parameters.NotificationDaysEditView.as_view(),
        name="parameters_notifications",
    ),
    path(
        "parametres/regles-de-comptage/nouvelle-version/",
        parameters.CountingRuleCreateView.as_view(),
        name="counting_rule_create",
    ),
]
