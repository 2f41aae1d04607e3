"""A worker killed in the middle of a background import: the import is absent (its transaction died with it),
the run and its task show failed with a French message, and the next worker takes the next task.

Real processes on a database of their own (a file for SQLite, a fresh database on the PostgreSQL server of
the suite), since a test's own database lives inside its transaction. The steps are in `worker_process.py`.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from django.conf import settings
from django.utils import timezone

from clausier.imports.models import ImportRun, ImportState
from clausier.imports.workers import BEAT_LOST, alive, dead, identity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_database(tmp_path):
    """A `DATABASE_URL` for the processes: a SQLite file, or a new database on the suite's PostgreSQL."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        yield f"sqlite:///{tmp_path / 'worker.sqlite3'}"
        return
    import psycopg

    name = f"clausier_worker_{uuid.uuid4().hex[:12]}"
    server = {"host": db["HOST"] or "localhost", "port": db["PORT"] or 5432, "user": db["USER"]}
    server["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        credentials = f"{quote(server['user'])}:{quote(server['password'] or '')}"
        yield f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def step(database_url: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.imports.worker_process", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_worker_killed_in_the_middle_of_a_commit(own_database, tmp_path):
    run_uuid = step(own_database, "prepare")
    marker = tmp_path / "writing"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.imports.worker_process", "slow-worker", str(marker)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": own_database},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not marker.exists() or not marker.read_text():
            assert worker.poll() is None, worker.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the worker never reached the commit"
            time.sleep(0.1)
        # In the middle of the commit's transaction: the rows are written, not committed.
        assert marker.read_text() == "1"
        time.sleep(1)  # a few heartbeats (every 0.2 s in this worker)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stderr.close()

    seen = json.loads(step(own_database, "look", run_uuid))

    assert seen["state_before_look"] == ImportState.COMMITTING  # the worker never said anything
    assert seen["worker"].split("|")[1] == str(worker.pid)
    assert seen["hours_of_the_file"] == 0  # the import is absent
    # It beat while it wrote, where the commit's transaction leaves the rest of the database writable.
    assert seen["beat"] is (settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3")
    assert seen["progress_status"] == 200 and seen["state"] == ImportState.FAILED
    assert seen["message"].startswith("Le service de traitement en arrière-plan s'est arrêté brutalement")
    assert 'data-testid="import-failed"' in seen["progress"]
    assert "Vérifier le fichier à nouveau" in seen["progress"]  # and the page offers to relaunch
    assert seen["task_status"] == "FAILED"
    assert "releve.csv</a> — Échec" in seen["start_page"]  # the list of the last imports says it too
    assert seen["state_after_relaunch"] == ImportState.READY and seen["ok_after_relaunch"]


# --- The rules, without processes -----------------------------------------------------------------------------


def test_a_process_is_alive_only_while_it_is_itself():
    me = identity()
    assert alive(me) is True
    host, pid, started = me.split("|")
    assert alive(f"{host}|{pid}|{float(started) - 100:.2f}") is False  # the pid reused by another process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert alive(identity_of(child.pid, host)) is False  # ended
    assert alive(f"ailleurs.example|{pid}|{started}") is None  # another machine: cannot say
    assert alive("illisible") is None


def identity_of(pid: int, host: str) -> str:
    try:
        return identity(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return f"{host}|{pid}|0.00"


def test_a_run_of_another_machine_is_dead_when_it_gives_no_news():
    now = timezone.now()
    run = ImportRun(state=ImportState.COMMITTING, worker="ailleurs.example|42|1.00", updated_at=now)
    assert not dead(run, now=now + BEAT_LOST)
    assert dead(run, now=now + BEAT_LOST * 2)
    run.beat_at = now + BEAT_LOST  # its heartbeat
    assert not dead(run, now=now + BEAT_LOST * 2)
    # Not working (queued, ready, done…) or never claimed: not for this rule.
    for state in (ImportState.QUEUED, ImportState.READY, ImportState.DONE):
        assert not dead(ImportRun(state=state, worker=run.worker, updated_at=now), now=now + BEAT_LOST * 9)
    assert not dead(ImportRun(state=ImportState.VALIDATING, updated_at=now), now=now + BEAT_LOST * 9)
