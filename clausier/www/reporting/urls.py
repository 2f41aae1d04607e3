"""Bilans (HTML, PDF, XLSX) per buyer, operation, market, and the territory's year (`?annee=`)."""

from django.urls import path

from clausier.utils.replica import reads_from_replica
from clausier.www.reporting import views as reporting

bilan = reads_from_replica(reporting.bilan)  # heavy reads, a few seconds stale at worst: the replica if any

urlpatterns = [path("bilans/", reporting.BilanIndexView.as_view(), name="bilan_index")]
for prefix, kind, name in (
    ("bilans/donneurs-d-ordre/<uuid:uuid>/", "buyer", "bilan_buyer"),
    ("bilans/operations/<uuid:uuid>/", "operation", "bilan_operation"),
    ("bilans/marches/<uuid:uuid>/", "market", "bilan_market"),
    ("bilans/territoire/", "territory", "bilan_territory"),
):
    urlpatterns += [
        path(prefix, bilan, {"kind": kind, "fmt": "html"}, name=name),
        path(f"{prefix}pdf/", bilan, {"kind": kind, "fmt": "pdf"}, name=f"{name}_pdf"),
        path(f"{prefix}xlsx/", bilan, {"kind": kind, "fmt": "xlsx"}, name=f"{name}_xlsx"),
    ]
