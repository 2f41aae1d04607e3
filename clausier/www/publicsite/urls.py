"""Public pages (no login): the cellules of the instance, each cellule's pages, the hours simulator."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from clausier.utils.replica import reads_from_replica
from clausier.www.publicsite import views

app_name = "public"


def public(view):
    # Public pages may be a few seconds stale: on the replica when there is one (the spike of a bilan's day).
    return login_not_required(reads_from_replica(view.as_view()))


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
        reads_from_replica(views.opendata_communes),
        name="opendata_communes",
    ),
    path(
        "cellules/<slug:slug>/simulateur/",
        public(views.FacilitatorSimulatorView),
        name="facilitator_simulator",
    ),
]
