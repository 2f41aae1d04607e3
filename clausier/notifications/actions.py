"""Writes on notification preferences and on a facilitator's notification days. Keyword-only, atomic, audited."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.notifications.models import Category, NotificationPreference
from clausier.organizations.access import current_organization, is_facilitator_admin
from clausier.organizations.models import FacilitatorSettings


def preferences_of(user) -> dict[str, bool]:
    """{category: enabled} for every category (on unless switched off). One query."""
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("category", "enabled"))
    return {category.value: stored.get(category.value, True) for category in Category}


@transaction.atomic
def set_preferences(*, user, choices: dict[str, bool], by) -> list[str]:
    """Switch categories on or off for `user` ({category: enabled}); returns the categories changed (one audit
    entry each)."""
    current = preferences_of(user)
    changed = []
    for category, enabled in choices.items():
        category = Category(category).value
        if current[category] == bool(enabled):
            continue
        preference, _ = NotificationPreference.objects.update_or_create(
            user=user, category=category, defaults={"enabled": bool(enabled)}
        )
        record(
            action=Action.UPDATE,
            obj=preference,
            by=by,
            changes={"enabled": [current[category], bool(enabled)]},
            detail=f"notifications « {Category(category).label} »",
        )
        changed.append(category)
    return changed


# --- The facilitator's notification days (`clausier notify-due`, see `periodic.py`) ----------------------------

# Days of the month: every month has a 28th. The overdue day comes after the due day.
STATEMENT_DUE_DAY = (1, 28)
STATEMENT_OVERDUE_DAY = (2, 28)
ELIGIBILITY_EXPIRING_DAYS = (1, 365)
DUE_DAY_ERROR = (
    "Le jour où le relevé est demandé doit être compris entre 1 et 28 (un jour que tous les mois comptent)."
)
OVERDUE_DAY_ERROR = (
    "Le jour où le relevé est en retard doit être compris entre 2 et 28 (un jour que tous les mois comptent)."
)
OVERDUE_BEFORE_DUE_ERROR = "Le jour où le relevé est en retard doit venir après le jour où il est demandé."
EXPIRING_DAYS_ERROR = "Le préavis avant la fin d'une éligibilité doit être compris entre 1 et 365 jours."
NOTIFICATION_DAYS_ADMIN_ONLY = (
    "Seul un administrateur du facilitateur peut modifier les jours des notifications."
)


def notification_days_errors(*, statement_due_day, statement_overdue_day, eligibility_expiring_days) -> dict:
    """{field: French message} of the values out of bounds (empty when all are right)."""
    errors = {}

    def within(value, bounds):
        return isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]

    if not within(statement_due_day, STATEMENT_DUE_DAY):
        errors["statement_due_day"] = DUE_DAY_ERROR
    if not within(statement_overdue_day, STATEMENT_OVERDUE_DAY):
        errors["statement_overdue_day"] = OVERDUE_DAY_ERROR
    elif "statement_due_day" not in errors and statement_overdue_day <= statement_due_day:
        errors["statement_overdue_day"] = OVERDUE_BEFORE_DUE_ERROR
    if not within(eligibility_expiring_days, ELIGIBILITY_EXPIRING_DAYS):
        errors["eligibility_expiring_days"] = EXPIRING_DAYS_ERROR
    return errors


@transaction.atomic
def set_notification_days(
    *, facilitator, by, statement_due_day: int, statement_overdue_day: int, eligibility_expiring_days: int
) -> FacilitatorSettings:
    """When `notify-due` chases the statements of the previous month (from the `statement_due_day`th, then as
    overdue from the `statement_overdue_day`th) and how long before its end an eligibility is reported.

    Reserved to the facilitator's administrators, acting for it. The audit entry holds the values before and
    after; a save that changes nothing writes nothing. Takes effect at the next run of the command (the keys
    of the e-mails already sent do not change: nothing is sent twice).
    """
    org = current_organization(by)
    if org is None or org.pk != facilitator.pk or not is_facilitator_admin(by):
        raise PermissionDenied(NOTIFICATION_DAYS_ADMIN_ONLY)
    values = {
        "statement_due_day": statement_due_day,
        "statement_overdue_day": statement_overdue_day,
        "eligibility_expiring_days": eligibility_expiring_days,
    }
    errors = notification_days_errors(**values)
    if errors:
        raise ValidationError(errors)
    settings, created = FacilitatorSettings.objects.select_for_update().get_or_create(facilitator=facilitator)
    before = snapshot(settings)
    for name, value in values.items():
        setattr(settings, name, value)
    changes = diff({} if created else before, snapshot(settings))
    if not created and not changes:
        return settings
    settings.full_clean()
    settings.save()
    record(
        action=Action.CREATE if created else Action.UPDATE,
        obj=settings,
        by=by,
        changes=changes,
        detail="jours des notifications",
    )
    return settings
