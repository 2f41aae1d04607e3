"""Backup and restore: a round trip into an empty database leaves every indicator and row count identical;
restore refuses a non-empty database or another migration state; the file does not depend on the engine."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from clausier.audit.models import AuditEntry
from clausier.participants.models import Participant
from clausier.rgpd.backup import backed_up_models
from tests.factories import ParticipantFactory
from tests.rgpd.helpers import every_figure, world_with_history


def row_counts() -> dict:
    return {m._meta.label: m._base_manager.count() for m in backed_up_models()}


@pytest.mark.django_db(transaction=True)
def test_round_trip_into_an_empty_database_keeps_every_indicator(tmp_path):
    world = world_with_history()
    fac = world.facilitator
    before_figures = every_figure(fac)
    before_counts = row_counts()
    audit_dates = list(AuditEntry.objects.order_by("pk").values_list("pk", "at"))
    assert before_figures["all"]["hours"] > 0 and before_figures["all"]["participants"] > 0
    path = tmp_path / "sauvegarde.jsonl.gz"

    call_command("backup", str(path), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    assert sum(row_counts().values()) == 0
    call_command("restore", str(path), verbosity=0)

    assert row_counts() == before_counts
    assert every_figure(fac) == before_figures
    # Timestamps are the saved ones (not "now"), ids are kept.
    assert list(AuditEntry.objects.order_by("pk").values_list("pk", "at")) == audit_dates
    assert Participant.objects.get(pk=world.old.pk).merged_records.get().pk == world.duplicate.pk
    # Sequences follow the restored ids: new rows get fresh ids.
    new = ParticipantFactory(facilitator=fac)
    assert new.pk > max(p.pk for p in Participant.objects.exclude(pk=new.pk))


@pytest.mark.django_db
def test_restore_refuses_a_non_empty_database(tmp_path, world_a):
    path = tmp_path / "s.jsonl.gz"
    call_command("backup", str(path), verbosity=0)
    count = Participant.objects.count()
    with pytest.raises(CommandError, match="La base de destination n'est pas vide"):
        call_command("restore", str(path), verbosity=0)
    assert Participant.objects.count() == count


@pytest.mark.django_db
def test_restore_refuses_another_migration_state(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    call_command("backup", str(path), verbosity=0)
    with gzip.open(path, "rt", encoding="utf-8") as source:
        header, *rows = source.read().splitlines()
    header = json.loads(header)
    header["migrations"].append("participants.9999_futur")
    other = tmp_path / "autre.jsonl.gz"
    with gzip.open(other, "wt", encoding="utf-8") as out:
        out.write("\n".join([json.dumps(header), *rows]) + "\n")
    with pytest.raises(CommandError, match="autre état du schéma.*participants.9999_futur"):
        call_command("restore", str(other), verbosity=0)


@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(b"pas une sauvegarde")
    with pytest.raises(CommandError, match="pas une sauvegarde Clausier"):
        call_command("restore", str(path), verbosity=0)


@pytest.mark.django_db
def test_the_file_holds_only_plain_json(tmp_path, world_a):
    path = tmp_path / "s.jsonl.gz"
    call_command("backup", str(path), verbosity=0)
    with gzip.open(path, "rt", encoding="utf-8") as source:
        header = json.loads(source.readline())
        rows = [json.loads(line) for line in source]
    labels = [t["model"] for t in header["tables"]]
    assert labels.index("organizations.Organization") < labels.index("participants.Participant")
    assert labels.index("participants.Participant") < labels.index("employment.Contract")
    assert {t["model"]: t["rows"] for t in header["tables"]} == row_counts()
    assert len(rows) == sum(row_counts().values())
    assert "sessions.Session" not in labels and "contenttypes.ContentType" not in labels


SOURCE_SCRIPT = """
import json
from tests.rgpd.helpers import every_figure, world_with_history
world = world_with_history()
print(json.dumps(every_figure(world.facilitator), default=str))
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="portability is checked when the tests run on PostgreSQL"
)
def test_a_sqlite_backup_restores_into_postgresql(tmp_path):
    """Build the world in a SQLite database (another process), back it up, restore it here (PostgreSQL)."""
    root = Path(settings.BASE_DIR)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'source.db'}",
        "DEBUG": "1",
        "PYTHONPATH": str(root),
    }
    clausier = [sys.executable, "-c", "from clausier.cli import main; main()"]

    def run(*args, **kwargs):
        return subprocess.run(
            args, cwd=root, env=env, check=True, capture_output=True, text=True, timeout=300, **kwargs
        )

    run(*clausier, "migrate", "-v0")
    run(*clausier, "load_reference", "-v0")
    figures = json.loads(run(*clausier, "shell", "-v0", "-c", SOURCE_SCRIPT).stdout.strip().splitlines()[-1])
    path = tmp_path / "sqlite.jsonl.gz"
    run(*clausier, "backup", str(path))

    call_command("flush", interactive=False, verbosity=0)
    call_command("restore", str(path), verbosity=0)
    from clausier.organizations.models import Organization

    fac = Organization.objects.get(slug="cellule-a")
    assert json.loads(json.dumps(every_figure(fac), default=str)) == figures
