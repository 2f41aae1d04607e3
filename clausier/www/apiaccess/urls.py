"""API access area (issue 16): the personal API tokens of the current organization, for its administrators
(namespace `www`)."""

from django.urls import path

from clausier.www.apiaccess import views

urlpatterns = [
    path("organisation/acces-api/", views.TokenListView.as_view(), name="api_token_list"),
    path("organisation/acces-api/nouveau/", views.TokenCreateView.as_view(), name="api_token_create"),
    path(
        "organisation/acces-api/<uuid:uuid>/revoquer/",
        views.TokenRevokeView.as_view(),
        name="api_token_revoke",
    ),
]
