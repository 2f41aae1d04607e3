"""Writing to the audit log, from actions (`record`) with before/after snapshots (`snapshot`, `diff`)."""

import datetime
import decimal
import uuid

from django.db import models

from clausier.audit.models import Action, AuditEntry


def _plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (datetime.date, datetime.datetime, decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def snapshot(obj: models.Model) -> dict:
    """The concrete field values of a row, JSON-ready (foreign keys as ids)."""
    return {
        field.attname: _plain(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if field.attname not in {"created_at", "updated_at"}
    }


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields that changed."""
    return {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}


def channel_of(by) -> str:
    """« API, jeton « name » » when `by` acts through an API token (set by `clausier.api.auth`)."""
    token = getattr(by, "api_token", None)
    return f"API, jeton « {token.name} »"[:120] if token is not None else ""


def _entry(*, action: str, obj: models.Model, by, changes: dict, detail: str, facilitator=None) -> AuditEntry:
    """The unsaved entry `record` writes: whose log (`obj`'s facilitator, else `facilitator`, else the author's
    organization when it is a facilitator), the author and its organization, how it acted (`channel_of`)."""
    facilitator_id = getattr(obj, "facilitator_id", None) or getattr(facilitator, "pk", None)
    organization = getattr(by, "current_organization", None) if by is not None else None
    return AuditEntry(
        actor=by if getattr(by, "is_authenticated", False) else None,
        organization=organization,
        facilitator_id=facilitator_id
        or (organization.pk if organization and organization.is_facilitator else None),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(getattr(obj, "uuid", None) or obj.pk),
        object_repr=str(obj)[:255],
        changes=changes or {},
        detail=detail[:500],
        channel=channel_of(by),
    )


def record(
    *,
    action: str,
    obj: models.Model,
    by=None,
    changes: dict | None = None,
    detail: str = "",
    facilitator=None,
) -> AuditEntry:
    """Write one audit entry for `obj`. Call it inside the action's transaction.

    `facilitator`: whose log the entry goes to, when neither `obj` nor the author's organization tells (a
    company downloading the statement template of one of its facilitators)."""
    if action == Action.CREATE and changes is None:
        changes = {key: [None, value] for key, value in snapshot(obj).items()}
    entry = _entry(action=action, obj=obj, by=by, changes=changes, detail=detail, facilitator=facilitator)
    entry.save(force_insert=True)
    return entry


def record_view(*, obj: models.Model, by, detail: str = "") -> AuditEntry:
    """Log that `by` was shown the personal data of `obj` (a participant's file, a contract).

    The one write a GET makes (CNIL: log who viewed personal data). One INSERT and no read: the actor and
    its organization are those the middleware already resolved, `obj` is the object the page shows.
    """
    return record(action=Action.VIEW, obj=obj, by=by, detail=detail)


def record_views(objs, *, by, detail: str = "") -> list[AuditEntry]:
    """`record_view` for each of `objs` (the people of a list an API program read), in one INSERT whatever
    their number: one entry per object, with the same author, organization, channel and detail."""
    entries = [_entry(action=Action.VIEW, obj=obj, by=by, changes={}, detail=detail) for obj in objs]
    return AuditEntry.objects.bulk_create(entries) if entries else []
