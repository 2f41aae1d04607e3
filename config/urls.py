from django.contrib import admin
from django.urls import include, path

from clausier.api.main import urls as api_urls
from clausier.www.accounts.views import LoginView, LogoutView, admin_login

admin.site.site_header = "Clausier — administration"
admin.site.site_title = "Clausier"

urlpatterns = [
    path("admin/login/", admin_login, name="admin_login"),  # the admin logs in through Clausier's login
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls()),  # the REST API (issue 16)
    path("connexion/", LoginView.as_view(), name="login"),
    path("deconnexion/", LogoutView.as_view(), name="logout"),
    path("", include("clausier.www.accounts.urls")),
    path("", include("clausier.www.publicsite.urls")),
    path(
        "equipe/site-public/", include("clausier.www.publicsite.urls_staff")
    ),  # staff area of the public site
    path("", include("clausier.www.urls")),
]
