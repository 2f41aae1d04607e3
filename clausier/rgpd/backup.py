"""Backup and restore, portable across SQLite and PostgreSQL.

The file is gzip-compressed JSON lines, independent of the database engine:

- line 1, the header: format, creation date, source engine (for information), the applied migrations
  (the schema state), and for each table in dependency order its model, its columns and its row count;
- then one line per row: `[model label, [values in the header's column order]]`, tables in that order.

Values are plain JSON: dates, times and decimals as ISO / decimal strings, UUIDs as strings, JSON fields as
JSON, binary as base64; foreign keys as ids, except those to Django's permissions (natural keys: ids of
`auth_permission` differ from one database to the other).

Tables: every model of Clausier's apps (`clausier.*`), plus user groups and their permissions. Not saved:
sessions, the task queue, the admin's own history, content types and permissions (rebuilt by `migrate`).
Uploaded files (MEDIA_ROOT) are not in the file: back that directory up beside it.

Restore refuses a database that is not empty or that is at another migration state; it loads everything in
one transaction (bulk inserts, ids kept) and then resets PostgreSQL's sequences.
"""

import base64
import datetime
import decimal
import gzip
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = "clausier-backup"
FORMAT_VERSION = 1
BATCH_SIZE = 1000


class BackupError(Exception):
    """A backup cannot be restored here; the message is French, for the operator."""


# --- Which tables, in which order ---------------------------------------------------------------------------


def backed_up_models() -> list[type[models.Model]]:
    """Every concrete model of Clausier's apps, plus groups, in dependency order (referenced tables first)."""
    chosen = [Group, Group.permissions.through]
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or model in chosen:
            continue
        if meta.app_config.name.startswith("clausier."):
            chosen.append(model)
    return _dependency_order(chosen)


def _dependency_order(chosen: list) -> list:
    labels = {m._meta.label: m for m in chosen}
    depends = {
        m._meta.label: {
            f.related_model._meta.concrete_model._meta.label
            for f in m._meta.concrete_fields
            if f.is_relation and f.related_model is not None
        }
        & set(labels) - {m._meta.label}
        for m in chosen
    }
    ordered, done = [], set()
    pending = sorted(labels)
    while pending:
        ready = [label for label in pending if depends[label] <= done] or pending[:1]  # a cycle: any order
        for label in ready:
            ordered.append(labels[label])
            done.add(label)
        pending = [label for label in pending if label not in done]
    return ordered


def _natural_key_model(field) -> type[models.Model] | None:
    """Foreign keys to Django's permissions are saved as natural keys."""
    if field.is_relation and field.related_model is Permission:
        return Permission
    return None


# --- Values --------------------------------------------------------------------------------------------------


def _encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, datetime.timedelta):
        from django.utils.duration import duration_iso_string

        return duration_iso_string(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value  # JSON fields: already JSON-ready


def _decoder(field):
    if isinstance(field, models.JSONField):
        return lambda value: value
    return field.to_python


# --- Migration state -----------------------------------------------------------------------------------------


def migration_state(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    recorder = MigrationRecorder(connections[using])
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


# --- Backup --------------------------------------------------------------------------------------------------


@dataclass
class Summary:
    tables: int
    rows: int
    counts: dict[str, int]


def backup(path, *, using: str = DEFAULT_DB_ALIAS) -> Summary:
    """Write every backed-up table to `path` (one consistent snapshot: a single read transaction)."""
    chosen = backed_up_models()
    outermost = not connections[using].in_atomic_block
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql" and outermost:
            with connections[using].cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        counts = {m._meta.label: m._base_manager.using(using).count() for m in chosen}
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "source_engine": connections[using].vendor,
            "migrations": migration_state(using),
            "tables": [
                {
                    "model": m._meta.label,
                    "columns": [f.attname for f in m._meta.concrete_fields],
                    "rows": counts[m._meta.label],
                }
                for m in chosen
            ],
        }
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for model in chosen:
                for row in _rows(model, using):
                    out.write(json.dumps([model._meta.label, row], ensure_ascii=False) + "\n")
    return Summary(tables=len(chosen), rows=sum(counts.values()), counts=counts)


def _rows(model, using) -> Iterable[list]:
    fields = model._meta.concrete_fields
    natural = {i: _natural_key_model(f) for i, f in enumerate(fields) if _natural_key_model(f)}
    keys = {}
    for target in set(natural.values()):
        keys[target] = {obj.pk: list(obj.natural_key()) for obj in target._base_manager.using(using).all()}
    queryset = model._base_manager.using(using).order_by("pk").values_list(*[f.attname for f in fields])
    for values in queryset.iterator(chunk_size=2000):
        row = [_encode(v) for v in values]
        for i, target in natural.items():
            if values[i] is not None:
                row[i] = keys[target][values[i]]
        yield row


# --- Restore -------------------------------------------------------------------------------------------------


def read_header(path) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            header = json.loads(source.readline())
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"Ce fichier n'est pas une sauvegarde Clausier lisible ({error}).") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("Ce fichier n'est pas une sauvegarde Clausier.")
    if header.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Version de format {header.get('format_version')} non prise en charge "
            f"(cette version de Clausier lit la version {FORMAT_VERSION})."
        )
    return header


def non_empty_tables(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    counts = {m._meta.label: m._base_manager.using(using).count() for m in backed_up_models()}
    return {label: n for label, n in counts.items() if n}


def check_restorable(header: dict, using: str = DEFAULT_DB_ALIAS) -> None:
    here = set(migration_state(using))
    there = set(header["migrations"])
    if here != there:
        missing_here = sorted(there - here)
        extra_here = sorted(here - there)
        parts = []
        if missing_here:
            parts.append("migrations de la sauvegarde absentes ici : " + ", ".join(missing_here[:10]))
        if extra_here:
            parts.append(
                "migrations appliquées ici mais pas dans la sauvegarde : " + ", ".join(extra_here[:10])
            )
        raise BackupError(
            "Cette sauvegarde provient d'un autre état du schéma de la base ("
            + " ; ".join(parts)
            + "). Restaurez-la avec la version de Clausier qui l'a produite, puis migrez."
        )
    filled = non_empty_tables(using)
    if filled:
        sample = ", ".join(f"{label} ({n})" for label, n in list(filled.items())[:5])
        raise BackupError(
            "La base de destination n'est pas vide "
            f"({sum(filled.values())} ligne(s), par exemple : {sample}). "
            "La restauration se fait dans une base vide, créée par « clausier migrate »."
        )
    known = {m._meta.label: m for m in backed_up_models()}
    for table in header["tables"]:
        model = known.get(table["model"])
        if model is None:
            raise BackupError(f"Table inconnue dans cette version de Clausier : {table['model']}.")
        columns = [f.attname for f in model._meta.concrete_fields]
        if columns != table["columns"]:
            raise BackupError(f"Les colonnes de {table['model']} ne correspondent pas à ce schéma.")


class _KeepTimestamps:
    """Bulk inserts keep the saved `created_at`/`updated_at`/`at` instead of stamping "now"."""

    def __enter__(self):
        self.changed = []
        for model in backed_up_models():
            for field in model._meta.concrete_fields:
                if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                    self.changed.append((field, field.auto_now, field.auto_now_add))
                    field.auto_now = field.auto_now_add = False
        return self

    def __exit__(self, *exc):
        for field, auto_now, auto_now_add in self.changed:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def restore(path, *, using: str = DEFAULT_DB_ALIAS) -> Summary:
    """Load `path` into an empty database at the same migration state. All or nothing."""
    header = read_header(path)
    check_restorable(header, using)
    known = {m._meta.label: m for m in backed_up_models()}
    expected = {t["model"]: t["rows"] for t in header["tables"]}
    loaded = dict.fromkeys(expected, 0)
    connection = connections[using]
    with transaction.atomic(using=using), _KeepTimestamps():
        current, decoders, batch = None, None, []

        def flush():
            if batch:
                current.objects_model._base_manager.using(using).bulk_create(batch, batch_size=BATCH_SIZE)
                loaded[current.label] += len(batch)
                batch.clear()

        with gzip.open(path, "rt", encoding="utf-8") as source:
            source.readline()
            for number, line in enumerate(source, start=2):
                try:
                    label, values = json.loads(line)
                except ValueError as error:
                    raise BackupError(f"Ligne {number} illisible : le fichier est abîmé.") from error
                if current is None or label != current.label:
                    flush()
                    if label not in known:
                        raise BackupError(f"Ligne {number} : table inconnue {label}.")
                    current = _Table(label, known[label], using)
                    decoders = current.decoders
                batch.append(
                    current.instance([decode(v) for decode, v in zip(decoders, values, strict=True)])
                )
                if len(batch) >= BATCH_SIZE:
                    flush()
            flush()
        wrong = {label: (loaded[label], n) for label, n in expected.items() if loaded[label] != n}
        if wrong:
            raise BackupError(
                "Sauvegarde incomplète : "
                + ", ".join(f"{label} {got}/{n} ligne(s)" for label, (got, n) in wrong.items())
            )
        statements = connection.ops.sequence_reset_sql(no_style(), list(known.values()))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
    return Summary(tables=len(expected), rows=sum(loaded.values()), counts=loaded)


class _Table:
    def __init__(self, label, model, using):
        self.label = label
        self.objects_model = model
        self.fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in self.fields]
        self.decoders = []
        for field in self.fields:
            target = _natural_key_model(field)
            if target is not None:
                manager = target.objects.db_manager(using)
                self.decoders.append(
                    lambda key, manager=manager: None if key is None else manager.get_by_natural_key(*key).pk
                )
            else:
                decode = _decoder(field)
                self.decoders.append(lambda value, decode=decode: None if value is None else decode(value))

    def instance(self, values):
        return self.objects_model(**dict(zip(self.attnames, values, strict=True)))
