"""Optimistic locking: an edit form carries the `version` it was read at; a stale submit is refused.

- Models edited through forms carry `version = version_field()` (1 at creation).
- Update actions call `claim(instance, expected_version)` inside their transaction, before saving: one
  conditional UPDATE (`… SET version = version + 1 WHERE id = … AND version = expected`). Two simultaneous
  saves from the same version cannot both match: the second waits for the first's row lock, then finds the
  new version and is refused (`EditConflict`, nothing saved). Without `expected_version` (imports, scripts)
  the version is simply incremented.
- Edit views mix in `OptimisticLockMixin`: a hidden `version` field, passed to the action as
  `expected_version=self.expected_version`; a conflict is shown above the form, the user's input kept.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.utils import timezone

VERSION_FIELD = "version"
STALE = "Cette fiche a été modifiée entre-temps par {user} le {date} : rechargez la page"
STALE_UNKNOWN = "Cette fiche a été modifiée entre-temps : rechargez la page"


def version_field():
    """The `version` column of an edited record (incremented by `claim` on each save through the actions)."""
    return models.PositiveIntegerField("version", default=1, editable=False)


class EditConflict(ValidationError):
    """The record changed since the form was read (a ValidationError: forms show it as a non-field error)."""

    def __init__(self, message: str):
        super().__init__(message, code="stale")
        self.text = message


def last_change(instance) -> tuple[str, str] | None:
    """(who, when) of the latest audit entry about `instance`, or None."""
    from clausier.audit.models import AuditEntry

    object_id = str(getattr(instance, "uuid", None) or instance.pk)
    # A proxy (Buyer) and its concrete model (Organization) are logged under either label.
    labels = {instance._meta.label_lower, instance._meta.concrete_model._meta.label_lower}
    entry = (
        AuditEntry.objects.filter(object_type__in=labels, object_id=object_id)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    if entry is None:
        return None
    actor = entry.actor
    who = (actor.get_full_name() or actor.email) if actor is not None else "un traitement automatique"
    return who, timezone.localtime(entry.at).strftime("%d/%m/%Y à %H:%M")


def conflict_message(instance) -> str:
    change = last_change(instance)
    if change is None:
        return STALE_UNKNOWN
    return STALE.format(user=change[0], date=change[1])


def claim(instance, expected_version: int | None = None) -> int:
    """Take the next version of `instance` (call it in the writing transaction, before saving).

    Raises `EditConflict` when the stored version is no longer `expected_version`. Sets and returns the new
    version, so that a later `instance.save()` writes it back unchanged.
    """
    model = type(instance)
    rows = model._base_manager.filter(pk=instance.pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1) == 0:
        raise EditConflict(conflict_message(instance))
    instance.version = model._base_manager.filter(pk=instance.pk).values_list("version", flat=True).get()
    return instance.version


def check_version(instance, expected_version: int | None) -> None:
    """Refuse a stale submit without taking a version (for an edit that turns out to change nothing).

    `instance` must have been read under a row lock (`select_for_update`) in the current transaction.
    """
    if expected_version is not None and instance.version != expected_version:
        raise EditConflict(conflict_message(instance))


class OptimisticLockMixin:
    """For an edit view (a `StaffFormView`): the form carries the record's version in a hidden field.

    `get_locked_object()` is the edited record (None or unsaved: no version, e.g. a clause being created).
    `self.expected_version` is what the view passes to its action; an `EditConflict` raised by the action is
    shown above the form, with the user's input and nothing saved.
    """

    expected_version = None

    def get_locked_object(self):
        return getattr(self, "parent", None)

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        obj = self.get_locked_object()
        if obj is not None and obj.pk is not None:
            form.fields[VERSION_FIELD] = forms.IntegerField(
                widget=forms.HiddenInput, required=False, min_value=0, initial=obj.version
            )
        return form

    def form_valid(self, form):
        self.expected_version = form.cleaned_data.pop(VERSION_FIELD, None)
        try:
            return super().form_valid(form)
        except EditConflict as conflict:
            form.add_error(None, conflict.text)
            return self.form_invalid(form)
