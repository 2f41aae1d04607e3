"""Notifications sent when something happens, called by the actions once their transaction commits."""

from django.urls import reverse

from clausier.notifications.delivery import notify_now
from clausier.notifications.models import Category
from clausier.utils.dates import month_label


def statement_returned(*, transition) -> None:
    """`statement_returned`: the employer's members learn that the facilitator returned its statement, and why.

    Called on commit (`employment.actions.change_statement_status`); keyed on the transition: replaying it
    sends nothing twice.
    """
    statement = transition.statement
    employer, facilitator = statement.employer, statement.facilitator
    label = month_label(statement.month)
    notify_now(
        category=Category.STATEMENT_RETURNED,
        organization=employer,
        subject=f"Clausier : relevé d'heures de {label} renvoyé pour correction",
        body=(
            f"{facilitator.name} a renvoyé pour correction le relevé d'heures de {label} de {employer.name}, "
            f"avec ce commentaire :\n\n« {transition.comment.strip()} »\n\n"
            "Corrigez les heures puis transmettez à nouveau le relevé :"
        ),
        url=reverse("www:statement_detail", kwargs={"uuid": statement.uuid}),
        key=f"transition:{transition.pk}",
    )
