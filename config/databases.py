"""DATABASES from the environment: the primary, an optional streaming replica, and PgBouncer safety (issue 18).

Plain functions of an environment mapping, so that the parsing is tested without reloading the settings.
"""

from collections.abc import Mapping

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

REPLICA = "replica"
POOLERS = ("", "pgbouncer")
REPLICA_CONNECT_TIMEOUT = 2  # seconds: an unreachable replica must not hold a request for long


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} doit être un nombre entier de secondes (reçu : {raw!r})."
        ) from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} ne peut pas être négatif (reçu : {value}).")
    return value


def pooler(env: Mapping[str, str]) -> str:
    name = env.get("DATABASE_POOLER", "").strip().lower()
    if name not in POOLERS:
        raise ImproperlyConfigured(f"DATABASE_POOLER inconnu : {name!r} (valeurs possibles : pgbouncer).")
    return name


def replica_max_lag(env: Mapping[str, str]) -> int:
    """Seconds of replication lag past which reads go back to the primary."""
    return _int(env, "DATABASE_REPLICA_MAX_LAG", 10)


def primary_pin(env: Mapping[str, str]) -> int:
    """Seconds a user's reads stay on the primary after that user's write."""
    return _int(env, "DATABASE_PRIMARY_PIN", 15)


def _engine_options(config: dict, *, behind_pgbouncer: bool) -> dict:
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + immediate transactions: concurrent readers, writers wait instead of failing.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        }
        config["CONN_MAX_AGE"] = 0
    elif behind_pgbouncer and "postgresql" in config["ENGINE"]:
        if config.get("OPTIONS", {}).get("pool"):
            raise ImproperlyConfigured(
                "DATABASE_POOLER=pgbouncer : le pool de connexions de Django doit rester éteint."
            )
        # Transaction pooling gives each transaction any server connection: a named cursor (`.iterator()`
        # outside a transaction) or a prepared statement would be looked for on another backend.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return config


def database(url: str, env: Mapping[str, str], *, behind_pgbouncer: bool) -> dict:
    # Behind PgBouncer the pooling is PgBouncer's: by default a request's connection to it is closed at the
    # end of the request (cheap, on the same host), so idle Django processes hold no client slot.
    default_age = "0" if behind_pgbouncer else "60"
    config = dj_database_url.parse(
        url, conn_max_age=_int(env, "CONN_MAX_AGE", int(default_age)), conn_health_checks=True
    )
    return _engine_options(config, behind_pgbouncer=behind_pgbouncer)


def databases(env: Mapping[str, str], default_url: str) -> dict:
    """The DATABASES setting: "default" (the primary) and, with DATABASE_REPLICA_URL, "replica"."""
    behind_pgbouncer = pooler(env) == "pgbouncer"
    result = {
        "default": database(env.get("DATABASE_URL") or default_url, env, behind_pgbouncer=behind_pgbouncer)
    }
    replica_url = env.get("DATABASE_REPLICA_URL", "").strip()
    if replica_url:
        replica = database(replica_url, env, behind_pgbouncer=behind_pgbouncer)
        if replica["ENGINE"] != result["default"]["ENGINE"]:
            raise ImproperlyConfigured("DATABASE_REPLICA_URL doit désigner le même moteur que DATABASE_URL.")
        if "postgresql" in replica["ENGINE"]:
            replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
        # Tests run against the primary's test database: the replica alias mirrors it.
        replica["TEST"] = {"MIRROR": "default"}
        result[REPLICA] = replica
    return result
