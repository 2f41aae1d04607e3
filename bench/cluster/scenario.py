"""The run's data (demo figures, the big import, duplicates) and its failures: node, worker, replica."""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

from .config import ClusterError
from .processes import Cluster

# --- Data: the demo, the import, the checks -------------------------------------------------------------


def clausier(cluster: Cluster, env: dict, *arguments: str) -> None:
    print(f"clausier {' '.join(arguments)}…", flush=True)
    cluster.run([Path(sys.executable).parent / "clausier", *arguments], env=env)


def demo_figures() -> dict:
    from clausier.demo.calibration import DEMO
    from clausier.organizations.models import Organization
    from clausier.reporting.indicators import territory_figures

    figures = territory_figures(Organization.objects.facilitators().get(slug=DEMO.slug))
    return {
        "buyers": figures.buyers,
        "hours": str(figures.hours),
        "contracts": figures.contracts,
        "participants": figures.participants,
    }


def prepare_import(directory: Path, rows: int):
    """A facilitator of its own (`bench.imports`) with rows/12 contracts, their 12 months of hours in an XLSX,
    uploaded as the upload view does and validated by a worker: the run, ready to be committed."""
    from bench import imports
    from clausier.imports.models import ImportRun
    from clausier.imports.pipeline import get_kind, read, suggest_mapping
    from clausier.imports.tasks import queue_validation

    facilitator = imports.build(math.ceil(rows / len(imports.MONTHS)), 50)
    imports.reset(facilitator)  # a reused cluster: the hours of the previous run
    path = directory / "heures.xlsx"
    written = imports.write_xlsx(path, facilitator)
    kind, content = get_kind("heures"), path.read_bytes()
    records = read(content, filename=path.name, kind=kind)
    run = ImportRun.objects.create(
        facilitator=facilitator,
        kind=kind.name,
        filename=path.name,
        content=content,
        sheet=records.table.sheet or "",
        mapping=suggest_mapping(records, kind),
        background=True,
        row_count=len(records.rows),
    )
    queue_validation(run)
    run = wait_for(run, lambda r: r.state not in ("queued", "validating"), timeout=600)
    if run.state != "ready" or not run.result.get("ok"):
        raise ClusterError(f"La vérification de l'import a échoué ({run.state}) : {run.message}")
    return run, written


def wait_for(run, condition, *, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if condition(run) or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def duplicate_rows() -> int:
    """Rows that should be unique and are not: hours per contract and month, statements per employer and month."""
    from django.db.models import Count

    from clausier.employment.models import HoursRecord, MonthlyStatement

    groups = (
        (HoursRecord, ("contract", "month")),
        (MonthlyStatement, ("facilitator", "employer", "month")),
    )
    return sum(
        model.objects.values(*key).annotate(n=Count("pk")).filter(n__gt=1).count() for model, key in groups
    )


# --- The run --------------------------------------------------------------------------------------------


class Timeline:
    def __init__(self):
        self.started = time.monotonic()

    def note(self, label: str) -> None:
        print(f"  [{time.monotonic() - self.started:6.1f} s] {label}", flush=True)


def writing(run, *, timeout: float = 600) -> bool:
    """Wait until the commit's transaction has written for a second (its progress is inside it, invisible:
    the validation's total, then a backend with a transaction id); False if the run ended first."""
    from django.db import connection

    ended = ("done", "failed", "refused", "ready")
    run = wait_for(
        run,
        lambda r: (
            r.state in ended or r.progress_step == "validate" and r.progress_done >= r.progress_total > 0
        ),
        timeout=timeout,
    )
    deadline = time.monotonic() + timeout
    while run.state not in ended and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_xid IS NOT NULL AND now() - xact_start > interval '1 second'"
            )
            if cursor.fetchone():
                return True
        time.sleep(0.2)
        run.refresh_from_db(fields=["state"])
    return False


def failures_scenario(cluster: Cluster, run, timeline: Timeline, state: dict) -> None:
    """(1) a web node stopped, (2) the worker committing the import killed, (3) the replica stopped, (4) all back."""
    from django.db import connection

    from clausier.imports.tasks import queue_commit

    try:
        queue_commit(run, by=None)  # validated again first (about half a minute): meanwhile, the web node
        timeline.note(f"import de {run.row_count} lignes d'heures mis en file")
        time.sleep(3)
        state["stopped_port"] = cluster.ports.web[0]
        timeline.note(f"(1) arrêt du nœud web 1 ({cluster.ports.web[0]}, SIGTERM)")
        cluster.stop_web(0)
        time.sleep(5)
        cluster.start_web(0)
        timeline.note("(4) nœud web 1 relancé")
        if writing(run):
            pid = int(run.worker.split("|")[1])
            name = cluster.worker_pids().get(pid, f"pid {pid}")
            os.kill(pid, signal.SIGKILL)
            timeline.note(f"(2) {name} (pid {pid}) tué (SIGKILL) pendant l'écriture de l'import")
            state["killed"] = name
            process = cluster.processes.pop(name, None)
            if process is not None:
                process.wait(timeout=10)  # no zombie: `workers.alive` must see it gone
        else:
            run.refresh_from_db()
            timeline.note(f"import « {run.state} » : aucun worker tué pendant l'écriture")
        time.sleep(2)
        cluster.pg_ctl("replica", "stop")
        timeline.note("(3) réplique arrêtée")
        time.sleep(8)
        cluster.pg_ctl("replica", "start")
        timeline.note("(4) réplique relancée")
        if state.get("killed", "").startswith("worker"):
            cluster.start_worker(int(state["killed"][-1]) - 1)
            timeline.note(f"(4) {state['killed']} relancé")
    except Exception as error:  # noqa: BLE001 — reported by the main thread
        state["error"] = error
    finally:
        connection.close()
