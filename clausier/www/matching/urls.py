"""Matching area (issue 8): candidacies, job offers, the candidate pool and shortlists, proposals."""

from django.urls import path

from clausier.www.matching import candidacies, offers, pool, proposals

urlpatterns = [
    # Candidacies: a prescriber proposes to one of its facilitators, the facilitator validates or declines.
    path("candidatures/", candidacies.CandidacyListView.as_view(), name="candidacy_list"),
    path(
        "facilitateurs/<uuid:uuid>/candidatures/proposer/",
        candidacies.CandidacyProposeView.as_view(),
        name="candidacy_propose",
    ),
    path("candidatures/<uuid:uuid>/", candidacies.CandidacyDetailView.as_view(), name="candidacy_detail"),
    path(
        "candidatures/<uuid:uuid>/valider/",
        candidacies.CandidacyValidateView.as_view(),
        name="candidacy_validate",
    ),
    path(
        "candidatures/<uuid:uuid>/refuser/",
        candidacies.CandidacyDeclineView.as_view(),
        name="candidacy_decline",
    ),
    # Job offers: posted by the facilitator or the awarded company, on a lot.
    path("offres/", offers.OfferListView.as_view(), name="offer_list"),
    path("offres/publier/", offers.OfferStartView.as_view(), name="offer_start"),
    path("lots/<uuid:uuid>/offres/nouvelle/", offers.OfferCreateView.as_view(), name="offer_create"),
    path("offres/<uuid:uuid>/", offers.OfferDetailView.as_view(), name="offer_detail"),
    path("offres/<uuid:uuid>/modifier/", offers.OfferEditView.as_view(), name="offer_edit"),
    path("offres/<uuid:uuid>/etat/", offers.OfferTransitionView.as_view(), name="offer_transition"),
    # The candidate pool and an offer's shortlist (facilitator staff).
    path("vivier/", pool.PoolSearchView.as_view(), name="matching_pool"),
    path("offres/<uuid:uuid>/vivier/", pool.PoolSearchView.as_view(), name="offer_pool"),
    path("offres/<uuid:uuid>/selection/", pool.ShortlistAddView.as_view(), name="offer_shortlist_add"),
    path(
        "offres/<uuid:uuid>/selection/envoyer/",
        pool.ShortlistSendView.as_view(),
        name="offer_shortlist_send",
    ),
    # Proposals: the company answers, the facilitator withdraws or marks the hire.
    path("propositions/", proposals.ProposalListView.as_view(), name="proposal_list"),
    path("propositions/<uuid:uuid>/", proposals.ProposalDetailView.as_view(), name="proposal_detail"),
    path("propositions/<uuid:uuid>/reponse/", proposals.ProposalAnswerView.as_view(), name="proposal_answer"),
    path(
        "propositions/<uuid:uuid>/retirer/",
        proposals.ProposalWithdrawView.as_view(),
        name="proposal_withdraw",
    ),
    path("propositions/<uuid:uuid>/embauche/", proposals.ProposalHireView.as_view(), name="proposal_hire"),
]
