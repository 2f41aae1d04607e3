"""Imports area: upload, column mapping, preview, commit, error file, background verification and its progress,
statement template (namespace `www`)."""

from django.urls import path

from clausier.www.imports import commit, downloads, preview, upload

urlpatterns = [
    path("imports/", upload.ImportStartView.as_view(), name="import_start"),
    path("imports/modele/", downloads.ImportTemplateView.as_view(), name="import_template"),
    path("imports/<uuid:uuid>/", preview.ImportPreviewView.as_view(), name="import_preview"),
    path("imports/<uuid:uuid>/colonnes/", upload.ImportMappingView.as_view(), name="import_mapping"),
    path("imports/<uuid:uuid>/importer/", commit.ImportCommitView.as_view(), name="import_commit"),
    path("imports/<uuid:uuid>/erreurs/", downloads.ImportErrorsView.as_view(), name="import_errors"),
    path("imports/<uuid:uuid>/verifier/", preview.ImportVerifyView.as_view(), name="import_verify"),
    path("imports/<uuid:uuid>/avancement/", preview.ImportProgressView.as_view(), name="import_progress"),
    path(
        "organisations/<uuid:uuid>/modele-releve/",
        downloads.StatementTemplateView.as_view(),
        name="statement_template",
    ),
]
