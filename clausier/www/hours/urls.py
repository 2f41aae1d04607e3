"""Hours area: monthly grids, monthly statements, globalisation agreements (namespace `www`)."""

from django.urls import path

from clausier.www.hours import pools, statements
from clausier.www.hours import views as hours

urlpatterns = [
    # Monthly hours grid (facilitator staff): per lot, per employer
    path("lots/<uuid:uuid>/heures/", hours.LotGridView.as_view(), name="lot_hours"),
    path("entreprises/<uuid:uuid>/heures/", hours.CompanyGridView.as_view(), name="company_hours"),
    path(
        "structures-insertion/<uuid:uuid>/heures/", hours.StructureGridView.as_view(), name="structure_hours"
    ),
    # Monthly statements (facilitator staff, and each employer for its own)
    path("releves/", statements.StatementListView.as_view(), name="statement_list"),
    path("releves/saisir/", statements.StatementEntryView.as_view(), name="statement_entry"),
    path("releves/<uuid:uuid>/", statements.StatementDetailView.as_view(), name="statement_detail"),
    path(
        "releves/<uuid:uuid>/etat/", statements.StatementTransitionView.as_view(), name="statement_transition"
    ),
    # Globalisation agreements (facilitator staff)
    path("conventions-globalisation/", pools.PoolListView.as_view(), name="pool_list"),
    path("conventions-globalisation/nouvelle/", pools.PoolCreateView.as_view(), name="pool_create"),
    path("conventions-globalisation/<uuid:uuid>/", pools.PoolEditView.as_view(), name="pool_edit"),
]
