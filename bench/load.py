"""`python -m bench.load`: throughput and latency of the dashboard and the participants list under load.

Starts gunicorn (the production server) on 127.0.0.1 with `--workers` processes against the database of
`DATABASE_URL`, logs a facilitator user in through the login form (CSRF token, session cookie), then runs a
bounded load generator on the loopback interface only: `--connections` concurrent connections (asyncio +
httpx) for `--duration` seconds, alternating the dashboard `/` and the participants list `/participants/`.
Reports per URL: requests, errors (any answer but 200, or an exception), throughput, p50/p95/p99 latency.
Exits 1 if any request failed. gunicorn is stopped at the end whatever happens.

The server runs as in production: DEBUG off, secure cookies, HTTPS required, behind a TLS proxy — the load
generator plays the proxy (`X-Forwarded-Proto: https`). The user is `bench-load@clausier.example`, member of
the facilitator `--slug` (default `bench-0001`, else the demo territory); it is created if missing and
given a new random password on each run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clausier_bench python -m bench.load
    DATABASE_URL=… python -m bench.load --workers 4 --connections 32 --duration 60
"""

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

HOST = "127.0.0.1"  # loopback only: the load never leaves the machine
BENCH_SLUG = "bench-0001"
EMAIL = "bench-load@clausier.example"
URLS = ("/", "/participants/")
MAX_CONNECTIONS = 256
MAX_DURATION = 600  # seconds
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
ROOT = Path(__file__).resolve().parent.parent


class LoadError(Exception):
    """The run cannot go on (French message for the operator)."""


# --- Configuration ------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default=None, help=f"facilitateur (défaut : {BENCH_SLUG}, sinon la démo)")
    parser.add_argument("--workers", type=int, default=2, help="processus gunicorn (défaut : 2)")
    parser.add_argument("--threads", type=int, default=1, help="fils par processus gunicorn (défaut : 1)")
    parser.add_argument("--connections", type=int, default=32, help="connexions simultanées (défaut : 32)")
    parser.add_argument("--duration", type=float, default=60, help="durée de la charge en s (défaut : 60)")
    parser.add_argument("--timeout", type=float, default=30, help="délai maximal d'une requête en s")
    parser.add_argument("--port", type=int, default=0, help="port de gunicorn (défaut : un port libre)")
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="DOSSIER",
        help="une autre copie du code (ex. `git worktree add /tmp/avant <commit>`) : les deux sont chargées "
        "tour à tour dans la même exécution, même base, mêmes réglages, et leur débit comparé",
    )
    parser.add_argument("--rounds", type=int, default=2, help="tours de comparaison (défaut : 2)")
    args = parser.parse_args(argv)
    if args.compare is not None and not (args.compare / "config" / "wsgi.py").is_file():
        parser.error(f"--compare : {args.compare} n'est pas une copie de Clausier (config/wsgi.py absent)")
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections : entre 1 et {MAX_CONNECTIONS}")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration : entre 0 et {MAX_DURATION} secondes")
    if not 1 <= args.workers <= 64 or not 1 <= args.threads <= 64:
        parser.error("--workers et --threads : entre 1 et 64")
    if not 0 < args.timeout <= 120:
        parser.error("--timeout : entre 0 et 120 secondes")
    return args


def server_environment() -> dict:
    """Production-like settings for the server (and this process, which prepares the user)."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.setdefault("DEBUG", "0")
    env.setdefault("SECRET_KEY", secrets.token_hex(32))  # sessions only need to live for this run
    env["BEHIND_PROXY"] = "1"
    hosts = [h.strip() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    env["ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, HOST]))
    return env


def prepare_user(slug: str | None) -> tuple[str, str, str, tuple[str, str]]:
    """(slug, database, password, cookie names) for the bench user, member of the facilitator (created if
    needed, with a fresh password)."""
    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request of the load generator
    from django.conf import settings
    from django.db import connection, transaction

    from clausier.demo.calibration import DEMO
    from clausier.organizations.models import FacilitatorSettings, Membership, Organization, Role, User

    facilitators = Organization.objects.facilitators()
    if slug is None:
        slug = BENCH_SLUG if facilitators.filter(slug=BENCH_SLUG).exists() else DEMO.slug
    facilitator = facilitators.filter(slug=slug).first()
    if facilitator is None:
        raise LoadError(
            f"Aucun facilitateur « {slug} » dans la base {connection.settings_dict['NAME']} : "
            "lancez `python -m bench generate` ou `clausier demo`, ou indiquez --slug."
        )
    if FacilitatorSettings.objects.filter(facilitator=facilitator, require_two_factor=True).exists():
        raise LoadError(
            f"Le facilitateur « {slug} » impose la double authentification : choisissez-en un autre."
        )
    password = secrets.token_urlsafe(24)
    with transaction.atomic():
        user = User.objects.filter(email=EMAIL).first() or User(username=EMAIL, email=EMAIL)
        user.first_name, user.last_name, user.is_active = "Mesure", "de charge", True
        user.set_password(password)
        user.save()
        membership, _ = Membership.objects.get_or_create(
            user=user, organization=facilitator, defaults={"role": Role.MEMBER}
        )
        if not membership.is_active:
            membership.is_active = True
            membership.save(update_fields=["is_active"])
        # The login lands on this facilitator: no other active membership for the bench user.
        Membership.objects.filter(user=user).exclude(pk=membership.pk).update(is_active=False)
    database = f"{connection.vendor} {connection.settings_dict['NAME']}"
    cookie_names = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
    connection.close()
    return slug, database, password, cookie_names


# --- The server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    log: object  # the open log file


def start_server(args, env, port: int, log_path: Path, root: Path = ROOT) -> Server:
    """gunicorn serving the code of `root` (this checkout, or the one compared with it)."""
    if root != ROOT:  # its packages first: the editable install points at this checkout
        env = {**env, "PYTHONPATH": str(root)}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind={HOST}:{port}",
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        f"--timeout={int(args.timeout) + 30}",
        "--graceful-timeout=5",
        "--log-level=warning",
        f"--chdir={root}",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 — closed in stop_server
    process = subprocess.Popen(  # its own process group: stopping it stops every worker
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root
    )
    return Server(process, log)


def stop_server(server: Server | None) -> None:
    """SIGTERM to gunicorn's process group (master and workers), SIGKILL if still there after 15 s."""
    if server is None:
        return
    process = server.process
    try:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
    except ProcessLookupError:
        pass
    finally:
        server.log.close()


def wait_until_ready(process, base_url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LoadError(f"gunicorn s'est arrêté au démarrage (code {process.returncode}).")
        try:
            if httpx.get(f"{base_url}/connexion/", headers=PROXY_HEADERS, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise LoadError(f"gunicorn ne répond pas après {timeout:.0f} s.")


# --- Logging in ---------------------------------------------------------------------------------------------


def cookies_of(response) -> dict[str, str]:
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def log_in(base_url: str, port: int, email: str, password: str, cookie_names) -> str:
    """The Cookie header of a logged-in session, obtained through the login form like a browser."""
    import httpx

    session_name, csrf_name = cookie_names
    with httpx.Client(base_url=base_url, headers=PROXY_HEADERS, timeout=30, follow_redirects=False) as client:
        page = client.get("/connexion/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        csrf = cookies_of(page).get(csrf_name)
        if page.status_code != 200 or token is None or csrf is None:
            raise LoadError(f"Page de connexion inattendue (HTTP {page.status_code}, jeton CSRF absent).")
        answer = client.post(
            "/connexion/",
            data={
                "username": email,
                "password": password,
                "csrfmiddlewaretoken": token.group(1),
                "next": "/",
            },
            headers={"Cookie": f"{csrf_name}={csrf}", "Origin": f"https://{HOST}:{port}"},
        )
        session = cookies_of(answer).get(session_name)
        csrf = cookies_of(answer).get(csrf_name, csrf)  # rotated at login
        if answer.status_code != 302 or not session:
            raise LoadError(f"Connexion refusée (HTTP {answer.status_code}) pour {email}.")
        cookie = f"{session_name}={session}; {csrf_name}={csrf}"
        for url in URLS:  # warm up, and check that each page answers 200 to the logged-in user
            response = client.get(url, headers={"Cookie": cookie})
            if response.status_code != 200:
                where = response.headers.get("location", "")
                raise LoadError(f"GET {url} → HTTP {response.status_code} {where} après la connexion.")
    return cookie


# --- The load -----------------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, every request answered (any status)
    failures: int = 0  # answers other than 200, and exceptions (timeouts, refused or reset connections)
    kinds: dict[str, int] = field(default_factory=dict)  # "HTTP 500", "ReadTimeout"… → count
    exceptions: int = 0

    def fail(self, kind: str) -> None:
        self.failures += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.exceptions


async def run_load(base_url: str, cookie: str, connections: int, duration: float, timeout: float):
    import httpx

    stats = {url: Stats() for url in URLS}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {**PROXY_HEADERS, "Cookie": cookie}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=timeout, follow_redirects=False
    ) as client:
        started = time.monotonic()
        deadline = started + duration

        async def worker(index: int) -> None:
            turn = index
            while time.monotonic() < deadline:
                url = URLS[turn % len(URLS)]
                turn += 1
                begin = time.perf_counter()
                try:
                    response = await client.get(url)
                    await response.aclose()
                except Exception as exc:  # noqa: BLE001 — every failure is counted and reported
                    stats[url].exceptions += 1
                    stats[url].fail(type(exc).__name__)
                    continue
                stats[url].latencies.append(time.perf_counter() - begin)
                if response.status_code != 200:
                    stats[url].fail(f"HTTP {response.status_code}")

        tasks = [asyncio.create_task(worker(i)) for i in range(connections)]
        # Hard stop: the requests still running a timeout after the end are cancelled (and not counted).
        _done, pending = await asyncio.wait(tasks, timeout=duration + timeout + 5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        elapsed = time.monotonic() - started
    return stats, elapsed, len(pending)


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (not empty)."""
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def report(stats: dict, elapsed: float) -> int:
    """Print the table (latencies of the answered requests); the number of failed requests."""
    print(
        f"{'URL':<16} {'requêtes':>9} {'erreurs':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    every = Stats()
    for url, s in [*stats.items(), ("total", every)]:
        if s is every:
            for one in stats.values():
                every.latencies += one.latencies
                every.failures += one.failures
                every.exceptions += one.exceptions
        values = sorted(s.latencies)
        p50, p95, p99 = (f"{percentile(values, q) * 1000:.1f}" if values else "—" for q in (0.50, 0.95, 0.99))
        print(
            f"{url:<16} {s.requests:>9} {s.failures:>8} {s.requests / elapsed:>8.1f} {p50:>8} {p95:>8} {p99:>8}"
        )
        if s.kinds:
            print(f"{'':<16} erreurs : " + ", ".join(f"{k} × {v}" for k, v in sorted(s.kinds.items())))
    return every.failures if every.requests else 1


def one_run(args, server, base_url, port, password, cookie_names) -> tuple[int, float]:
    """Log in, load, report: (the number of failed requests, requests per second)."""
    wait_until_ready(server.process, base_url)
    cookie = log_in(base_url, port, EMAIL, password, cookie_names)
    stats, elapsed, cancelled = asyncio.run(
        run_load(base_url, cookie, args.connections, args.duration, args.timeout)
    )
    print(f"Charge terminée en {elapsed:.1f} s.", flush=True)
    failed = report(stats, elapsed)
    if cancelled:
        print(f"{cancelled} connexion(s) interrompue(s) à l'arrêt forcé.")
    return failed + cancelled, sum(one.requests for one in stats.values()) / elapsed


def compare(args, env, port, password, cookie_names, log_path) -> int:
    """The compared checkout and this one, in turns (`--rounds`), on the same port, database and settings:
    the machine's noise falls on both. Prints each run and the ratio of the summed throughputs."""
    sides = {"avant": args.compare.resolve(), "après": ROOT}
    throughput = dict.fromkeys(sides, 0.0)
    failed = 0
    for round_number in range(1, args.rounds + 1):
        for label, root in sides.items():
            print(f"\n— tour {round_number}, {label} ({root}) —", flush=True)
            server = start_server(args, env, port, log_path, root=root)
            try:
                errors, rate = one_run(args, server, f"http://{HOST}:{port}", port, password, cookie_names)
            finally:
                stop_server(server)
            failed += errors
            throughput[label] += rate / args.rounds
    ratio = throughput["après"] / throughput["avant"] if throughput["avant"] else float("inf")
    print(
        f"\nDébit moyen : avant {throughput['avant']:.1f} req/s, après {throughput['après']:.1f} req/s "
        f"— rapport {ratio:.2f} (objectif ≥ 2)."
    )
    if failed:
        print(f"ÉCHEC : {failed} requête(s) en erreur. Journal de gunicorn : {log_path}")
    return 1 if failed else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    env = server_environment()
    os.environ.update(env)
    server, keep_log = None, True  # gunicorn's log is kept (and named) when something went wrong
    logdir = Path(tempfile.mkdtemp(prefix="clausier-load-"))
    log_path = logdir / "gunicorn.log"

    def interrupted(signum, frame):
        raise SystemExit(130)

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        slug, database, password, cookie_names = prepare_user(args.slug)
        port = args.port or free_port()
        base_url = f"http://{HOST}:{port}"
        print(
            f"Base : {database} ; facilitateur {slug} ; gunicorn {args.workers} processus × {args.threads} "
            f"fil(s) sur {HOST}:{port} ; {args.connections} connexions pendant {args.duration:g} s.",
            flush=True,
        )
        if args.compare is not None:
            return compare(args, env, port, password, cookie_names, log_path)
        server = start_server(args, env, port, log_path)
        failed, _rate = one_run(args, server, base_url, port, password, cookie_names)
        if failed:
            print(f"ÉCHEC : {failed} requête(s) en erreur. Journal de gunicorn : {log_path}")
            return 1
        keep_log = False
        return 0
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    except LoadError as error:
        print(f"ERREUR : {error}", file=sys.stderr)
        if log_path.exists() and log_path.stat().st_size:
            print(f"Journal de gunicorn ({log_path}) :\n" + log_path.read_text()[-3000:], file=sys.stderr)
        return 2
    finally:
        stop_server(server)
        signal.signal(signal.SIGTERM, previous)
        if not keep_log:
            shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
