"""Matching area (issue 8): candidacies, job offers, the candidate pool and shortlists, proposals."""

from django.urls import path

from clausier.www.matching import views as matching

urlpatterns = [
    # Candidacies: a prescriber proposes to one of its facilitators, the facilitator validates or declines.
    path("candidatures/", matching.CandidacyListView.as_view(), name="candidacy_list"),
    path(
        "facilitateurs/<uuid:uuid>/candidatures/proposer/",
        matching.CandidacyProposeView.as_view(),
        name="candidacy_propose",
    ),
    path("candidatures/<uuid:uuid>/", matching.CandidacyDetailView.as_view(), name="candidacy_detail"),
    path(
        "candidatures/<uuid:uuid>/valider/",
        matching.CandidacyValidateView.as_view(),
        name="candidacy_validate",
    ),
    path(
        "candidatures/<uuid:uuid>/refuser/", matching.CandidacyDeclineView.as_view(), name="candidacy_decline"
    ),
    # Job offers: posted by the facilitator or the awarded company, on a lot.
    path("offres/", matching.OfferListView.as_view(), name="offer_list"),
    path("offres/publier/", matching.OfferStartView.as_view(), name="offer_start"),
    path("lots/<uuid:uuid>/offres/nouvelle/", matching.OfferCreateView.as_view(), name="offer_create"),
    path("offres/<uuid:uuid>/", matching.OfferDetailView.as_view(), name="offer_detail"),
    path("offres/<uuid:uuid>/modifier/", matching.OfferEditView.as_view(), name="offer_edit"),
    path("offres/<uuid:uuid>/etat/", matching.OfferTransitionView.as_view(), name="offer_transition"),
    # The candidate pool and an offer's shortlist (facilitator staff).
    path("vivier/", matching.PoolSearchView.as_view(), name="matching_pool"),
    path("offres/<uuid:uuid>/vivier/", matching.PoolSearchView.as_view(), name="offer_pool"),
    path("offres/<uuid:uuid>/selection/", matching.ShortlistAddView.as_view(), name="offer_shortlist_add"),
    path(
        "offres/<uuid:uuid>/selection/envoyer/",
        matching.ShortlistSendView.as_view(),
        name="offer_shortlist_send",
    ),
    # Proposals: the company answers, the facilitator withdraws or marks the hire.
    path("propositions/", matching.ProposalListView.as_view(), name="proposal_list"),
    path("propositions/<uuid:uuid>/", matching.ProposalDetailView.as_view(), name="proposal_detail"),
    path("propositions/<uuid:uuid>/reponse/", matching.ProposalAnswerView.as_view(), name="proposal_answer"),
    path(
        "propositions/<uuid:uuid>/retirer/", matching.ProposalWithdrawView.as_view(), name="proposal_withdraw"
    ),
    path("propositions/<uuid:uuid>/embauche/", matching.ProposalHireView.as_view(), name="proposal_hire"),
]
