"""Partners area: companies, insertion structures and prescribers (read-only)."""

from django.urls import path

from clausier.www.partners import views as partners

urlpatterns = [
    # Partners (read-only)
    path("entreprises/", partners.CompanyListView.as_view(), name="company_list"),
    path("entreprises/<uuid:uuid>/", partners.CompanyDetailView.as_view(), name="company_detail"),
    path("structures-insertion/", partners.StructureListView.as_view(), name="structure_list"),
    path(
        "structures-insertion/<uuid:uuid>/", partners.StructureDetailView.as_view(), name="structure_detail"
    ),
    path("prescripteurs/", partners.PrescriberListView.as_view(), name="prescriber_list"),
    path("prescripteurs/<uuid:uuid>/", partners.PrescriberDetailView.as_view(), name="prescriber_detail"),
]
