"""Read-side questions on contracts and monthly statements (one query each, whatever the data).

*Relances*: the employers to chase for a month are those with a contract running that month whose
statement for the month is missing, still a draft, or returned for correction.
"""

import calendar
import datetime

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from clausier.employment.models import Contract, MonthlyStatement, StatementStatus
from clausier.organizations.models import Organization
from clausier.procurement.followup import add_months, month_start

TO_CHASE = (StatementStatus.DRAFT, StatementStatus.RETURNED)


def last_day(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def running_in(month: datetime.date) -> Q:
    """Contracts running at some point of `month` (a Q on Contract)."""
    month = month_start(month)
    return Q(start_date__lte=last_day(month)) & (Q(end_date__isnull=True) | Q(end_date__gte=month))


def contracts_running_in(facilitator, month: datetime.date):
    return Contract.objects.filter(running_in(month), facilitator=facilitator)


def previous_month(today: datetime.date) -> datetime.date:
    return add_months(month_start(today), -1)


def month_to_declare(contract, recorded, *, today: datetime.date) -> datetime.date | None:
    """The month to enter next for `contract`: the first of its months, up to the current one (hours are
    declared for a month that has begun), with no hours in `recorded` (months); when all have some, its last
    month up to now (to correct it). None before the contract starts."""
    current, month = month_start(today), month_start(contract.start_date)
    if month > current:
        return None
    last = min(current, month_start(contract.end_date)) if contract.end_date else current
    while month <= last:
        if month not in recorded:
            return month
        month = add_months(month, 1)
    return last


def statements_to_chase(facilitator, month: datetime.date):
    """Employers to chase for `month`, in one query.

    Each organization carries `contracts_running` (its contracts running that month), `statement_status`
    (None when the statement is missing) and `statement_uuid`.
    """
    month = month_start(month)
    statement = MonthlyStatement.objects.filter(facilitator=facilitator, employer=OuterRef("pk"), month=month)
    running = Q(employer_contracts__facilitator=facilitator) & Q(
        employer_contracts__start_date__lte=last_day(month)
    )
    running &= Q(employer_contracts__end_date__isnull=True) | Q(employer_contracts__end_date__gte=month)
    return (
        Organization.objects.filter(running)
        .annotate(
            contracts_running=Count("employer_contracts", filter=running, distinct=True),
            statement_status=Subquery(statement.values("status")[:1]),
            statement_uuid=Subquery(statement.values("uuid")[:1]),
        )
        .filter(Q(statement_status__isnull=True) | Q(statement_status__in=TO_CHASE))
        .order_by("name", "pk")
    )


def with_eligibility_validated(contracts):
    """`eligibility_validated` on each contract: whether the facilitator validated the person's eligibility for
    the contract's start (an assessment valid that day). A yes or no, never the criteria (domain.md §8): what an
    employer is shown as « validée » / « à valider »."""
    from clausier.participants.models import EligibilityAssessment

    valid = EligibilityAssessment.objects.filter(
        participant_id=OuterRef("participant_id"),
        assessed_on__lte=OuterRef("start_date"),
        valid_until__gte=OuterRef("start_date"),
    )
    return contracts.annotate(eligibility_validated=Exists(valid))


# An employer's shortcut looks this many months back for a month it has not sent yet.
DECLARE_WINDOW_MONTHS = 12


def employer_month_to_declare(employer, *, today: datetime.date) -> datetime.date:
    """The month an employer should declare next: the first of the last 12 complete months in which one of
    its contracts runs and whose statement (per facilitator) is not yet submitted or validated; when every
    such month is sent, the month in progress; with no contract in that window, the last complete month.
    Two queries, whatever the history."""
    last = previous_month(today)
    first = add_months(last, 1 - DECLARE_WINDOW_MONTHS)
    spans = list(
        Contract.objects.filter(employer=employer, start_date__lte=last_day(last))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=first))
        .values_list("facilitator_id", "start_date", "end_date")
    )
    sent = set(
        MonthlyStatement.objects.filter(
            employer=employer,
            month__range=(first, last),
            status__in=(StatementStatus.SUBMITTED, StatementStatus.VALIDATED),
        ).values_list("facilitator_id", "month")
    )
    month, declared_any = first, False
    while month <= last:
        for facilitator_id, start, end in spans:
            if start <= last_day(month) and (end is None or end >= month):
                if (facilitator_id, month) not in sent:
                    return month
                declared_any = True
        month = add_months(month, 1)
    return month_start(today) if declared_any else last
