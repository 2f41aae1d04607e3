"""Querysets of the pages, scoped by the access layer and annotated with their aggregates.

Aggregates are correlated subqueries, so a page costs the same number of queries whatever its rows.
Realised hours are the counted hours of validated monthly statements (as in `procurement.progress`).
"""

from decimal import Decimal

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from clausier.employment.models import Contract
from clausier.organizations.access import current_organization, is_facilitator_staff
from clausier.organizations.models import Buyer, Company, InsertionStructure, Prescriber
from clausier.participants.models import Participant
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from clausier.procurement.progress import validated_hours

HOURS_OUTPUT = DecimalField(max_digits=14, decimal_places=2)

# Realised hours, in one place: the counted hours of validated monthly statements (domain.md §7, and the lot
# follow-up in `procurement.progress`). NB: `reporting.indicators.territory_figures` (dashboard) still sums
# `hours` of every record, whatever its statement.
REALISED = "counted_hours"


def realised_hours():
    return validated_hours()


def sum_of(queryset, ref: str, field: str):
    """Sum of `field` over the rows of `queryset` whose `ref` is the outer row."""
    inner = (
        queryset.filter(**{ref: OuterRef("pk")})
        .order_by()
        .values(ref)
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(inner, output_field=HOURS_OUTPUT), Value(Decimal(0)), output_field=HOURS_OUTPUT)


def count_of(queryset, ref: str, field: str = "pk", distinct: bool = False):
    inner = (
        queryset.filter(**{ref: OuterRef("pk")})
        .order_by()
        .values(ref)
        .annotate(n=Count(field, distinct=distinct))
        .values("n")
    )
    return Coalesce(Subquery(inner, output_field=IntegerField()), Value(0), output_field=IntegerField())


def visible_hours(user):
    """Validated hours of the contracts `user` may see, filtered through the contract.

    Same rows as `realised_hours().visible_to(user)`, but the filter on the contract's tenant lets the
    database start from the correlated key instead of scanning the tenant's hours.
    """
    if is_facilitator_staff(user):
        return realised_hours().filter(contract__facilitator=current_organization(user))
    return realised_hours().filter(contract__in=Contract.objects.visible_to(user).values("pk"))


def buyers(user):
    """Buyers with the aggregates of their markets visible to `user` (a buyer may work with several facilitators)."""
    markets = Market.objects.visible_to(user)
    visible_markets = markets.values("pk")
    return (
        Buyer.objects.visible_to(user)
        .select_related("category", "commune")
        .annotate(
            markets_count=count_of(markets, "buyer"),
            operations_count=count_of(Operation.objects.visible_to(user), "buyer"),
            hours_planned=sum_of(
                Clause.objects.filter(lot__market__in=visible_markets), "lot__market__buyer", "hours_target"
            ),
            hours_realised=sum_of(
                realised_hours().filter(contract__lot__market__in=visible_markets),
                "contract__lot__market__buyer",
                REALISED,
            ),
        )
    )


def operations(user):
    return (
        Operation.objects.visible_to(user)
        .select_related("buyer", "commune")
        .annotate(
            markets_count=count_of(Market.objects.all(), "operation"),
            hours_planned=sum_of(Clause.objects.all(), "lot__market__operation", "hours_target"),
            hours_realised=sum_of(realised_hours(), "contract__lot__market__operation", REALISED),
        )
    )


def markets(user):
    return (
        Market.objects.visible_to(user)
        .select_related("buyer", "operation")
        .annotate(
            lots_count=count_of(Lot.objects.all(), "market"),
            hours_planned=sum_of(Clause.objects.all(), "lot__market", "hours_target"),
            hours_realised=sum_of(realised_hours(), "contract__lot__market", REALISED),
        )
    )


def lots(queryset):
    """Lots of a visible market (or a visible lot): clause, family and hours."""
    return queryset.select_related("clause__legal_basis", "family", "market").annotate(
        hours_realised=sum_of(realised_hours(), "contract__lot", REALISED),
        contracts_count=count_of(Contract.objects.all(), "lot"),
    )


def companies(user):
    return (
        Company.objects.visible_to(user)
        .select_related("category", "commune")
        .annotate(
            awards_count=count_of(Award.objects.visible_to(user), "company"),
            contracts_count=count_of(Contract.objects.visible_to(user), "company"),
            hours_realised=sum_of(visible_hours(user), "contract__company", REALISED),
        )
    )


def structures(user):
    return (
        InsertionStructure.objects.visible_to(user)
        .select_related("category", "commune")
        .annotate(
            contracts_count=count_of(Contract.objects.visible_to(user), "employer"),
            participants_count=count_of(
                Contract.objects.visible_to(user), "employer", "participant", distinct=True
            ),
            hours_realised=sum_of(visible_hours(user), "contract__employer", REALISED),
        )
    )


def prescribers(user):
    return (
        Prescriber.objects.visible_to(user)
        .select_related("category", "commune")
        .annotate(
            participants_count=count_of(Participant.objects.visible_to(user).active_records(), "prescriber"),
        )
    )


def participants(user, active_only=True):
    """Participants; by default without the records merged into another (a person is listed once)."""
    queryset = Participant.objects.visible_to(user)
    if active_only:
        queryset = queryset.active_records()
    return queryset.select_related("commune", "merged_into").annotate(
        contracts_count=count_of(Contract.objects.visible_to(user), "participant"),
        hours_realised=sum_of(visible_hours(user), "contract__participant", REALISED),
    )


def contracts(user):
    return (
        Contract.objects.visible_to(user)
        .select_related("participant", "employer", "company", "lot__market", "contract_type", "modality")
        .annotate(hours_realised=sum_of(realised_hours(), "contract", REALISED))
    )
