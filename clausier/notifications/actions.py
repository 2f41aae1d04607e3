"""Writes on notification preferences. Keyword-only, atomic, audited."""

from django.db import transaction

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.notifications.models import Category, NotificationPreference


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
