"""Sending notifications by e-mail, for every category.

For other apps (the matching app: `candidate_proposed`, `offer_answered`)::

    from clausier.notifications.delivery import notify
    from clausier.notifications.models import Category

    notify(
        category=Category.CANDIDATE_PROPOSED,
        organization=company,                      # who is told: its active members…
        subject="Clausier : une candidature vous est proposée",
        body="Mission locale de Toulouse vous propose une candidature pour le lot 3 …",
        url=reverse("www:…", kwargs={"uuid": offer.uuid}),   # optional; made absolute with SITE_URL
        key=f"proposal:{proposal.uuid}",           # optional; the same key is never sent twice to a person
    )

`notify` e-mails the active members (active account, active membership, active organization) of
`organization` who did not switch `category` off on their « Mes notifications » page. It sends **after the
current transaction commits** (at once outside a transaction) and nothing if it rolls back, so call it from the
action, inside its transaction. One e-mail per person (no address of anyone else in it), each logged in
`SentNotification`; a failure to send is logged and does not undo the action. Subjects and bodies are French
sentences; the body is plain text, the greeting, link and footer are added here.
"""

import dataclasses
import logging
import uuid

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse

from clausier.notifications.models import Category, NotificationPreference, SentNotification
from clausier.organizations.models import Membership

logger = logging.getLogger(__name__)


def absolute_url(path: str, request=None) -> str:
    """A link for an e-mail: `SITE_URL` + path, else the request's host, else the path as it is."""
    if not path or path.startswith(("http://", "https://")):
        return path
    if settings.SITE_URL:
        return settings.SITE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


@dataclasses.dataclass
class Outgoing:
    """One e-mail to one person, logged under each of its `keys` (the objects and periods it reports on: an
    employer's month, or the several assessments of a digest); a key already logged for the person is not
    reported again."""

    user: object
    category: str
    keys: tuple
    subject: str
    body: str
    organization: object = None
    url: str = ""

    def identities(self) -> list[tuple]:
        return [(self.user.pk, str(self.category), key) for key in self.keys]

    def message(self) -> EmailMessage:
        lines = ["Bonjour,", "", self.body.strip()]
        if self.url:
            lines += ["", absolute_url(self.url)]
        lines += ["", "— Clausier", ""]
        if self.organization is not None:
            lines.append(f"Vous recevez ce message en tant que membre de {self.organization}.")
        label = Category(self.category).label
        lines.append(
            f"Pour ne plus recevoir les messages « {label} » : "
            f"{absolute_url(reverse('www:notification_preferences'))}"
        )
        return EmailMessage(subject=self.subject, body="\n".join(lines), to=[self.user.email])


def recipients(category: str, organization_ids) -> list[Membership]:
    """Active memberships (with user and organization) of these organizations whose user has an active account
    and did not switch `category` off. One query, whatever the number of organizations and people."""
    switched_off = NotificationPreference.objects.filter(
        user_id=OuterRef("user_id"), category=category, enabled=False
    )
    return list(
        Membership.objects.active()
        .filter(organization_id__in=list(organization_ids), user__is_active=True)
        .exclude(user__email="")
        .filter(~Exists(switched_off))
        .select_related("user", "organization")
        .order_by("organization_id", "user__email")
    )


def already_sent(identities) -> set[tuple]:
    """Which of these (user id, category, key) are in the log. One query."""
    identities = list(identities)
    if not identities:
        return set()
    users, categories, keys = (set(column) for column in zip(*identities, strict=True))
    rows = SentNotification.objects.filter(user_id__in=users, category__in=categories, key__in=keys)
    return set(rows.values_list("user_id", "category", "key")) & set(identities)


def deliver(outgoing: list[Outgoing]) -> list[Outgoing]:
    """Send the e-mails that report something not logged yet, and log it, all or nothing; returns those sent.

    Queries: one read of the log, one insert, whatever the number of e-mails. A concurrent run that logged the
    same notifications first makes this one fail (unique log) rather than send twice.
    """
    sent = already_sent(identity for o in outgoing for identity in o.identities())
    fresh, rows = [], []
    for o in outgoing:
        new = [identity for identity in o.identities() if identity not in sent]
        if new:
            sent.update(new)
            fresh.append(o)
            rows += [
                SentNotification(user=o.user, category=category, key=key, subject=o.subject[:255])
                for _, category, key in new
            ]
    if not fresh:
        return []
    with transaction.atomic():
        SentNotification.objects.bulk_create(rows)
        mailers.default.send_messages([o.message() for o in fresh])
    return fresh


def notify_now(*, category, organization, subject, body, url="", key) -> list[Outgoing]:
    """`notify` at once (for code already running after the commit); returns the e-mails sent."""
    outgoing = [
        Outgoing(
            user=m.user,
            category=category,
            keys=(key,),
            subject=subject,
            body=body,
            organization=organization,
            url=url,
        )
        for m in recipients(category, [organization.pk])
    ]
    try:
        return deliver(outgoing)
    except OSError:  # SMTP errors too: the action is committed, a mail server down must not undo or hide it
        logger.exception("Notification « %s » non envoyée (%s)", category, organization)
        return []


def notify(*, category, organization, subject: str, body: str, url: str = "", key: str = "") -> None:
    """E-mail the active members of `organization` who did not switch `category` off, once the current
    transaction commits. `key` (optional): the same key is never sent twice to the same person."""
    category = Category(category)
    key = key or f"event:{uuid.uuid4().hex}"
    transaction.on_commit(
        lambda: notify_now(
            category=category, organization=organization, subject=subject, body=body, url=url, key=key
        )
    )
