"""The periodic notifications, sent by `clausier notify-due [--date D] [--dry-run]` (once a day, e.g. by cron).

- `statement_due`: from the 1st of the month, to the members of each company or insertion structure whose
  statement for the previous month is missing, still a draft or returned (the *relances* of
  `employment.queries.statements_to_chase`) — for each facilitator it works with.
- `statement_overdue`: the same, still missing from the 10th (`STATEMENT_OVERDUE_DAY`); from then on only this
  one is sent (a first run on the 12th does not send both).
- `eligibility_expiring`: to each facilitator's staff, the eligibility assessments ending in the next
  `ELIGIBILITY_EXPIRING_DAYS` days that no later assessment of the person extends, in one e-mail listing those
  not reported to that person before.

Idempotent: each e-mail has a key (employer and month; assessment and end date) logged in `SentNotification`,
and running the command twice sends nothing twice. Facilitators have no setting for these days yet: they are
the module constants below.
"""

import datetime

from django.db.models import Exists, OuterRef
from django.urls import reverse

from clausier.employment.queries import previous_month, statements_to_chase
from clausier.notifications.delivery import Outgoing, absolute_url, already_sent, deliver, recipients
from clausier.notifications.models import Category
from clausier.organizations.models import Facilitator, OrganizationKind
from clausier.participants.models import EligibilityAssessment
from clausier.utils.dates import month_label

STATEMENT_DUE_DAY = 1
STATEMENT_OVERDUE_DAY = 10
ELIGIBILITY_EXPIRING_DAYS = 30

EMPLOYERS = (OrganizationKind.COMPANY, OrganizationKind.INSERTION_STRUCTURE)
STATUS_WORDS = {"draft": " (il est resté en brouillon)", "returned": " (il a été renvoyé pour correction)"}


def statement_notifications(today: datetime.date) -> list[Outgoing]:
    """`statement_due` (from the 1st) or `statement_overdue` (from the 10th) for last month, one e-mail per
    member of each employer to chase, per facilitator.

    Queries: the facilitators, one per facilitator (its employers to chase), the recipients — whatever the
    number of contracts, statements and employers.
    """
    if today.day < STATEMENT_DUE_DAY:
        return []
    overdue = today.day >= STATEMENT_OVERDUE_DAY
    category = Category.STATEMENT_OVERDUE if overdue else Category.STATEMENT_DUE
    month = previous_month(today)
    label = month_label(month)
    chased = []  # (facilitator, employer annotated by statements_to_chase)
    for facilitator in Facilitator.objects.filter(is_active=True).order_by("pk"):
        chased += [
            (facilitator, employer)
            for employer in statements_to_chase(facilitator, month)
            if employer.kind in EMPLOYERS and employer.is_active
        ]
    members = {}
    for membership in recipients(category, {employer.pk for _, employer in chased}):
        members.setdefault(membership.organization_id, []).append(membership)
    if overdue:
        subject = f"Clausier : relevé d'heures de {label} en retard"
        intro = f"Le {STATEMENT_OVERDUE_DAY} du mois est passé et le relevé d'heures"
        state = "n'a toujours pas été transmis"
    else:
        subject = f"Clausier : relevé d'heures de {label} à transmettre"
        intro, state = "Le relevé d'heures", "n'a pas encore été transmis"
    outgoing = []
    for facilitator, employer in chased:
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
            for membership in members.get(employer.pk, [])
        ]
    return outgoing


def expiring_assessments(today: datetime.date):
    """Assessments ending between today and `ELIGIBILITY_EXPIRING_DAYS` days from now that no later assessment
    of the person extends, of people still on file (not merged, not anonymised); every facilitator, one query."""
    later = EligibilityAssessment.objects.filter(
        participant_id=OuterRef("participant_id"), valid_until__gt=OuterRef("valid_until")
    )
    return (
        EligibilityAssessment.objects.filter(
            valid_until__gte=today,
            valid_until__lte=today + datetime.timedelta(days=ELIGIBILITY_EXPIRING_DAYS),
            participant__merged_into__isnull=True,
            participant__anonymised_on__isnull=True,
            facilitator__is_active=True,
        )
        .filter(~Exists(later))
        .select_related("participant", "facilitator")
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
                    f"dans les {ELIGIBILITY_EXPIRING_DAYS} jours :\n\n{listing}\n\n"
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
