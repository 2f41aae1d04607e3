"""Stale-tolerant reads on a PostgreSQL streaming replica, everything else on the primary (issue 18).

- `ReplicaRouter` sends a read to the "replica" alias only inside `reads_from_replica` (a heavy read view: the
  public site, open data, bilans, dashboards, API lists), when the replica is healthy, outside a transaction
  of the primary, and when the user has not written in the last DATABASE_PRIMARY_PIN seconds. Every write
  goes to the primary. Without DATABASE_REPLICA_URL nothing changes: there is no "replica" alias.
- `PrimaryAfterWritesMiddleware` pins a user's reads to the primary after a request that wrote (a non-safe
  method, or a save/delete during the request). The pin is a signed cookie whose signature carries its age:
  any web node honours it, no process keeps it. A client without cookies (an API token) is pinned by an entry
  of the shared cache instead (`pin_in_cache`), read with the API's rate-limit window in the same query.
- `replica_usable()` probes the replica (reachable, in recovery, lag under DATABASE_REPLICA_MAX_LAG) and
  caches the answer a few seconds per process; a replica down or late sends reads to the primary silently.
"""

import dataclasses
import functools
import inspect
import logging
import threading
import time
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.signing import BadSignature
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

REPLICA = "replica"
PIN_COOKIE = "clausier_primary"
PIN_SALT = "clausier.utils.replica.pin"
HEALTH_TTL = 5.0  # seconds a probe's answer is reused by a process
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Bookkeeping written on plain reads (the session's last activity, the shared cache filled by a dashboard):
# not a change of the user's that a later read must see. Always read on the primary: a session just created
# there, or an API rate-limit counter, must not be missed on a late replica.
PRIMARY_ONLY_APPS = frozenset({"sessions", "django_cache"})

# A health probe query: on an idle primary `now() - pg_last_xact_replay_timestamp()` keeps growing, so a
# replica that has replayed all it received from a live WAL receiver is up to date whatever that lag says.
PROBE_SQL = """
SELECT pg_is_in_recovery(),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()),
       pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
"""


@dataclasses.dataclass
class _Request:
    """What one request has done so far, shared by the middleware, the router and the signals."""

    pinned: bool = False  # reads on the primary: a recent write of this user, or this request wrote
    wrote: bool = False


@dataclasses.dataclass
class _ReplicaReads:
    used: bool = False  # a read was routed to the replica (an OperationalError may then be the replica's)
    disabled: bool = False  # the replica failed during this block: the rest goes to the primary


_request: ContextVar[_Request | None] = ContextVar("clausier_replica_request", default=None)
_replica_reads: ContextVar[_ReplicaReads | None] = ContextVar("clausier_replica_reads", default=None)
_bookkeeping: ContextVar[bool] = ContextVar("clausier_replica_bookkeeping", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- health ------------------------------------------------------------------------------------------------


class _Health:
    """The last probe's answer in this process (not state another node needs: each probes for itself)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.usable = False

    def reset(self):
        with self.lock:
            self.checked_at = float("-inf")
            self.usable = False

    def mark_down(self):
        with self.lock:
            self.checked_at = time.monotonic()
            self.usable = False


_health = _Health()


def lag_acceptable(in_recovery, lag, caught_up, receiving, *, max_lag: float) -> bool:
    """The decision on a probe's row (see PROBE_SQL)."""
    if not in_recovery:
        return True  # a primary (a promoted replica, or the test mirror): nothing to lag behind
    if lag is not None and lag <= max_lag:
        return True
    return bool(caught_up) and bool(receiving)


def probe_replica() -> bool:
    """Ask the replica itself; any database error means "not usable"."""
    connection = connections[REPLICA]
    try:
        if connection.vendor != "postgresql":
            connection.ensure_connection()
            return True
        with connection.cursor() as cursor:
            cursor.execute(PROBE_SQL)
            row = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Réplique indisponible, lectures sur le primaire : %s", error)
        _close_quietly(connection)
        return False
    usable = lag_acceptable(*row, max_lag=settings.DATABASE_REPLICA_MAX_LAG)
    if not usable:
        logger.warning("Réplique en retard (%s s), lectures sur le primaire", row[1])
    return usable


def replica_usable() -> bool:
    now = time.monotonic()
    if now - _health.checked_at < HEALTH_TTL:
        return _health.usable
    # One thread probes; the others keep the previous answer meanwhile.
    if not _health.lock.acquire(blocking=False):
        return _health.usable
    try:
        _health.usable = probe_replica()
        _health.checked_at = time.monotonic()
        return _health.usable
    finally:
        _health.lock.release()


def _close_quietly(connection):
    with suppress(DatabaseError):
        connection.close()


# --- routing -----------------------------------------------------------------------------------------------


def primary_pinned() -> bool:
    state = _request.get()
    return state is not None and state.pinned


def _note_write(model) -> None:
    if _bookkeeping.get() or (model is not None and model._meta.app_label in PRIMARY_ONLY_APPS):
        return
    state = _request.get()
    if state is not None:
        state.wrote = True
        state.pinned = True  # the rest of this request reads its own write


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        reads = _replica_reads.get()
        if reads is None or reads.disabled or not replica_configured():
            return DEFAULT_DB_ALIAS
        if model is not None and model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        # Inside a transaction of the primary a read must see that transaction's writes.
        if primary_pinned() or connections[DEFAULT_DB_ALIAS].in_atomic_block or not replica_usable():
            return DEFAULT_DB_ALIAS
        reads.used = True
        return REPLICA

    def db_for_write(self, model, **hints):
        _note_write(model)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both aliases

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def _on_change(sender, **kwargs):
    _note_write(sender)


@contextmanager
def bookkeeping():
    """Writes that are no change of the user's (an API token's last use, stamped while authenticating a
    read): they do not pin the user's reads to the primary."""
    token = _bookkeeping.set(True)
    try:
        yield
    finally:
        _bookkeeping.reset(token)


post_save.connect(_on_change, dispatch_uid="clausier.utils.replica.save")
post_delete.connect(_on_change, dispatch_uid="clausier.utils.replica.delete")


# --- marking stale-tolerant reads ------------------------------------------------------------------------


@contextmanager
def _replica_block(reads: _ReplicaReads | None = None):
    token = _replica_reads.set(reads or _ReplicaReads())
    try:
        yield _replica_reads.get()
    except OperationalError:
        if _replica_reads.get().used:
            _health.mark_down()
            _close_quietly(connections[REPLICA])
        raise
    finally:
        _replica_reads.reset(token)


def _streamed(content, reads: _ReplicaReads, state: _Request | None):
    """A streaming response's rows are read after the view returned: keep its routing while they are."""
    token = _request.set(state)
    try:
        with _replica_block(reads):
            yield from content
    finally:
        _request.reset(token)


def reads_from_replica(view=None):
    """Mark reads that may be a few seconds stale: `with reads_from_replica():`, or a view decorator
    (`@reads_from_replica`, `method_decorator(reads_from_replica, name="get")`).

    As a decorator it also renders a lazy TemplateResponse inside the block (its querysets run at render),
    routes a streaming response's rows the same way, and runs the view again on the primary when the
    replica failed under it (an OperationalError during a view that wrote nothing).
    """
    if view is None:
        return _replica_block()
    if inspect.iscoroutinefunction(view):
        return _async_reads(view)

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        reads = _ReplicaReads()
        try:
            return _run(view, args, kwargs, reads)
        except OperationalError:
            state = _request.get()
            if not reads.used or (state is not None and state.wrote):
                raise
            logger.warning("Réplique en erreur pendant une lecture : relance sur le primaire")
            return _run(view, args, kwargs, _ReplicaReads(disabled=True))

    wrapped.reads_from_replica = True  # what tests/utils/test_replica_views.py looks for
    return wrapped


def _async_reads(view):
    @functools.wraps(view)
    async def wrapped(*args, **kwargs):
        # Each task has its own copy of the context: the block covers this view's awaits only.
        with _replica_block(_ReplicaReads()):
            return await view(*args, **kwargs)

    wrapped.reads_from_replica = True
    return wrapped


def safe_methods_from_replica(view):
    """`reads_from_replica` for the safe-method requests of a view that also serves writes (every operation of
    the API): a GET reads on the replica, a PUT or a POST stays on the primary from its first query."""
    if getattr(view, "reads_from_replica", False):
        return view  # already marked (the public API's figures)
    marked = reads_from_replica(view)
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def wrapped_async(request, *args, **kwargs):
            return await (marked if request.method in SAFE_METHODS else view)(request, *args, **kwargs)

        wrapped_async.reads_from_replica = True
        return wrapped_async

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        return (marked if request.method in SAFE_METHODS else view)(request, *args, **kwargs)

    wrapped.reads_from_replica = True
    return wrapped


def _run(view, args, kwargs, reads: _ReplicaReads):
    with _replica_block(reads):
        response = view(*args, **kwargs)
        if callable(getattr(response, "render", None)) and not getattr(response, "is_rendered", True):
            response.render()
    if getattr(response, "streaming", False) and not reads.disabled:
        response.streaming_content = _streamed(response.streaming_content, reads, _request.get())
    return response


# --- the pin of clients without cookies (API tokens) ------------------------------------------------------

PIN_KEY_ATTRIBUTE = "clausier_primary_pin_key"


def pin_key(ident: str) -> str:
    """The shared cache's entry holding the pin of the client `ident` (a token: "t<id>")."""
    return f"clausier_primary_{ident}"


def pin_in_cache(request, key: str) -> None:
    """This request's client carries no cookie: after a write, its pin goes to the shared cache's entry `key`
    (every node reads it). Whoever reads that entry before the view (the API's rate limit, in the query that
    reads its window) hands its value to `honour_cache_pin`."""
    if replica_configured():
        setattr(request, PIN_KEY_ATTRIBUTE, key)


def honour_cache_pin(pinned_until) -> None:
    """The value of the client's pin entry (None when absent): while it is in the future, reads go to the
    primary. The value, not the entry's expiry (rounded to the second), bounds the pin."""
    state = _request.get()
    if state is not None and isinstance(pinned_until, float) and pinned_until > time.time():
        state.pinned = True


def _pin_by_cache(key: str, pin_seconds: int) -> None:
    from django.core.cache import cache

    try:
        cache.set(key, time.time() + pin_seconds, pin_seconds + 1)
    except DatabaseError as error:
        # The write is done and answered: a failed pin costs a few seconds of possibly stale reads, not a 500
        # that would make the client send its write again.
        logger.warning("Épinglage au primaire non enregistré (%s) : %s", key, error)


# --- the middleware ----------------------------------------------------------------------------------------


class PrimaryAfterWritesMiddleware:
    """After a request that wrote, the same browser reads from the primary for DATABASE_PRIMARY_PIN seconds."""

    def __init__(self, get_response):
        if not replica_configured():
            raise MiddlewareNotUsed  # no replica: every read is on the primary anyway
        self.get_response = get_response

    def __call__(self, request):
        pin_seconds = settings.DATABASE_PRIMARY_PIN
        state = _Request(pinned=request.method not in SAFE_METHODS or self._pinned(request, pin_seconds))
        token = _request.set(state)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if not pin_seconds:
            return response
        if key := getattr(request, PIN_KEY_ATTRIBUTE, None):
            # An API token: no cookie to carry the pin. Only a request that did write costs the cache write
            # (a refused PUT, a 422 or a 429, changed nothing the client could miss).
            if state.wrote:
                _pin_by_cache(key, pin_seconds)
        elif state.wrote or request.method not in SAFE_METHODS:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=PIN_SALT,
                max_age=pin_seconds,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _pinned(request, pin_seconds: int) -> bool:
        if not pin_seconds or PIN_COOKIE not in request.COOKIES:
            return False
        try:
            # The signature's timestamp, not the cookie's expiry (a client could keep it), bounds the pin.
            request.get_signed_cookie(PIN_COOKIE, salt=PIN_SALT, max_age=pin_seconds)
        except (BadSignature, KeyError):
            return False
        return True
