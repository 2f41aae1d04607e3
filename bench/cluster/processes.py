"""The processes of the cluster: PostgreSQL primary and replica, PgBouncer, nginx, web nodes, workers."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from bench import load

from .config import DATABASE, HOST, SERVICE_USER, ClusterError, Ports, nginx_conf, pgbouncer_ini, postgres_bin


def port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


# --- Processes ------------------------------------------------------------------------------------------


class Cluster:
    """The processes of the topology; `teardown` stops every one of them (idempotent)."""

    def __init__(self, directory: Path, ports: Ports, *, keep: bool):
        self.dir, self.ports, self.keep = directory, ports, keep
        self.bin = postgres_bin()
        self.as_service = os.geteuid() == 0
        self.processes: dict[str, subprocess.Popen] = {}
        self.webs: dict[int, load.Server] = {}
        self.env: dict = {}
        self.lock = threading.Lock()
        self.torn_down = False

    # Running things ---------------------------------------------------------------------------------------

    def service(self, command: list) -> list:
        return ["runuser", "-u", SERVICE_USER, "--", *map(str, command)] if self.as_service else command

    def run(self, command: list, *, env: dict | None = None, service: bool = False) -> None:
        command = self.service(command) if service else [str(c) for c in command]
        done = subprocess.run(command, env=env, cwd=load.ROOT, capture_output=True, text=True)
        if done.returncode:
            raise ClusterError(
                f"« {' '.join(command)} » a échoué ({done.returncode}) :\n{done.stderr[-2000:]}"
            )

    def spawn(self, name: str, command: list, *, env: dict | None = None, service: bool = False) -> None:
        command = self.service(command) if service else [str(c) for c in command]
        log = open(self.dir / f"{name}.out", "ab")  # noqa: SIM115 — the child keeps it
        self.processes[name] = subprocess.Popen(
            command, env=env, cwd=load.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def stop(self, name: str, sig=signal.SIGTERM, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass

    # PostgreSQL -------------------------------------------------------------------------------------------

    def pg_ctl(self, which: str, action: str) -> None:
        port = self.ports.primary if which == "primary" else self.ports.replica
        command = [self.bin / "pg_ctl", "-D", self.dir / which, "-l", self.dir / f"{which}.log", "-w"]
        if action == "start":
            command += ["-o", f"-p {port} -k {self.dir} -c listen_addresses={HOST}", "start"]
        else:
            command += ["-m", "fast", "stop"]
        self.run(command, service=True)

    def build_databases(self) -> None:
        self.run(
            [self.bin / "initdb", "-D", self.dir / "primary", "-U", "postgres", "--auth=trust"], service=True
        )
        with open(self.dir / "primary" / "postgresql.conf", "a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nmax_connections = 200\n")
        self.pg_ctl("primary", "start")
        self.run(
            [
                self.bin / "pg_basebackup",
                "-h",
                HOST,
                "-p",
                self.ports.primary,
                "-U",
                "postgres",
                "-D",
                self.dir / "replica",
                "-R",
                "-X",
                "stream",
            ],
            service=True,
        )
        self.pg_ctl("replica", "start")
        self.run([self.bin / "createdb", "-h", HOST, "-p", self.ports.primary, "-U", "postgres", DATABASE])

    # The whole topology -----------------------------------------------------------------------------------

    def listening(self, name: str, port: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                break
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
                    return
            time.sleep(0.1)
        tail = (self.dir / f"{name}.out").read_text(errors="replace")[-1000:]
        raise ClusterError(f"{name} n'écoute pas sur le port {port} :\n{tail}")

    def start(self, env: dict) -> None:
        """Start every process but the web nodes and the workers (the databases created or reused)."""
        self.env = env
        busy = [
            port
            for port in (
                self.ports.primary,
                self.ports.replica,
                self.ports.pooler,
                self.ports.proxy,
                *self.ports.web,
            )
            if port_busy(port)
        ]
        if busy:
            raise ClusterError(f"Port(s) déjà occupé(s) : {busy} (une autre grappe tourne encore ?)")
        created = not (self.dir / "primary" / "PG_VERSION").exists()
        if self.as_service:
            service = pwd.getpwnam(SERVICE_USER)
            os.chown(self.dir, service.pw_uid, service.pw_gid)
        if created:
            self.build_databases()
        else:
            self.pg_ctl("primary", "start")
            self.pg_ctl("replica", "start")
        (self.dir / "pgbouncer.ini").write_text(pgbouncer_ini(self.dir, self.ports))
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "nginx.conf").write_text(nginx_conf(self.dir, self.ports))
        self.spawn("pgbouncer", [shutil.which("pgbouncer"), self.dir / "pgbouncer.ini"], service=True)
        nginx = [shutil.which("nginx"), "-p", self.dir, "-e", self.dir / "nginx-error.log"]
        self.spawn("nginx", [*nginx, "-c", self.dir / "nginx.conf"], service=True)
        self.listening("pgbouncer", self.ports.pooler)
        self.listening("nginx", self.ports.proxy)

    def start_web(self, index: int) -> None:
        args = SimpleNamespace(workers=2, threads=2, timeout=30)
        port = self.ports.web[index]
        self.webs[index] = load.start_server(args, self.env, port, self.dir / f"web{index + 1}.log")
        load.wait_until_ready(self.webs[index].process, f"http://{HOST}:{port}")

    def stop_web(self, index: int) -> None:
        load.stop_server(self.webs.pop(index, None))

    def start_worker(self, index: int) -> None:
        clausier = Path(sys.executable).parent / "clausier"
        self.spawn(f"worker{index + 1}", [clausier, "db_worker"], env=self.env)

    def worker_pids(self) -> dict[int, str]:
        return {p.pid: name for name, p in self.processes.items() if name.startswith("worker")}

    def teardown(self) -> None:
        with self.lock:
            if self.torn_down:
                return
            self.torn_down = True
        for index in list(self.webs):
            self.stop_web(index)
        for name in [n for n in self.processes if n.startswith("worker")] + ["nginx", "pgbouncer"]:
            self.stop(name)
        for which in ("replica", "primary"):
            if (self.dir / which / "postmaster.pid").exists():
                try:
                    self.pg_ctl(which, "stop")
                except ClusterError as error:
                    print(f"ATTENTION : {error}", file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
