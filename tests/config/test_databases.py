"""DATABASES from the environment (config/databases.py): replica alias, PgBouncer safety, pin and lag."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.databases import databases, primary_pin, replica_max_lag

PRIMARY = "postgres://app:pw@10.0.0.1:5432/clausier"
REPLICA = "postgres://app:pw@10.0.0.2:5432/clausier"
SQLITE = "sqlite:////tmp/clausier-test.sqlite3"


def test_without_a_replica_there_is_only_the_primary_as_before():
    config = databases({"DATABASE_URL": PRIMARY}, SQLITE)
    assert list(config) == ["default"]
    assert config["default"]["HOST"] == "10.0.0.1"
    assert config["default"]["CONN_MAX_AGE"] == 60
    assert config["default"]["CONN_HEALTH_CHECKS"] is True
    assert not config["default"].get("DISABLE_SERVER_SIDE_CURSORS")


def test_sqlite_keeps_wal_and_immediate_transactions():
    config = databases({}, SQLITE)["default"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["CONN_MAX_AGE"] == 0


def test_a_replica_url_adds_a_mirrored_replica_alias_with_the_same_options():
    config = databases(
        {"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA, "CONN_MAX_AGE": "30"}, SQLITE
    )
    replica = config["replica"]
    assert replica["HOST"] == "10.0.0.2"
    assert replica["ENGINE"] == config["default"]["ENGINE"]
    assert replica["CONN_MAX_AGE"] == config["default"]["CONN_MAX_AGE"] == 30
    assert replica["TEST"] == {"MIRROR": "default"}
    assert replica["OPTIONS"]["connect_timeout"] == 2


def test_a_replica_on_another_engine_is_refused():
    with pytest.raises(ImproperlyConfigured, match="même moteur"):
        databases({"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": SQLITE}, SQLITE)


def test_behind_pgbouncer_no_server_side_cursor_no_prepared_statement_no_persistent_connection():
    env = {"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA, "DATABASE_POOLER": "pgbouncer"}
    for alias in ("default", "replica"):
        config = databases(env, SQLITE)[alias]
        assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert "prepare_threshold" in config["OPTIONS"] and config["OPTIONS"]["prepare_threshold"] is None
        assert config["CONN_MAX_AGE"] == 0
    # An explicit CONN_MAX_AGE is the operator's choice.
    assert databases({**env, "CONN_MAX_AGE": "120"}, SQLITE)["default"]["CONN_MAX_AGE"] == 120


def test_pgbouncer_with_djangos_own_pool_is_refused():
    with pytest.raises(ImproperlyConfigured, match="pool"):
        databases({"DATABASE_URL": PRIMARY + "?pool=true", "DATABASE_POOLER": "pgbouncer"}, SQLITE)


def test_an_unknown_pooler_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER"):
        databases({"DATABASE_URL": PRIMARY, "DATABASE_POOLER": "pgpool"}, SQLITE)


def test_pin_and_lag_default_and_parse():
    assert primary_pin({}) == 15
    assert replica_max_lag({}) == 10
    assert primary_pin({"DATABASE_PRIMARY_PIN": "30"}) == 30
    assert replica_max_lag({"DATABASE_REPLICA_MAX_LAG": " "}) == 10
    with pytest.raises(ImproperlyConfigured, match="entier"):
        replica_max_lag({"DATABASE_REPLICA_MAX_LAG": "dix"})
    with pytest.raises(ImproperlyConfigured, match="négatif"):
        primary_pin({"DATABASE_PRIMARY_PIN": "-1"})
