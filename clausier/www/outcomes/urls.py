"""Outcomes area: the follow-up of outcomes due and the outcome form (namespace `www`, facilitator staff)."""

from django.urls import path

from clausier.www.outcomes import views as outcomes

urlpatterns = [
    path("sorties-a-renseigner/", outcomes.OutcomeFollowUpView.as_view(), name="outcome_followup"),
    path("contrats/<uuid:uuid>/sortie/fin/", outcomes.EndOutcomeView.as_view(), name="outcome_end"),
    path(
        "contrats/<uuid:uuid>/sortie/6-mois/",
        outcomes.SixMonthOutcomeView.as_view(),
        name="outcome_six_months",
    ),
]
