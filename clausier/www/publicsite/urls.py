"""Public pages (no login): the cellules of the instance, each cellule's pages, the hours simulator."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from clausier.www.publicsite import views

app_name = "public"


def public(view):
    return login_not_required(view.as_view())


urlpatterns = [
    path("simulateur/", public(views.SimulatorView), name="simulator"),
    path("cellules/", public(views.CelluleListView), name="cellule_list"),
    path("cellules/<slug:slug>/", public(views.CelluleHomeView), name="home"),
    path("cellules/<slug:slug>/documentation/", public(views.DocumentationView), name="documentation"),
    path(
        "cellules/<slug:slug>/documentation/<uuid:uuid>/",
        views.document_download,
        name="document_download",
    ),
    path("cellules/<slug:slug>/partenaires/<uuid:uuid>/logo/", views.partner_logo, name="partner_logo"),
    path(
        "cellules/<slug:slug>/donnees-ouvertes/communes.csv",
        views.opendata_communes,
        name="opendata_communes",
    ),
    path(
        "cellules/<slug:slug>/simulateur/",
        public(views.FacilitatorSimulatorView),
        name="facilitator_simulator",
    ),
]
