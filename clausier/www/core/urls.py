"""The home page (the dashboard once signed in) and the switch of organization."""

from django.urls import path

from clausier.utils.replica import reads_from_replica
from clausier.www.core import views as core

urlpatterns = [
    # The dashboard (the public home page when not signed in): stale-tolerant, on the replica if any; a user
    # who has just written reads the primary (PrimaryAfterWritesMiddleware).
    path("", reads_from_replica(core.home), name="dashboard"),
    path("organisation/changer/", core.switch_organization, name="switch_organization"),
]
