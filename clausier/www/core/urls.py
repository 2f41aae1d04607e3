"""The home page (the dashboard once signed in) and the switch of organization."""

from django.urls import path

from clausier.www.core import views as core

urlpatterns = [
    path("", core.home, name="dashboard"),  # the public home page when not signed in
    path("organisation/changer/", core.switch_organization, name="switch_organization"),
]
