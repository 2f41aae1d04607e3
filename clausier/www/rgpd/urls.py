"""Personal data (RGPD): subject access export and erasure of one person."""

from django.urls import path

from clausier.www.rgpd import views as rgpd

urlpatterns = [
    path(
        "participants/<uuid:uuid>/export-donnees/",
        rgpd.SubjectExportView.as_view(),
        name="participant_subject_export",
    ),
    path("participants/<uuid:uuid>/effacer/", rgpd.ErasureView.as_view(), name="participant_erase"),
]
