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
nothing was written) and their task failed too. Every `clausier db_worker` runs a `Reaper` (a thread: at start,
then every `REAP_SECONDS`), so a run whose worker was killed shows failed everywhere (the imports list, the
import's page) within `REAP_SECONDS` on the same machine, `BEAT_LOST` + `REAP_SECONDS` from another one,
without anyone opening a page; `clausier reap_imports` does one round, for a timer; the import pages still
call `reap` on the runs they show (no worker running at all).
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time

import psutil
from django.db import OperationalError, close_old_connections, connection, connections, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from .models import ImportRun, ImportState

logger = logging.getLogger(__name__)

BEAT_SECONDS = 10
BEAT_LOST = dt.timedelta(minutes=2)  # twelve beats missed: the worker of another machine is gone
REAP_SECONDS = 30  # each worker's reaper: a killed worker's run shows failed within this on its machine
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
    candidates = runs.filter(state__in=WORKING_STATES).exclude(worker="").order_by()  # no sort: few rows
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


def reap_all() -> int:
    """Reap the dead runs of every territory; how many. One query when none is working (the runs validating or
    committing, each then checked against its process or its last news)."""
    return reap(ImportRun.objects.all())


class Reaper:
    """In each `clausier db_worker`: a thread that runs `reap_all` at start, then every `REAP_SECONDS`, whether
    the worker waits for a task or works on one (a worker busy with a long commit still sees another one die).
    Several reapers at once are safe: `reap` writes a run only if it is still what was read, so one reaper
    alone marks it failed (and logs it). A failed round is logged and the next one tried: the worker's loop
    never sees it. Its own connection, as `Heartbeat`'s."""

    def __init__(self, *, seconds: float | None = None):
        self.seconds = REAP_SECONDS if seconds is None else seconds
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        self.thread = threading.Thread(target=self._loop, name="imports-reaper", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)  # a round in progress ends with its transaction, or with the process

    def round(self) -> int:
        """One round: how many runs it marked failed (0 if it failed, logged)."""
        started = time.monotonic()
        try:
            reaped = reap_all()
        except OperationalError as exc:  # the database locked (SQLite) or unreachable a moment
            logger.warning(
                "Imports : recherche des traitements interrompus impossible (%s) ; nouvel essai.", exc
            )
            return 0
        except Exception:  # noqa: BLE001 — whatever it is, the worker goes on and the next round retries
            logger.exception("Imports : la recherche des traitements interrompus a échoué ; nouvel essai.")
            return 0
        if reaped:
            logger.info("Imports : %d traitement(s) interrompu(s) marqué(s) en échec.", reaped)
        logger.debug("Imports : recherche des traitements interrompus en %.3f s.", time.monotonic() - started)
        return reaped

    def _loop(self) -> None:
        try:
            while True:
                close_old_connections()  # one broken in the last round (or past its age) is replaced
                self.round()
                if self.stop.wait(self.seconds):
                    break
        finally:
            connections.close_all()  # this thread's connections only


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
