"""The staff area of the public site, under /equipe/site-public/ (namespace `publicsite`)."""

from django.urls import path

from clausier.www.publicsite import staff as views

app_name = "publicsite"

urlpatterns = [
    path("", views.StaffIndexView.as_view(), name="index"),
    path("textes/", views.TextsEditView.as_view(), name="texts"),
    path("documents/nouveau/", views.DocumentCreateView.as_view(), name="document_create"),
    path("documents/<uuid:uuid>/modifier/", views.DocumentEditView.as_view(), name="document_edit"),
    path("documents/<uuid:uuid>/supprimer/", views.DocumentDeleteView.as_view(), name="document_delete"),
    path("partenaires/nouveau/", views.PartnerCreateView.as_view(), name="partner_create"),
    path("partenaires/<uuid:uuid>/modifier/", views.PartnerEditView.as_view(), name="partner_edit"),
    path("partenaires/<uuid:uuid>/supprimer/", views.PartnerDeleteView.as_view(), name="partner_delete"),
]
