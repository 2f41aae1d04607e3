"""Participants area: the participant file, eligibility assessments, merging duplicates, QPV residence."""

from django.urls import path

from clausier.www.participants import people
from clausier.www.participants import views as participants

urlpatterns = [
    # People (read-only here)
    path("participants/", people.ParticipantListView.as_view(), name="participant_list"),
    path("participants/<uuid:uuid>/", people.ParticipantDetailView.as_view(), name="participant_detail"),
    path("contrats/", people.ContractListView.as_view(), name="contract_list"),
    path("contrats/<uuid:uuid>/", people.ContractDetailView.as_view(), name="contract_detail"),
    path("participants/nouveau/", participants.ParticipantCreateView.as_view(), name="participant_create"),
    path("participants/fusions/", participants.MergeListView.as_view(), name="participant_merges"),
    path(
        "participants/<uuid:uuid>/modifier/",
        participants.ParticipantEditView.as_view(),
        name="participant_edit",
    ),
    path(
        "participants/<uuid:uuid>/eligibilite/nouvelle/",
        participants.AssessmentCreateView.as_view(),
        name="participant_assessment_create",
    ),
    path(
        "participants/<uuid:uuid>/fusionner/",
        participants.ParticipantMergeView.as_view(),
        name="participant_merge",
    ),
    path(
        "participants/<uuid:uuid>/qpv/determiner/",
        participants.QpvResolveView.as_view(),
        name="participant_qpv_resolve",
    ),
    path(
        "participants/<uuid:uuid>/qpv/saisie-manuelle/",
        participants.QpvOverrideView.as_view(),
        name="participant_qpv_override",
    ),
]
