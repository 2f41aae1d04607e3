"""Partners' spaces and the directory of insertion structures (namespace `www`).

The spaces themselves are the dashboard ("/", `views.spaces.SPACES`); here the employers' own pages (monthly
grid, statement template and upload, people), the directory, and the structures proposed to companies.
"""

from django.urls import path

from clausier.www.spaces import directory
from clausier.www.spaces import views as spaces

urlpatterns = [
    # An employer's own pages (company or insertion structure)
    path("mon-espace/heures/", spaces.EmployerGridView.as_view(), name="my_hours"),
    path("mon-espace/modele-releve/", spaces.MyStatementTemplateView.as_view(), name="my_statement_template"),
    path("mon-espace/deposer-releve/", spaces.MyStatementUploadView.as_view(), name="my_statement_upload"),
    path("mon-espace/personnes/", spaces.PeopleListView.as_view(), name="my_people"),
    # The directory of insertion structures (facilitator staff and companies)
    path("annuaire-structures/", directory.DirectoryListView.as_view(), name="directory"),
    path(
        "annuaire-structures/<uuid:uuid>/",
        directory.DirectoryStructureView.as_view(),
        name="directory_structure",
    ),
    path(
        "annuaire-structures/<uuid:uuid>/proposer/",
        directory.ProposeStructureView.as_view(),
        name="directory_propose",
    ),
    path(
        "propositions/<uuid:uuid>/suite/", directory.SuggestionStatusView.as_view(), name="suggestion_status"
    ),
]
