"""The workers' reaper (`workers.Reaper`, run by every `clausier db_worker`) and `clausier reap_imports`: a run
whose worker died is marked failed, with its task, without anyone opening a page; once, however many reapers.

Dead runs are made without killing anything, with the time under control: a worker of another machine whose
last news is older than `BEAT_LOST` (its `updated_at` written in the past), or a process of this machine that
has ended (`test_dead_worker.py` kills a real worker in the middle of a commit).
"""

import datetime
import io
import logging
import subprocess
import sys
import threading

import pytest
from django.core.management import call_command, get_commands
from django.db import OperationalError
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clausier.imports import workers
from clausier.imports.management.commands import db_worker
from clausier.imports.models import ImportRun, ImportState
from clausier.imports.tasks import commit_import
from clausier.imports.workers import BEAT_LOST, DEAD_MESSAGE, Reaper, identity
from tests.factories import FacilitatorFactory

ELSEWHERE = "ailleurs.example|4242|1700000000.00"  # a worker of another machine


def working_run(
    facilitator, *, worker: str, news_ago=BEAT_LOST * 2, state=ImportState.COMMITTING
) -> ImportRun:
    """A run claimed by `worker`, whose last news (state, progress, beat) was `news_ago`, with its running task."""
    run = ImportRun.objects.create(
        facilitator=facilitator, kind="heures", filename="releve.csv", content=b"x", background=True
    )
    task = commit_import.enqueue(str(run.uuid), "job", None, {})
    DBTaskResult.objects.filter(id=task.id).update(status=TaskResultStatus.RUNNING)
    # `updated_at` is auto_now on save: written by an update, as a task's last report would have left it.
    ImportRun.objects.filter(pk=run.pk).update(
        state=state, job="job", worker=worker, task_id=str(task.id), updated_at=timezone.now() - news_ago
    )
    run.refresh_from_db()
    return run


def ended_process() -> str:
    """The identity of a process of this machine that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    host, _pid, _started = identity().split("|")
    child.wait()
    return f"{host}|{child.pid}|0.00"


def task_status(run: ImportRun) -> str:
    return DBTaskResult.objects.get(id=run.task_id).status


@pytest.fixture
def facilitator(db):
    return FacilitatorFactory()


def test_a_round_reaps_the_dead_runs_of_every_territory_and_leaves_the_live_ones(facilitator, caplog):
    other = FacilitatorFactory()
    silent = working_run(facilitator, worker=ELSEWHERE)  # no news from another machine for 4 minutes
    gone = working_run(
        other, worker=ended_process(), news_ago=datetime.timedelta(seconds=1), state=ImportState.VALIDATING
    )
    beating = working_run(facilitator, worker=ELSEWHERE, news_ago=BEAT_LOST / 2)  # another machine, heard of
    mine = working_run(facilitator, worker=identity())  # this process: alive, however old its news
    with caplog.at_level(logging.INFO, logger="clausier.imports.workers"):
        assert Reaper().round() == 2

    for run in (silent, gone):
        run.refresh_from_db()
        assert run.state == ImportState.FAILED
        assert run.message == DEAD_MESSAGE.format(uuid=run.uuid)
        assert task_status(run) == TaskResultStatus.FAILED
    for run in (beating, mine):
        state = run.state
        run.refresh_from_db()
        assert run.state == state and run.message == ""
        assert task_status(run) == TaskResultStatus.RUNNING
    assert f"Import {silent.uuid} : le processus {ELSEWHERE} a disparu" in caplog.text
    assert "2 traitement(s) interrompu(s) marqué(s) en échec" in caplog.text
    assert Reaper().round() == 0  # nothing left: a second round does nothing


def test_two_reapers_at_once_mark_a_run_failed_once(facilitator, monkeypatch, caplog):
    """Reaper A has read the dead run when reaper B reaps it: A's conditional update finds it moved."""
    run = working_run(facilitator, worker=ELSEWHERE)
    real_dead, other_reaper = workers.dead, []

    def dead_while_another_reaps(candidate, *, now=None):
        if not other_reaper:
            other_reaper.append(None)  # B, meanwhile (its own checks are the real ones)
            other_reaper[0] = workers.reap(ImportRun.objects.filter(pk=candidate.pk))
        return real_dead(candidate, now=now)

    monkeypatch.setattr(workers, "dead", dead_while_another_reaps)
    with caplog.at_level(logging.ERROR, logger="clausier.imports.workers"):
        assert workers.reap_all() == 0  # A
    assert other_reaper == [1]  # B did it
    run.refresh_from_db()
    assert run.state == ImportState.FAILED
    assert caplog.text.count(f"Import {run.uuid} : le processus") == 1  # one report, not two
    # The task, failed by B, is not failed again by A (`finished_at` kept).
    finished_at = DBTaskResult.objects.get(id=run.task_id).finished_at
    monkeypatch.setattr(workers, "dead", real_dead)
    assert workers.reap_all() == 0
    assert DBTaskResult.objects.get(id=run.task_id).finished_at == finished_at


@pytest.mark.parametrize(
    "error, level, logged",
    [
        (OperationalError("database is locked"), logging.WARNING, "impossible (database is locked)"),
        (RuntimeError("boum"), logging.ERROR, "a échoué ; nouvel essai"),
    ],
)
def test_a_failed_round_is_logged_and_the_worker_goes_on(monkeypatch, caplog, error, level, logged):
    def broken():
        raise error

    monkeypatch.setattr(workers, "reap_all", broken)
    with caplog.at_level(logging.INFO, logger="clausier.imports.workers"):
        assert Reaper().round() == 0
    [record] = [r for r in caplog.records if r.name == "clausier.imports.workers"]
    assert record.levelno == level and logged in record.getMessage()


def test_the_thread_reaps_at_start_then_every_period_through_failures(monkeypatch):
    rounds, enough = [], threading.Event()

    def reap_all():
        rounds.append(threading.current_thread().name)
        if len(rounds) == 3:
            enough.set()
        if len(rounds) == 1:
            raise RuntimeError("boum")  # the first round fails: the next ones still come
        return 0

    monkeypatch.setattr(workers, "reap_all", reap_all)
    with Reaper(seconds=0.01) as reaper:
        assert enough.wait(timeout=10)
    assert not reaper.thread.is_alive()  # stopped with the worker
    assert set(rounds) == {"imports-reaper"}  # never in the worker's own thread


def test_the_thread_reaps_at_once_however_long_its_period(monkeypatch):
    done = threading.Event()
    monkeypatch.setattr(workers, "reap_all", lambda: done.set() or 0)
    with Reaper(seconds=3600):
        assert done.wait(timeout=10)


# --- `clausier db_worker` -------------------------------------------------------------------------------------


class Recorder:
    """In place of `Reaper`: whether the worker's loop ran inside it."""

    events = []

    def __enter__(self):
        self.events.append("start")

    def __exit__(self, *exc):
        self.events.append("stop")


@pytest.fixture(autouse=True)
def _signals_kept(monkeypatch):
    """The worker would take SIGINT and SIGTERM from the test process."""
    monkeypatch.setattr(db_worker.db_worker.Worker, "configure_signals", lambda self: None)


WORKER = ["--batch", "--no-reload", "--no-startup-delay", "--interval=0", "--verbosity=0"]


def test_the_worker_runs_its_loop_with_a_reaper(monkeypatch):
    monkeypatch.setattr(db_worker, "Reaper", Recorder)
    monkeypatch.setattr(Recorder, "events", [])
    monkeypatch.setattr(db_worker.db_worker.Worker, "run", lambda self: Recorder.events.append("loop"))
    call_command(db_worker.Command(), *WORKER)
    assert Recorder.events == ["start", "loop", "stop"]


def test_the_file_watcher_of_reload_has_no_reaper(monkeypatch):
    """`--reload`: the watching process only restarts the one that runs the tasks, which has its reaper."""
    monkeypatch.setattr(db_worker, "Reaper", Recorder)
    monkeypatch.setattr(Recorder, "events", [])
    monkeypatch.setattr(
        db_worker.db_worker, "run_with_reloader", lambda main: Recorder.events.append("watch")
    )
    monkeypatch.delenv("RUN_MAIN", raising=False)
    call_command(db_worker.Command(), "--reload", "--no-startup-delay", "--verbosity=0")
    assert Recorder.events == ["watch"]
    monkeypatch.setenv("RUN_MAIN", "true")  # the restarted process, which runs the tasks
    call_command(db_worker.Command(), "--reload", "--no-startup-delay", "--verbosity=0")
    assert Recorder.events == ["watch", "start", "watch", "stop"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_reaps_a_dead_run_with_its_own_connection(monkeypatch):
    """The real thread, on its own connection (the data committed): a worker that starts reaps at once."""
    run = working_run(FacilitatorFactory(), worker=ELSEWHERE)
    first_round, real_round, real_run = threading.Event(), Reaper.round, db_worker.db_worker.Worker.run
    monkeypatch.setattr(Reaper, "round", lambda self: (real_round(self), first_round.set())[0])

    def run_after_the_first_round(self):
        # The test database (SQLite in memory, shared cache) cannot be written by two connections at once.
        assert first_round.wait(timeout=30)
        real_run(self)

    monkeypatch.setattr(db_worker.db_worker.Worker, "run", run_after_the_first_round)
    call_command(db_worker.Command(), *WORKER)
    run.refresh_from_db()
    assert run.state == ImportState.FAILED and task_status(run) == TaskResultStatus.FAILED


def test_clausier_db_worker_is_the_one_with_the_reaper():
    assert get_commands()["db_worker"] == "clausier.imports"


# --- `clausier reap_imports` ----------------------------------------------------------------------------------


def test_reap_imports_says_how_many_runs_it_marked_failed(facilitator):
    out = io.StringIO()
    call_command("reap_imports", stdout=out)
    assert out.getvalue() == "Aucun import interrompu : rien à marquer en échec.\n"
    run = working_run(facilitator, worker=ELSEWHERE)
    working_run(facilitator, worker=identity())  # alive
    out = io.StringIO()
    call_command("reap_imports", stdout=out)
    assert out.getvalue() == "1 import interrompu (processus de traitement disparu) marqué en échec.\n"
    run.refresh_from_db()
    assert run.state == ImportState.FAILED
    working_run(facilitator, worker=ELSEWHERE)
    working_run(FacilitatorFactory(), worker=ended_process())
    out = io.StringIO()
    call_command("reap_imports", stdout=out)
    assert out.getvalue() == "2 imports interrompus (processus de traitement disparu) marqués en échec.\n"
