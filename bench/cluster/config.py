"""The pure parts of the cluster: binaries, configuration files, environment, access log, checks."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bench import load

HOST = load.HOST
DATABASE = "clausier"
SERVICE_USER = "postgres"  # who runs postgres, pgbouncer and nginx when this script runs as root
APT_COMMAND = "apt-get install -y pgbouncer nginx"


class ClusterError(Exception):
    """The cluster cannot be built or driven (French message for the operator)."""


@dataclass(frozen=True)
class Ports:
    primary: int = 55432
    replica: int = 55433
    pooler: int = 56432
    proxy: int = 58080
    web: tuple[int, ...] = (58001, 58002)


# --- Pure parts: binaries, configuration files, environment, checks --------------------------------------


def postgres_bin(root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The bin directory of the newest PostgreSQL installed by Debian."""
    versions = [p for p in root.glob("*/bin") if (p / "pg_ctl").is_file() and p.parent.name.isdigit()]
    if not versions:
        raise ClusterError(f"PostgreSQL introuvable sous {root} : apt-get install -y postgresql")
    return max(versions, key=lambda p: int(p.parent.name))


def missing_packages(which=shutil.which) -> list[str]:
    return [name for name, binary in (("pgbouncer", "pgbouncer"), ("nginx", "nginx")) if not which(binary)]


def pgbouncer_ini(directory: Path, ports: Ports) -> str:
    return f"""[databases]
{DATABASE} = host={HOST} port={ports.primary} dbname={DATABASE} user=postgres

[pgbouncer]
listen_addr = {HOST}
listen_port = {ports.pooler}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


# Per request: when, status, the upstreams tried (several when nginx went on to the next node).
ACCESS_FORMAT = "$msec $status $request_time [$upstream_addr] [$upstream_status] $request_uri"


def nginx_conf(directory: Path, ports: Ports) -> str:
    servers = "\n".join(f"        server {HOST}:{port} max_fails=1 fail_timeout=2s;" for port in ports.web)
    temp = "\n".join(
        f"    {kind}_temp_path {directory}/nginx-{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    return f"""daemon off;
worker_processes 2;
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format cluster '{ACCESS_FORMAT}';
    access_log {directory}/nginx-access.log cluster;
{temp}
    uwsgi_temp_path {directory}/nginx-uwsgi;
    scgi_temp_path {directory}/nginx-scgi;
    upstream clausier {{
{servers}
        keepalive 16;
    }}
    server {{
        listen {HOST}:{ports.proxy};
        client_max_body_size 50m;
        location / {{
            proxy_pass http://clausier;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            # nginx stands for the TLS proxy of production.
            proxy_set_header X-Forwarded-Proto https;
            # A node that refuses or drops the connection is skipped (the load only sends GETs).
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def database_url(port: int) -> str:
    return f"postgres://postgres@{HOST}:{port}/{DATABASE}"


def clausier_env(base: dict, ports: Ports, secret_key: str, *, pooler: bool = True) -> dict:
    """The environment of every Clausier process of the cluster (web nodes and workers); without `pooler`,
    straight to the primary (to run the rest while the settings do not support PgBouncer yet)."""
    env = {key: value for key, value in base.items() if not key.startswith("DATABASE_")}
    if pooler:
        env.update(DATABASE_URL=database_url(ports.pooler), DATABASE_POOLER="pgbouncer")
    else:
        env["DATABASE_URL"] = database_url(ports.primary)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_REPLICA_URL=database_url(ports.replica),
        SECRET_KEY=secret_key,  # the same on every node: a session opened on one is read by the other
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        BEHIND_PROXY="1",
        ALLOWED_HOSTS=f"{HOST},localhost",
    )
    return env


def admin_env(env: dict, ports: Ports) -> dict:
    """Migrations, the demo and this script's checks: straight to the primary, no replica."""
    admin = {
        key: value for key, value in env.items() if key not in ("DATABASE_REPLICA_URL", "DATABASE_POOLER")
    }
    admin["DATABASE_URL"] = database_url(ports.primary)
    return admin


LOG_LINE = re.compile(r"^(?P<at>[\d.]+) (?P<status>\d{3}) [\d.]+ \[(?P<upstreams>[^\]]*)\] \[[^\]]*\] ")


@dataclass
class Split:
    requests: int = 0
    on_stopped: int = 0  # errors of requests that had reached the stopped node
    others: int = 0  # every other error
    relayed: int = 0  # answered by the other node after the stopped one refused them


def split_access_log(lines, stopped_port: int | None) -> Split:
    """nginx's access log read back: which failed requests were on the node that was stopped."""
    split = Split()
    for line in lines:
        match = LOG_LINE.match(line)
        if not match:
            continue
        split.requests += 1
        upstreams = [u.strip() for u in re.split(r"[,:]\s", match["upstreams"]) if u.strip()]
        touched = stopped_port is not None and any(u.endswith(f":{stopped_port}") for u in upstreams)
        if match["status"] == "200":
            split.relayed += touched and len(upstreams) > 1
        elif touched:
            split.on_stopped += 1
        else:
            split.others += 1
    return split


@dataclass
class Outcome:
    """What the run measured, for `failures`."""

    figures_before: dict
    figures_after: dict
    import_expected: int  # hours rows of the file
    import_written: int  # hours rows of the import's facilitator afterwards
    import_state: str
    import_message: str = ""
    duplicates: int = 0
    client_failures: int = 0  # failed requests seen by the load generator
    on_stopped: int = 0  # of which in flight on the stopped node
    notes: list[str] = field(default_factory=list)


def failures(outcome: Outcome) -> list[str]:
    """The checks that failed (French), empty if all passed."""
    failed = []
    if outcome.import_written not in (0, outcome.import_expected):
        failed.append(
            f"import partiel : {outcome.import_written} heures écrites sur {outcome.import_expected}"
        )
    taken_again = outcome.import_state == "queued"
    if outcome.import_written == 0 and not (
        taken_again or outcome.import_state == "failed" and outcome.import_message
    ):
        failed.append(
            f"import absent mais ni repris ni en échec avec un message (état « {outcome.import_state} »)"
        )
    if outcome.import_written and outcome.import_state != "done":
        failed.append(f"import écrit mais état « {outcome.import_state} »")
    if outcome.figures_before != outcome.figures_after:
        failed.append(f"chiffres de la démo changés : {outcome.figures_before} → {outcome.figures_after}")
    if outcome.duplicates:
        failed.append(f"{outcome.duplicates} ligne(s) en double")
    others = outcome.client_failures - outcome.on_stopped
    if others > 0:
        failed.append(f"{others} requête(s) en erreur hors du nœud arrêté")
    return failed
