"""`python -m bench cluster`: the multi-node topology of issue 18 on one machine, under load, with failures.

Builds under a temporary directory, with Debian packages only (PostgreSQL of /usr/lib/postgresql/<ver>/bin,
pgbouncer, nginx) and this checkout:
- a PostgreSQL primary (127.0.0.1:55432) and its streaming replica (`pg_basebackup -R`, 127.0.0.1:55433);
- PgBouncer in transaction pooling mode in front of the primary (127.0.0.1:56432);
- two gunicorn web nodes (58001, 58002) behind nginx (58080), which skips a stopped node (`proxy_next_upstream`);
- two `clausier db_worker` processes.
Every Clausier process gets DATABASE_URL through PgBouncer, DATABASE_POOLER=pgbouncer and DATABASE_REPLICA_URL.

Then it migrates, loads the reference data and the demo territory, queues a 50,000-row hours import (validated
by a worker first), and runs a bounded load through nginx (`bench.load`: public pages, the dashboard and the
participants list of a logged-in demo member) while it (1) stops one web node, (2) kills with SIGKILL the
worker that commits the import, (3) stops the replica, (4) brings them back. It prints the load (requests,
errors split between those in flight on the stopped node and the others, p50/p95) and checks the data: the
import whole or absent (and its run marked failed with a French message by the workers' own reaper,
or taken again), the four demo figures
unchanged, no duplicate row. Exit status 1 if a check fails, 2 if the cluster cannot be built.
Everything is stopped at the end, whatever happens; the directory is removed unless `--reuse`.

    python -m bench cluster [--duration 90] [--rows 50000] [--reuse /tmp/clausier-cluster]

As root, the PostgreSQL, PgBouncer and nginx processes run as the `postgres` user (`runuser`).
"""

import asyncio
import atexit
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import load

from .config import (
    APT_COMMAND,
    HOST,
    ClusterError,
    Outcome,
    Ports,
    admin_env,
    clausier_env,
    failures,
    missing_packages,
    split_access_log,
)
from .processes import Cluster
from .scenario import (
    Timeline,
    clausier,
    demo_figures,
    duplicate_rows,
    failures_scenario,
    prepare_import,
    wait_for,
)


def parse_args(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=90, help="durée de la charge en s (défaut : 90)")
    parser.add_argument("--connections", type=int, default=16, help="connexions simultanées (défaut : 16)")
    parser.add_argument(
        "--rows", type=int, default=50_000, help="lignes de l'import d'heures (défaut : 50 000)"
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        metavar="DOSSIER",
        help="garde la grappe dans ce dossier entre deux exécutions (la démo n'est chargée qu'une fois)",
    )
    parser.add_argument(
        "--no-pooler",
        action="store_true",
        help="les processus de Clausier vont directement au primaire (PgBouncer reste démarré mais inutilisé)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.duration <= load.MAX_DURATION or not 1 <= args.connections <= load.MAX_CONNECTIONS:
        parser.error(f"--duration ≤ {load.MAX_DURATION} s, --connections ≤ {load.MAX_CONNECTIONS}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    missing = missing_packages()
    if missing:
        print(
            f"ERREUR : paquets Debian absents : {', '.join(missing)}. Installez-les : {APT_COMMAND}",
            file=sys.stderr,
        )
        return 2
    began = time.monotonic()
    directory = args.reuse or Path(tempfile.mkdtemp(prefix="clausier-cluster-"))
    directory.mkdir(parents=True, exist_ok=True)
    ports = Ports()
    cluster = Cluster(directory, ports, keep=args.reuse is not None)
    atexit.register(cluster.teardown)

    def interrupted(signum, frame):
        raise SystemExit(128 + signum)

    previous = {
        sig: signal.signal(sig, interrupted) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    env = clausier_env(os.environ, ports, secrets.token_hex(32), pooler=not args.no_pooler)
    admin = admin_env(env, ports)
    os.environ.update(admin)  # this process: checks on the primary itself
    for key in ("DATABASE_REPLICA_URL", "DATABASE_POOLER"):
        os.environ.pop(key, None)
    try:
        print(f"Grappe sous {directory} (PostgreSQL {cluster.bin.parent.name}).", flush=True)
        cluster.start(env)
        clausier(cluster, admin, "migrate", "--no-input", "-v", "0")
        loaded = cluster.dir / "demo-chargée"  # a reused cluster keeps its demo
        if not loaded.exists():
            clausier(cluster, admin, "load_reference")
            # No demo accounts (public passwords, refused with DEBUG off): the load logs in its own user.
            clausier(cluster, admin, "demo", "--no-users")
            loaded.touch()
        for index in range(len(ports.web)):
            cluster.start_web(index)
        for index in range(2):
            cluster.start_worker(index)
        print(
            f"Prêt en {time.monotonic() - began:.0f} s : primaire {ports.primary}, réplique {ports.replica}, "
            f"PgBouncer {ports.pooler}, web {ports.web}, nginx {ports.proxy}, 2 workers ; Clausier "
            f"{'directement sur le primaire' if args.no_pooler else 'via PgBouncer'}.",
            flush=True,
        )
        return drive(cluster, args, began)
    except (ClusterError, load.LoadError) as error:
        print(f"ERREUR : {error}", file=sys.stderr)
        for log in sorted(directory.glob("web*.log")):
            print(f"Fin du journal {log} :\n{log.read_text(errors='replace')[-1500:]}", file=sys.stderr)
        return 2
    finally:
        cluster.teardown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def drive(cluster: Cluster, args, began: float) -> int:
    import django

    django.setup()
    from clausier.demo.calibration import DEMO
    from clausier.imports.workers import REAP_SECONDS

    ports = cluster.ports
    run, expected = prepare_import(cluster.dir, args.rows)
    print(f"Import préparé et vérifié : {expected} lignes d'heures.", flush=True)
    before = demo_figures()
    slug, _database, password, cookie_names = load.prepare_user(DEMO.slug)
    # Public pages, the dashboard and a list page (bench.load alternates its URLS).
    load.URLS = ("/cellules/", f"/cellules/{slug}/", "/", "/participants/")
    base_url = f"http://{HOST}:{ports.proxy}"
    cookie = load.log_in(base_url, ports.proxy, load.EMAIL, password, cookie_names)
    access_log = cluster.dir / "nginx-access.log"
    offset = access_log.stat().st_size if access_log.exists() else 0

    print(f"Charge : {args.connections} connexions pendant {args.duration:g} s via nginx.", flush=True)
    timeline, state = Timeline(), {}
    chaos = threading.Thread(target=failures_scenario, args=(cluster, run, timeline, state), daemon=True)
    chaos.start()
    stats, elapsed, cancelled = asyncio.run(
        load.run_load(base_url, cookie, args.connections, args.duration, 30)
    )
    chaos.join(timeout=900)
    if "error" in state:
        raise ClusterError(f"Scénario interrompu : {state['error']!r}")
    print(f"Charge terminée en {elapsed:.1f} s.", flush=True)
    client_failures = load.report(stats, elapsed) + cancelled
    with open(access_log, errors="replace") as lines:
        lines.seek(offset)
        split = split_access_log(lines, state.get("stopped_port"))
    print(
        f"nginx : {split.requests} requêtes, erreurs en vol sur le nœud arrêté : {split.on_stopped}, "
        f"autres : {max(client_failures - split.on_stopped, 0)} ; relayées vers l'autre nœud : {split.relayed}."
    )

    # The killed worker's task: taken again, or marked failed by the workers' own reaper (the other worker, or
    # the killed one restarted: same machine, so at its next round), nobody opening a page; two rounds at most.
    waited = time.monotonic()
    run = wait_for(run, lambda r: r.state not in ("queued", "committing"), timeout=2 * REAP_SECONDS + 5)
    if state.get("killed"):
        print(
            f"Import du worker tué : « {run.state} » après {time.monotonic() - waited:.1f} s d'attente "
            f"(les workers cherchent les traitements interrompus toutes les {REAP_SECONDS} s)."
        )
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.filter(id=run.task_id).values_list("status", flat=True).first()
    print(f"Import : état « {run.state} », tâche « {task} », message : {run.message or '—'}")
    from clausier.employment.models import HoursRecord

    outcome = Outcome(
        figures_before=before,
        figures_after=demo_figures(),
        import_expected=expected,
        import_written=HoursRecord.objects.filter(facilitator=run.facilitator).count(),
        import_state=run.state,
        import_message=run.message,
        duplicates=duplicate_rows(),
        client_failures=client_failures,
        on_stopped=split.on_stopped,
    )
    print(
        f"Heures écrites : {outcome.import_written} / {expected} ; chiffres de la démo : {outcome.figures_after} ; "
        f"doublons : {outcome.duplicates}."
    )
    failed = failures(outcome)
    for message in failed:
        print(f"ÉCHEC : {message}")
    print(f"Durée totale : {time.monotonic() - began:.0f} s.")
    return 1 if failed else 0
