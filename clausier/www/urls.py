from django.urls import include, path

from clausier.www.views import awards, core, partners, people, procurement

app_name = "www"

urlpatterns = [
    path("", core.home, name="dashboard"),  # the public home page when not signed in
    path("organisation/changer/", core.switch_organization, name="switch_organization"),
    # Buyers, operations, markets
    path("donneurs-d-ordre/", procurement.BuyerListView.as_view(), name="buyer_list"),
    path("donneurs-d-ordre/nouveau/", procurement.BuyerCreateView.as_view(), name="buyer_create"),
    path("donneurs-d-ordre/<uuid:uuid>/", procurement.BuyerDetailView.as_view(), name="buyer_detail"),
    path("donneurs-d-ordre/<uuid:uuid>/modifier/", procurement.BuyerEditView.as_view(), name="buyer_edit"),
    path("operations/", procurement.OperationListView.as_view(), name="operation_list"),
    path("operations/nouveau/", procurement.OperationCreateView.as_view(), name="operation_create"),
    path("operations/<uuid:uuid>/", procurement.OperationDetailView.as_view(), name="operation_detail"),
    path("operations/<uuid:uuid>/modifier/", procurement.OperationEditView.as_view(), name="operation_edit"),
    path("marches/", procurement.MarketListView.as_view(), name="market_list"),
    path("marches/nouveau/", procurement.MarketCreateView.as_view(), name="market_create"),
    path("marches/<uuid:uuid>/", procurement.MarketDetailView.as_view(), name="market_detail"),
    path("marches/<uuid:uuid>/modifier/", procurement.MarketEditView.as_view(), name="market_edit"),
    path("marches/<uuid:uuid>/lots/nouveau/", procurement.LotCreateView.as_view(), name="lot_create"),
    path("lots/<uuid:uuid>/", procurement.LotDetailView.as_view(), name="lot_detail"),
    path("lots/<uuid:uuid>/modifier/", procurement.LotEditView.as_view(), name="lot_edit"),
    path("lots/<uuid:uuid>/attributaires/ajouter/", awards.AwardCreateView.as_view(), name="award_create"),
    path("attributions/<uuid:uuid>/modifier/", awards.AwardEditView.as_view(), name="award_edit"),
    path("attributions/<uuid:uuid>/retirer/", awards.AwardRemoveView.as_view(), name="award_remove"),
    # Partners (read-only)
    path("entreprises/", partners.CompanyListView.as_view(), name="company_list"),
    path("entreprises/<uuid:uuid>/", partners.CompanyDetailView.as_view(), name="company_detail"),
    path("structures-insertion/", partners.StructureListView.as_view(), name="structure_list"),
    path(
        "structures-insertion/<uuid:uuid>/", partners.StructureDetailView.as_view(), name="structure_detail"
    ),
    path("prescripteurs/", partners.PrescriberListView.as_view(), name="prescriber_list"),
    path("prescripteurs/<uuid:uuid>/", partners.PrescriberDetailView.as_view(), name="prescriber_detail"),
    # People (read-only here)
    path("participants/", people.ParticipantListView.as_view(), name="participant_list"),
    path("participants/<uuid:uuid>/", people.ParticipantDetailView.as_view(), name="participant_detail"),
    path("contrats/", people.ContractListView.as_view(), name="contract_list"),
    path("contrats/<uuid:uuid>/", people.ContractDetailView.as_view(), name="contract_detail"),
    # Sizing parameters, contracts (clauses area) and the monthly hours, statements and lot follow-up (hours area)
    path("", include("clausier.www.urls_clauses")),
    path("", include("clausier.www.urls_hours")),
    path("", include("clausier.www.urls_participants")),
    path("", include("clausier.www.urls_rgpd")),  # personal data: export and erasure (issue 6)
    path("", include("clausier.www.urls_outcomes")),  # outcomes: follow-up list and form (issue 4)
    path("", include("clausier.www.urls_reporting")),  # bilans (issue 5)
    path("", include("clausier.www.urls_imports")),  # spreadsheet imports, statement template (issue 7)
    path("", include("clausier.www.urls_audit")),  # the audit log, for the facilitator's administrators
    path("", include("clausier.www.urls_members")),  # members, invitations, « Mes notifications » (issue 8)
    path("", include("clausier.www.urls_spaces")),  # partners' own pages, directory of structures (issue 8)
    path("", include("clausier.www.urls_matching")),  # candidacies, job offers, pool, proposals (issue 8)
]
