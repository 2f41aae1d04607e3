"""The pure parts of `python -m bench cluster`: generated configuration, environment, log reading, checks."""

import shutil
import subprocess

import pytest

from bench import __main__ as bench_main
from bench import cluster
from bench.cluster import config
from bench.cluster.config import Outcome, Ports, failures, split_access_log

PORTS = Ports()


def test_postgres_bin_is_the_newest_debian_version(tmp_path):
    for version in ("13", "16", "9.6-old"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "pg_ctl").touch()
    (tmp_path / "17" / "bin").mkdir(parents=True)  # no pg_ctl: a leftover, not an installation
    assert config.postgres_bin(tmp_path) == tmp_path / "16" / "bin"


def test_postgres_bin_missing(tmp_path):
    with pytest.raises(config.ClusterError, match="apt-get install"):
        config.postgres_bin(tmp_path)


def test_missing_packages():
    assert config.missing_packages(lambda name: None) == ["pgbouncer", "nginx"]
    assert config.missing_packages(lambda name: f"/usr/sbin/{name}") == []


def test_pgbouncer_ini_pools_transactions_in_front_of_the_primary(tmp_path):
    ini = config.pgbouncer_ini(tmp_path, PORTS)
    assert "pool_mode = transaction" in ini
    assert f"clausier = host=127.0.0.1 port={PORTS.primary} dbname=clausier" in ini
    assert f"listen_port = {PORTS.pooler}" in ini
    assert f"auth_file = {tmp_path}/userlist.txt" in ini
    assert PORTS.pooler != 5432 and PORTS.primary != 5432  # never the machine's shared server


def test_nginx_conf_balances_both_nodes_and_skips_a_stopped_one(tmp_path):
    conf = config.nginx_conf(tmp_path, PORTS)
    for port in PORTS.web:
        assert f"server 127.0.0.1:{port} " in conf
    assert "proxy_next_upstream error timeout http_502 http_503;" in conf
    assert f"listen 127.0.0.1:{PORTS.proxy};" in conf
    assert "proxy_set_header X-Forwarded-Proto https;" in conf
    assert f"access_log {tmp_path}/nginx-access.log cluster;" in conf


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx absent (apt-get install -y nginx)")
def test_nginx_accepts_the_generated_conf(tmp_path):
    (tmp_path / "nginx.conf").write_text(config.nginx_conf(tmp_path, PORTS))
    done = subprocess.run(
        ["nginx", "-t", "-p", tmp_path, "-e", tmp_path / "error.log", "-c", tmp_path / "nginx.conf"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_clausier_env_goes_through_the_pooler_and_reads_the_replica():
    base = {"PATH": "/usr/bin", "DATABASE_URL": "postgres://elsewhere/x", "DATABASE_REPLICA_URL": "old"}
    env = config.clausier_env(base, PORTS, "s3cret")
    assert env["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{PORTS.pooler}/clausier"
    assert env["DATABASE_REPLICA_URL"] == f"postgres://postgres@127.0.0.1:{PORTS.replica}/clausier"
    assert env["DATABASE_POOLER"] == "pgbouncer"
    assert (env["SECRET_KEY"], env["DEBUG"], env["SECURE_SSL_REDIRECT"]) == ("s3cret", "0", "0")
    assert "127.0.0.1" in env["ALLOWED_HOSTS"].split(",")
    assert env["PATH"] == "/usr/bin"
    admin = config.admin_env(env, PORTS)
    assert admin["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{PORTS.primary}/clausier"
    assert "DATABASE_REPLICA_URL" not in admin and "DATABASE_POOLER" not in admin


def test_clausier_env_without_the_pooler_goes_to_the_primary():
    env = config.clausier_env({}, PORTS, "s3cret", pooler=False)
    assert env["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{PORTS.primary}/clausier"
    assert "DATABASE_POOLER" not in env
    assert env["DATABASE_REPLICA_URL"].endswith(f":{PORTS.replica}/clausier")


LOG = [
    "1765148000.101 200 0.012 [127.0.0.1:58001] [200] /\n",
    "1765148000.202 200 0.020 [127.0.0.1:58001, 127.0.0.1:58002] [502, 200] /participants/\n",
    "1765148000.303 502 0.001 [127.0.0.1:58001] [502] /cellules/\n",
    "1765148000.404 500 0.050 [127.0.0.1:58002] [500] /\n",
    "1765148000.505 504 30.000 [127.0.0.1:58002] [504] /\n",
    "garbage line\n",
]


def test_split_access_log_separates_the_stopped_node():
    split = split_access_log(LOG, 58001)
    assert (split.requests, split.on_stopped, split.others, split.relayed) == (5, 1, 2, 1)


def test_split_access_log_without_a_stopped_node():
    split = split_access_log(LOG, None)
    assert (split.on_stopped, split.others, split.relayed) == (0, 3, 0)


def outcome(**changes):
    figures = {"buyers": 42, "hours": "1824868.00", "contracts": 2725, "participants": 1983}
    values = {
        "figures_before": figures,
        "figures_after": dict(figures),
        "import_expected": 50004,
        "import_written": 50004,
        "import_state": "done",
    }
    return Outcome(**{**values, **changes})


def test_failures_all_good():
    assert failures(outcome()) == []
    absent = outcome(import_written=0, import_state="failed", import_message="…rien n'a été enregistré…")
    assert failures(absent) == []
    assert failures(outcome(import_written=0, import_state="queued")) == []  # taken again
    assert failures(outcome(client_failures=3, on_stopped=3)) == []  # in flight on the stopped node


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"import_written": 1234}, "import partiel"),
        ({"import_written": 0, "import_state": "committing"}, "ni repris ni en échec"),
        ({"import_written": 0, "import_state": "failed"}, "ni repris ni en échec"),  # no message for the user
        ({"import_state": "failed"}, "import écrit mais état"),
        ({"figures_after": {"buyers": 41}}, "chiffres de la démo changés"),
        ({"duplicates": 2}, "2 ligne(s) en double"),
        ({"client_failures": 4, "on_stopped": 1}, "3 requête(s) en erreur hors du nœud arrêté"),
    ],
)
def test_failures_found(changes, expected):
    found = failures(outcome(**changes))
    assert len(found) == 1 and expected in found[0]


def test_bench_dispatches_cluster_with_its_own_options(monkeypatch):
    seen = []
    monkeypatch.setattr(cluster, "main", lambda argv: seen.append(argv) or 7)
    assert bench_main.main(["cluster", "--duration", "30", "--reuse", "/tmp/x"]) == 7
    assert seen == [["--duration", "30", "--reuse", "/tmp/x"]]
