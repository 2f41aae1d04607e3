"""The periodic notifications, sent by `clausier notify-due [--date D] [--dry-run]` (once a day, e.g. by cron).

- `statement_due`: from the facilitator's `statement_due_day` of the month (the 1st by default), to the members
  of each company or insertion structure whose statement for the previous month is missing, still a draft or
  returned (the *relances* of `employment.queries.statements_to_chase`) — for each facilitator it works with.
- `statement_overdue`: the same, still missing from its `statement_overdue_day` (the 10th by default); from
  then on only this one is sent (a first run on the 12th does not send both).
- `eligibility_expiring`: to each facilitator's staff, the eligibility assessments ending in the next
  `eligibility_expiring_days` days (30 by default) that no later assessment of the person extends, in one
  e-mail listing those not reported to that person before.

The days are each facilitator's settings (`FacilitatorSettings`, edited by its administrators in « Paramètres »
through `notifications.actions.set_notification_days`); a facilitator without settings has the defaults.

Idempotent: each e-mail has a key (employer and month; assessment and end date) logged in `SentNotification`,
and running the command twice sends nothing twice.
"""

import datetime

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from clausier.employment.queries import previous_month, statements_to_chase
from clausier.notifications.delivery import Outgoing, absolute_url, already_sent, deliver, recipients
from clausier.notifications.models import Category
from clausier.organizations.models import Facilitator, FacilitatorSettings, OrganizationKind
from clausier.participants.models import EligibilityAssessment
from clausier.utils.dates import month_label

EMPLOYERS = (OrganizationKind.COMPANY, OrganizationKind.INSERTION_STRUCTURE)
STATUS_WORDS = {"draft": " (il est resté en brouillon)", "returned": " (il a été renvoyé pour correction)"}


def days_of(facilitator) -> FacilitatorSettings:
    """The facilitator's settings (load them with `select_related("settings")`: no query here), or unsaved
    defaults when it has none."""
    try:
        return facilitator.settings
    except FacilitatorSettings.DoesNotExist:
        return FacilitatorSettings(facilitator_id=facilitator.pk)


def statement_notifications(today: datetime.date) -> list[Outgoing]:
    """`statement_due` (from the facilitator's due day) or `statement_overdue` (from its overdue day) for last
    month, one e-mail per member of each employer to chase, per facilitator.

    Queries: the facilitators with their settings, one per facilitator whose due day has come (its employers to
    chase), the recipients (one per category) — whatever the number of contracts, statements and employers.
    """
    month = previous_month(today)
    label = month_label(month)
    chased = []  # (facilitator, overdue day or None, employer annotated by statements_to_chase)
    for facilitator in Facilitator.objects.filter(is_active=True).select_related("settings").order_by("pk"):
        days = days_of(facilitator)
        if today.day < days.statement_due_day:
            continue
        overdue_day = days.statement_overdue_day if today.day >= days.statement_overdue_day else None
        chased += [
            (facilitator, overdue_day, employer)
            for employer in statements_to_chase(facilitator, month)
            if employer.kind in EMPLOYERS and employer.is_active
        ]
    employers = {}  # {category: ids of the employers to chase with it}
    for _, overdue_day, employer in chased:
        category = Category.STATEMENT_DUE if overdue_day is None else Category.STATEMENT_OVERDUE
        employers.setdefault(category, set()).add(employer.pk)
    members = {}  # {(category, employer id): memberships}
    for category, ids in employers.items():
        for membership in recipients(category, ids):
            members.setdefault((category, membership.organization_id), []).append(membership)
    outgoing = []
    for facilitator, overdue_day, employer in chased:
        if overdue_day is None:
            category = Category.STATEMENT_DUE
            subject = f"Clausier : relevé d'heures de {label} à transmettre"
            intro, state = "Le relevé d'heures", "n'a pas encore été transmis"
        else:
            category = Category.STATEMENT_OVERDUE
            subject = f"Clausier : relevé d'heures de {label} en retard"
            intro = f"Le {overdue_day} du mois est passé et le relevé d'heures"
            state = "n'a toujours pas été transmis"
        body = (
            f"{intro} de {label} de {employer.name}, suivi par {facilitator.name}, {state}"
            f"{STATUS_WORDS.get(employer.statement_status or '', '')}. "
            f"Contrats en cours ce mois-là : {employer.contracts_running}."
            "\n\nSaisissez les heures du mois et transmettez le relevé :"
        )
        url = (
            reverse("www:statement_detail", kwargs={"uuid": employer.statement_uuid})
            if employer.statement_uuid
            else reverse("www:statement_list")
        )
        key = f"{facilitator.uuid}/{employer.uuid}/{month:%Y-%m}"
        outgoing += [
            Outgoing(
                user=membership.user,
                category=category,
                keys=(key,),
                subject=subject,
                body=body,
                organization=employer,
                url=url,
            )
            for membership in members.get((category, employer.pk), [])
        ]
    return outgoing


def expiring_assessments(today: datetime.date):
    """Assessments ending between today and their facilitator's `eligibility_expiring_days` from now that no
    later assessment of the person extends, of people still on file (not merged, not anonymised); every
    facilitator, two queries (the notices in use, then the assessments: one condition per notice in use)."""
    default = FacilitatorSettings._meta.get_field("eligibility_expiring_days").default
    notices = set(FacilitatorSettings.objects.values_list("eligibility_expiring_days", flat=True).distinct())
    within_notice = Q()
    for days in sorted(notices | {default}):
        of_facilitator = Q(facilitator__settings__eligibility_expiring_days=days)
        if days == default:
            of_facilitator |= Q(facilitator__settings__isnull=True)
        within_notice |= of_facilitator & Q(valid_until__lte=today + datetime.timedelta(days=days))
    later = EligibilityAssessment.objects.filter(
        participant_id=OuterRef("participant_id"), valid_until__gt=OuterRef("valid_until")
    )
    return (
        EligibilityAssessment.objects.filter(
            within_notice,
            valid_until__gte=today,
            participant__merged_into__isnull=True,
            participant__anonymised_on__isnull=True,
            facilitator__is_active=True,
        )
        .filter(~Exists(later))
        .select_related("participant", "facilitator__settings")
        .order_by("facilitator_id", "valid_until", "participant__last_name", "pk")
    )


def eligibility_notifications(today: datetime.date) -> list[Outgoing]:
    """One e-mail per staff member and facilitator, listing the expiring assessments not reported to them yet.

    Queries: the assessments, the recipients, the log — whatever the number of assessments.
    """
    by_facilitator = {}
    for assessment in expiring_assessments(today):
        by_facilitator.setdefault(assessment.facilitator_id, []).append(assessment)
    if not by_facilitator:
        return []

    def key(assessment):
        return f"{assessment.uuid}/{assessment.valid_until:%Y-%m-%d}"

    staff = recipients(Category.ELIGIBILITY_EXPIRING, by_facilitator)
    category = str(Category.ELIGIBILITY_EXPIRING)
    sent = already_sent(
        (m.user.pk, category, key(a)) for m in staff for a in by_facilitator[m.organization_id]
    )
    outgoing = []
    for membership in staff:
        new = [
            a
            for a in by_facilitator[membership.organization_id]
            if (membership.user.pk, category, key(a)) not in sent
        ]
        if not new:
            continue
        notice = days_of(new[0].facilitator).eligibility_expiring_days
        listing = "\n".join(
            f"- {a.participant} : valable jusqu'au {a.valid_until:%d/%m/%Y} — "
            f"{absolute_url(reverse('www:participant_detail', kwargs={'uuid': a.participant.uuid}))}"
            for a in new
        )
        outgoing.append(
            Outgoing(
                user=membership.user,
                category=category,
                keys=tuple(key(a) for a in new),
                subject=(
                    "Clausier : une éligibilité arrive à échéance"
                    if len(new) == 1
                    else f"Clausier : {len(new)} éligibilités arrivent à échéance"
                ),
                body=(
                    f"Ces validations d'éligibilité suivies par {membership.organization.name} prennent fin "
                    f"dans les {notice} jours :\n\n{listing}\n\n"
                    "Renouvelez-les si les personnes sont toujours en parcours."
                ),
                organization=membership.organization,
            )
        )
    return outgoing


def due_notifications(today: datetime.date) -> list[Outgoing]:
    """Every periodic notification due on `today` and not sent yet (nothing is written)."""
    outgoing = statement_notifications(today) + eligibility_notifications(today)
    sent = already_sent(identity for o in outgoing for identity in o.identities())
    return [o for o in outgoing if any(identity not in sent for identity in o.identities())]


def send_due(today: datetime.date) -> list[Outgoing]:
    """Send the periodic notifications due on `today`; returns those sent (none twice, see `deliver`)."""
    return deliver(due_notifications(today))
