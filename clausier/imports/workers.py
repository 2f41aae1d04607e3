"""Which worker runs a background import, and how Clausier knows that it died.

The task framework's worker (`clausier db_worker`, django-tasks' database backend) keeps no heartbeat: a
worker killed outright (SIGKILL, out of memory, power cut) leaves its task "running" for ever. So each
import task records, when it claims its run, the process that runs it (`identity`: host, pid, start time),
and beats every `BEAT_SECONDS` while it works (a thread with its own database connection).

A run is then known dead (`dead`):
- on the same machine as the one that looks, at once: its process no longer exists (or is another one that
  reused the pid, or a zombie);
- from another machine (several nodes on PostgreSQL), when neither its progress nor its beats have been
  heard of for `BEAT_LOST`. On SQLite, one machine by nature, the first rule always applies: there the beats
  cannot be written while the commit's transaction holds the database.

`reap` marks the dead runs failed with a French message (the commit's transaction died with its process:
nothing was written) and their task failed too; the import pages call it, so the user sees it the next time
the progress is polled.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading

import psutil
from django.db import OperationalError, connection, connections, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from .models import ImportRun, ImportState

logger = logging.getLogger(__name__)

BEAT_SECONDS = 10
BEAT_LOST = dt.timedelta(minutes=2)  # twelve beats missed: the worker of another machine is gone
WORKING_STATES = (ImportState.VALIDATING, ImportState.COMMITTING)
DEAD_MESSAGE = (
    "Le service de traitement en arrière-plan s'est arrêté brutalement pendant le traitement de ce fichier "
    "(processus interrompu) : rien n'a été enregistré. Relancez la vérification ; si cela se reproduit, "
    "prévenez l'administrateur de Clausier (import {uuid})."
)
SEPARATOR = "|"


class WorkerDied(Exception):
    """What the task framework records for a task whose process disappeared (`reap`)."""


def identity(process: psutil.Process | None = None) -> str:
    """This process, as recorded on the run it works on: host, pid and start time (a pid is reused)."""
    process = process or psutil.Process()
    return SEPARATOR.join([socket.gethostname(), str(process.pid), f"{process.create_time():.2f}"])


def alive(worker: str) -> bool | None:
    """Whether the process `identity` names still runs; None if it runs on another machine (or is unreadable)."""
    try:
        host, pid, started = worker.rsplit(SEPARATOR, 2)
        pid = int(pid)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        process = psutil.Process(pid)
        return identity(process) == worker and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # e.g. not allowed to read it: it exists
        return True


def dead(run: ImportRun, *, now: dt.datetime | None = None) -> bool:
    """Whether the worker that claimed `run` is gone (see the module's docstring)."""
    if run.state not in WORKING_STATES or not run.worker:
        return False
    running = alive(run.worker)
    if running is not None:
        return not running
    return (now or timezone.now()) - run.last_news > BEAT_LOST


def reap(runs) -> int:
    """Mark failed the runs of `runs` (a queryset) whose worker died, and their tasks; how many."""
    candidates = runs.filter(state__in=WORKING_STATES).exclude(worker="")
    now, reaped = timezone.now(), 0
    for run in candidates.only("pk", "uuid", "job", "state", "worker", "updated_at", "beat_at", "task_id"):
        if not dead(run, now=now):
            continue
        with transaction.atomic():
            # Only if nothing moved since it was read: the same job, in the same state, by the same worker.
            if not ImportRun.objects.filter(
                pk=run.pk, job=run.job, state=run.state, worker=run.worker
            ).update(state=ImportState.FAILED, message=DEAD_MESSAGE.format(uuid=run.uuid), updated_at=now):
                continue
            if run.task_id:
                DBTaskResult.objects.filter(id=run.task_id, status=TaskResultStatus.RUNNING).update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=f"{WorkerDied.__module__}.{WorkerDied.__qualname__}",
                    traceback=f"Processus du traitement disparu : {run.worker}",
                )
        logger.error("Import %s : le processus %s a disparu, import marqué en échec.", run.uuid, run.worker)
        reaped += 1
    return reaped


class Heartbeat:
    """While a task works on a run: a thread that writes `beat_at` every `BEAT_SECONDS` through its own
    connection. Not within an outer transaction (a task run inline, as in the tests): its beats would wait
    on the rows that transaction holds."""

    def __init__(self, run_uuid: str, job: str, *, seconds: float | None = None):
        self.run_uuid, self.job = run_uuid, job
        self.seconds = BEAT_SECONDS if seconds is None else seconds
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        if not connection.in_atomic_block:
            self.thread = threading.Thread(target=self._beat, name=f"beat-{self.run_uuid}", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=self.seconds + 5)

    def _beat(self) -> None:
        try:
            while not self.stop.wait(self.seconds):
                try:
                    ImportRun.objects.filter(uuid=self.run_uuid, job=self.job).update(beat_at=timezone.now())
                except OperationalError as exc:  # SQLite while the commit holds the database: skip a beat
                    logger.debug("Import %s : battement manqué (%s).", self.run_uuid, exc)
        finally:
            connections.close_all()  # this thread's connections only
