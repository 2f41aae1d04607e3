"""The processes of `test_dead_worker.py`, each run as `python -m tests.imports.worker_process STEP` against a
database of their own (`DATABASE_URL`), the way a real worker and a real web server share one.

    prepare                 migrate, build a world, upload a big statement, verify it (a worker, `--batch`),
                            queue its commit; prints the run's uuid
    slow-worker MARKER      a real `db_worker` whose hours import writes its rows, touches MARKER, then waits:
                            the test kills it there, in the middle of the commit's transaction
    look UUID               what the user and the database see afterwards, as JSON; then relaunches the
                            verification from the page and lets a new worker take the task
"""

import datetime
import json
import os
import sys
import time
from pathlib import Path

import django

MAY = datetime.date(2024, 5, 1)  # the month of the file (`tests.www.test_imports.statement_csv`)
WORKER = ["db_worker", "--no-reload", "--no-startup-delay", "--interval=0.1", "--verbosity=0"]


def prepare() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", "--sans-officiel", verbosity=0)

    from clausier.imports.models import ImportRun, ImportState
    from clausier.imports.tasks import queue_commit, queue_validation
    from tests.factories import build_world
    from tests.www.test_imports import background_run_for

    w = build_world("K")
    run = background_run_for(w)
    queue_validation(run)
    call_command(*WORKER, "--batch")
    run.refresh_from_db()
    assert run.state == ImportState.READY and run.result["ok"], (run.state, run.message)
    assert queue_commit(run, by=w.users["facilitator_member"])
    assert ImportRun.objects.get(pk=run.pk).state == ImportState.QUEUED
    print(run.uuid)


def slow_worker(marker: str) -> None:
    from django.core.management import call_command

    from clausier.employment.models import HoursRecord
    from clausier.imports import workers
    from clausier.imports.kinds.hours import HoursKind

    workers.BEAT_SECONDS = 0.2  # beats the test can wait for
    real_commit = HoursKind.commit

    def commit_then_wait(self, items, *, facilitator, by):
        real_commit(self, items, facilitator=facilitator, by=by)  # the rows are written, not committed
        written = HoursRecord.objects.filter(contract__facilitator=facilitator, month=MAY).count()
        Path(marker).write_text(str(written))  # as this transaction sees them
        time.sleep(600)

    HoursKind.commit = commit_then_wait
    call_command(*WORKER)


def look(uuid: str) -> None:
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from clausier.employment.models import HoursRecord
    from clausier.imports.models import ImportRun
    from clausier.organizations.models import User

    setup_test_environment()  # the test client's host allowed
    run = ImportRun.objects.get(uuid=uuid)
    killed_task = str(run.task_id)
    seen = {"state_before_look": run.state, "worker": run.worker}
    client = Client()
    client.force_login(User.objects.get(email="membre-k@clausier.example"))
    progress = client.get(reverse("www:import_progress", kwargs={"uuid": uuid}))
    run.refresh_from_db()
    seen |= {
        "progress_status": progress.status_code,
        "progress": progress.content.decode(),
        "state": run.state,
        "message": run.message,
        "hours_of_the_file": HoursRecord.objects.filter(
            contract__facilitator=run.facilitator, month=MAY
        ).count(),
        "beat": run.beat_at is not None,
        "task_status": DBTaskResult.objects.get(id=killed_task).status,
        "start_page": client.get(reverse("www:import_start")).content.decode(),
    }
    # The user relaunches; a new worker takes the task.
    client.post(reverse("www:import_verify", kwargs={"uuid": uuid}))
    call_command(*WORKER, "--batch")
    run.refresh_from_db()
    seen |= {"state_after_relaunch": run.state, "ok_after_relaunch": bool(run.result.get("ok"))}
    print(json.dumps(seen))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    step, *args = sys.argv[1:]
    {"prepare": prepare, "slow-worker": slow_worker, "look": look}[step](*args)
