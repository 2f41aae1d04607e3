"""Procurement area: buyers, operations, markets, lots and their awards."""

from django.urls import path

from clausier.www.procurement import awards
from clausier.www.procurement import views as procurement

urlpatterns = [
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
]
