from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clausier.www.views.core import LoginView

admin.site.site_header = "Clausier — administration"
admin.site.site_title = "Clausier"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("connexion/", LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("clausier.publicsite.urls")),
    path("", include("clausier.www.urls")),
]
