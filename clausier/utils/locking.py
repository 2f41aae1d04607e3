"""Optimistic locking: an edit form carries the `version` it was read at; a stale submit is refused.

- Models edited through forms carry `version = version_field()` (1 at creation).
- Update actions call `claim(instance, expected_version)` inside their transaction, before saving: one
  conditional UPDATE (`… SET version = version + 1 WHERE id = … AND version = expected`). Two simultaneous
  saves from the same version cannot both match: the second waits for the first's row lock, then finds the
  new version and is refused (`EditConflict`, nothing saved). Without `expected_version` (imports, scripts)
  the version is simply incremented.
- Edit views mix in `OptimisticLockMixin`: a hidden `version` field, passed to the action as
  `expected_version=self.expected_version`; a conflict is shown above the form, the user's input kept.
- Records without a `version` column (outcomes, globalisation agreements, the public site's texts, documents
  and partners) are versioned by their `updated_at` stamp: the form carries `version_of(record)` and the
  action, having read the record under a row lock (`select_for_update`), calls `check_version` before
  saving — the save moves `updated_at`, so a second submit from the same reading is refused. A form opened
  while the record did not exist yet (`lock_absent`: an outcome not recorded, texts never written) carries
  `ABSENT`, refused once someone has created the record meanwhile.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.utils import timezone

VERSION_FIELD = "version"
STAMP_FIELD = "updated_at"  # the version of a record without a `version` column
ABSENT = "absent"  # the version of a record that did not exist when the form was read
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


def has_version_column(model) -> bool:
    return any(field.name == VERSION_FIELD for field in model._meta.concrete_fields)


def version_of(instance):
    """What an edit form carries: the `version` column (an int), or else the `updated_at` stamp (a string,
    UTC to the microsecond); `ABSENT` for no record or an unsaved one."""
    if instance is None or instance._state.adding:
        return ABSENT
    if has_version_column(type(instance)):
        return instance.version
    stamp = getattr(instance, STAMP_FIELD)
    return stamp.astimezone(datetime.UTC).isoformat(timespec="microseconds") if stamp else ABSENT


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


def check_version(instance, expected_version: int | str | None) -> None:
    """Refuse a stale submit without taking a version (for an edit that turns out to change nothing, and for
    the records versioned by their `updated_at` stamp).

    `instance` (None: no record now) must have been read under a row lock (`select_for_update`) in the
    current transaction. `expected_version` is what the form carried (`version_of` when it was read).
    """
    if expected_version is None or expected_version == "":
        return
    if str(version_of(instance)) != str(expected_version):
        raise EditConflict(STALE_UNKNOWN if instance is None else conflict_message(instance))


class OptimisticLockMixin:
    """For an edit view (a `StaffFormView`): the form carries the record's version in a hidden field.

    `get_locked_object()` is the edited record (None or unsaved: no version, e.g. a clause being created —
    unless `lock_absent`, then the form carries `ABSENT`). `self.expected_version` is what the view passes to
    its action; an `EditConflict` raised by the action is shown above the form, with the user's input and
    nothing saved.
    """

    expected_version = None
    lock_absent = False  # a form for a record that may not exist yet also refuses a creation meanwhile

    def get_locked_object(self):
        return getattr(self, "parent", None)

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        obj = self.get_locked_object()
        exists = obj is not None and not obj._state.adding
        if exists and has_version_column(type(obj)):
            form.fields[VERSION_FIELD] = forms.IntegerField(
                widget=forms.HiddenInput, required=False, min_value=0, initial=obj.version
            )
        elif exists or self.lock_absent:
            form.fields[VERSION_FIELD] = forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=40, initial=version_of(obj)
            )
        return form

    def form_valid(self, form):
        self.expected_version = form.cleaned_data.pop(VERSION_FIELD, None)
        try:
            return super().form_valid(form)
        except EditConflict as conflict:
            form.add_error(None, conflict.text)
            return self.form_invalid(form)
