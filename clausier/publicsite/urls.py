"""Public pages (no login): the insertion hours simulator, with the platform's or a facilitator's parameters."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from clausier.publicsite import views

app_name = "public"

urlpatterns = [
    path("simulateur/", login_not_required(views.SimulatorView.as_view()), name="simulator"),
    path(
        "cellules/<slug:slug>/simulateur/",
        login_not_required(views.FacilitatorSimulatorView.as_view()),
        name="facilitator_simulator",
    ),
]
