"""What an organization's administrators see of their members' ProConnect identities (issue 17).

A member linked to ProConnect shows it, with the date of the latest ProConnect sign-in. The SIRET ProConnect
gave at that sign-in (the establishment the identity provider knows the person in) is flagged when it is not
the organization's: a person who changed employer, or an account invited into the wrong organization.
"""

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Subquery, When

from clausier.accounts.models import ProConnectIdentity


def with_proconnect(memberships: QuerySet) -> QuerySet:
    """`memberships` annotated, in the same query (no query per member), with their user's latest ProConnect
    identity: `proconnect_linked`, `proconnect_siret` and `proconnect_last_login_at` (None when not linked),
    and `proconnect_siret_differs`: ProConnect gave a SIRET, the organization has one, and they differ."""
    identities = ProConnectIdentity.objects.filter(user=OuterRef("user_id"))
    # A user may have several identities (one per `sub`): the one that signed in last speaks.
    latest = identities.order_by(F("last_login_at").desc(nulls_last=True), "-linked_at", "-pk")
    return memberships.annotate(
        proconnect_linked=Exists(identities),
        proconnect_siret=Subquery(latest.values("siret")[:1]),
        proconnect_last_login_at=Subquery(latest.values("last_login_at")[:1]),
    ).annotate(
        # `__gt=""` is false on NULL too: no identity, or no SIRET on either side, is no difference.
        proconnect_siret_differs=Case(
            When(
                Q(proconnect_siret__gt="", organization__siret__gt="")
                & ~Q(proconnect_siret=F("organization__siret")),
                then=True,
            ),
            default=False,
            output_field=BooleanField(),
        )
    )
