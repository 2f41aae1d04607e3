"""Shared fixtures: reference data, two facilitator "worlds", logged-in clients per role, strict environment.

World A and world B are built the same way (see `build_world`): a facilitator with an admin and a member,
a buyer owning an operation, a market, a lot with its clause awarded to a company, a participant referred by
a prescriber and placed by an insertion structure (contract + hours + assessment + outcome), and for each
partner role an *unrelated* organization of the same facilitator (another buyer, company, structure,
prescriber) with its own market/lot/participant, so that "sees its own, not its neighbour's" can be tested.
"""

import socket
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command, get_commands
from django.db import connection
from django.template import base as template_base
from django.template import engines
from django.test import Client
from pytest_django.plugin import blocking_manager_key

from tests.factories import acting, build_world


def pytest_configure(config):
    # django-widget-tweaks 1.5.0 calls re.split(…, 1): deprecated in Python 3.13, harmless, not ours.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:'maxsplit' is passed as positional argument:DeprecationWarning:widget_tweaks.*",
    )


DB_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """Figures are cached per facilitator id and data version: rolled-back tests reuse ids, so each test
    starts with an empty cache. The cache is a database table: tests without the database have none."""
    if not (DB_FIXTURES & set(request.fixturenames) or request.node.get_closest_marker("django_db")):
        yield
        return
    # This fixture may run before the test's own database fixture: clear on the test database, outside the
    # test's transaction (the test's writes to the cache are rolled back with it, the others are not).
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        cache.clear()
    yield
    if "live_server" in request.fixturenames:
        # The live server's thread shares the in-memory SQLite connection: after a failed browser test it may
        # still be answering a request, and a DELETE from this thread then waits on it for ever. The next
        # test's set-up clears the cache anyway.
        return
    with blocker.unblock():
        if not connection.needs_rollback:  # a failed test's transaction: its cache writes go with it
            cache.clear()


# --- Session: reference data --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the small reference tables once per session (factories fall back to `get_or_create` by code).

    The official data sets (ROME, NAF, communes, QPV) are loaded only by the tests that need them."""
    if "load_reference" in get_commands():
        with django_db_blocker.unblock():
            call_command("load_reference", "--sans-officiel", verbosity=0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test ends by emptying every table, the reference tables included: load them again for
    the tests that follow on this process (pytest-django runs those tests last, but a pytest-xdist worker
    receives test files in no such order)."""
    yield
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction") and "load_reference" in get_commands():
        with item.config.stash[blocking_manager_key].unblock():
            call_command("load_reference", "--sans-officiel", verbosity=0)


# --- Strict environment: no network, loud templates ---------------------------------------------------------

LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkAccessDenied(RuntimeError):
    pass


def _check_address(sock, address):
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if host not in LOCAL_HOSTS:
        raise NetworkAccessDenied(
            f"Les tests n'ont pas accès au réseau (tentative de connexion à {address!r})."
        )


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


PROJECT_TEMPLATE_DIRS = (
    str(Path(settings.BASE_DIR) / "clausier"),
    str(Path(settings.BASE_DIR) / "templates"),
)


class UndefinedTemplateVariable(AssertionError):
    pass


class _Lenient(Exception):  # noqa: N818 — a control-flow signal, not an error
    pass


def _rendering_origin():
    """The origin of the template node being rendered (walks up the stack to the nearest Node)."""
    frame = sys._getframe(2)
    while frame is not None:
        node = frame.f_locals.get("self")
        if isinstance(node, template_base.Node) and getattr(node, "origin", None) is not None:
            return node.origin
        frame = frame.f_back
    return None


class _StrictInvalid(str):
    """`string_if_invalid`: undefined variables fail in project templates, third-party ones stay lenient.

    Django formats it with `% variable_name` when it contains "%s". `{% if %}`, `{% for %}` and
    `{% firstof %}` resolve with `ignore_failures` and never reach it.
    """

    def __new__(cls):
        return super().__new__(cls, "%s")

    def __mod__(self, variable):
        origin = _rendering_origin()
        name = getattr(origin, "name", "") or ""
        if name.startswith(PROJECT_TEMPLATE_DIRS):
            raise UndefinedTemplateVariable(f"Variable de gabarit indéfinie « {variable} » dans {name}")
        raise _Lenient


_original_resolve = template_base.FilterExpression.resolve


def _resolve(self, context, ignore_failures=False):
    try:
        return _original_resolve(self, context, ignore_failures)
    except _Lenient:
        # Third-party template (django-dsfr, admin): behave exactly as in production (string_if_invalid = "").
        engine = context.template.engine
        engine.string_if_invalid = ""
        try:
            return _original_resolve(self, context, ignore_failures)
        finally:
            engine.string_if_invalid = STRICT_INVALID


STRICT_INVALID = _StrictInvalid()


@pytest.fixture(autouse=True, scope="session")
def _strict_filter_expressions():
    template_base.FilterExpression.resolve = _resolve
    yield
    template_base.FilterExpression.resolve = _original_resolve


@pytest.fixture(autouse=True)
def _strict_templates(_strict_filter_expressions):
    # Per test: a settings override (TEMPLATES) builds new engines.
    engine = engines["django"].engine
    engine.string_if_invalid = STRICT_INVALID
    yield
    engine.string_if_invalid = ""


# --- Worlds -------------------------------------------------------------------------------------------------


@pytest.fixture
def world_a(db):
    return build_world("A")


@pytest.fixture
def world_b(db):
    return build_world("B")


@pytest.fixture
def worlds(world_a, world_b):
    return world_a, world_b


# --- Clients ------------------------------------------------------------------------------------------------


@pytest.fixture
def client_for():
    """`client_for(user)`: a test client logged in as `user` (the middleware picks its first membership)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def facilitator_admin_client(world_a, client_for):
    return client_for(world_a.users["facilitator_admin"])


@pytest.fixture
def facilitator_member_client(world_a, client_for):
    return client_for(world_a.users["facilitator_member"])


@pytest.fixture
def buyer_client(world_a, client_for):
    return client_for(world_a.users["buyer"])


@pytest.fixture
def company_client(world_a, client_for):
    return client_for(world_a.users["company"])


@pytest.fixture
def structure_client(world_a, client_for):
    return client_for(world_a.users["structure"])


@pytest.fixture
def prescriber_client(world_a, client_for):
    return client_for(world_a.users["prescriber"])


@pytest.fixture
def act():
    """`act(user)`: set the user's current organization as the middleware does."""
    return acting
