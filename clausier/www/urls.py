"""The UI's URLs (namespace `www`): each area's, in this order (the first pattern that matches answers)."""

from django.urls import include, path

app_name = "www"

urlpatterns = [
    path("", include("clausier.www.core.urls")),
    path("", include("clausier.www.procurement.urls")),
    path("", include("clausier.www.partners.urls")),
    path("", include("clausier.www.participants.urls")),  # participants, contracts, eligibility, merges, QPV
    # Sizing parameters, contracts (clauses area) and the monthly hours, statements and lot follow-up (hours area)
    path("", include("clausier.www.clauses.urls")),
    path("", include("clausier.www.hours.urls")),
    path("", include("clausier.www.rgpd.urls")),  # personal data: export and erasure (issue 6)
    path("", include("clausier.www.outcomes.urls")),  # outcomes: follow-up list and form (issue 4)
    path("", include("clausier.www.reporting.urls")),  # bilans (issue 5)
    path("", include("clausier.www.imports.urls")),  # spreadsheet imports, statement template (issue 7)
    path("", include("clausier.www.audit.urls")),  # the audit log, for the facilitator's administrators
    path("", include("clausier.www.members.urls")),  # members, invitations, « Mes notifications » (issue 8)
    path("", include("clausier.www.apiaccess.urls")),  # personal API tokens, for the admins (issue 16)
    path("", include("clausier.www.spaces.urls")),  # partners' own pages, directory of structures (issue 8)
    path("", include("clausier.www.matching.urls")),  # candidacies, job offers, pool, proposals (issue 8)
]
