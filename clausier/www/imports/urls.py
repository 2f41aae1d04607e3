"""Imports area: upload, column mapping, preview, commit, error file, background verification and its progress,
statement template (namespace `www`)."""

from django.urls import path

from clausier.www.imports import views as imports

urlpatterns = [
    path("imports/", imports.ImportStartView.as_view(), name="import_start"),
    path("imports/modele/", imports.ImportTemplateView.as_view(), name="import_template"),
    path("imports/<uuid:uuid>/", imports.ImportPreviewView.as_view(), name="import_preview"),
    path("imports/<uuid:uuid>/colonnes/", imports.ImportMappingView.as_view(), name="import_mapping"),
    path("imports/<uuid:uuid>/importer/", imports.ImportCommitView.as_view(), name="import_commit"),
    path("imports/<uuid:uuid>/erreurs/", imports.ImportErrorsView.as_view(), name="import_errors"),
    path("imports/<uuid:uuid>/verifier/", imports.ImportVerifyView.as_view(), name="import_verify"),
    path("imports/<uuid:uuid>/avancement/", imports.ImportProgressView.as_view(), name="import_progress"),
    path(
        "organisations/<uuid:uuid>/modele-releve/",
        imports.StatementTemplateView.as_view(),
        name="statement_template",
    ),
]
