"""The replica router (issue 18): stale-tolerant reads on the replica, writes and a writer's reads on the primary."""

from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import MiddlewareNotUsed
from django.db import OperationalError, connections, transaction
from django.db.models.signals import post_save
from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.test import RequestFactory, override_settings

from clausier.utils import replica
from clausier.utils.replica import (
    PIN_COOKIE,
    PrimaryAfterWritesMiddleware,
    ReplicaRouter,
    bookkeeping,
    reads_from_replica,
    safe_methods_from_replica,
)

User = get_user_model()
router = ReplicaRouter()


def _configured():
    """As with DATABASE_REPLICA_URL set (the connections themselves are mocked where used)."""
    return mock.patch.object(replica, "replica_configured", return_value=True)


@pytest.fixture
def healthy():
    """A configured replica whose probe says it is fine (the probe itself is tested apart)."""
    with _configured(), mock.patch.object(replica, "replica_usable", return_value=True):
        yield


def test_reads_go_to_the_primary_unless_marked_stale_tolerant(healthy):
    assert router.db_for_read(User) == "default"
    with reads_from_replica():
        assert router.db_for_read(User) == "replica"
    assert router.db_for_read(User) == "default"


def test_writes_migrations_and_relations():
    with reads_from_replica():
        assert router.db_for_write(User) == "default"
    assert router.allow_migrate("default", "accounts") is True
    assert router.allow_migrate("replica", "accounts") is False
    assert router.allow_relation(object(), object()) is True


def test_without_a_replica_nothing_changes():
    with mock.patch.object(replica, "replica_configured", return_value=False), reads_from_replica():
        assert router.db_for_read(User) == "default"
    with (
        mock.patch.object(replica, "replica_configured", return_value=False),
        pytest.raises(MiddlewareNotUsed),
    ):
        PrimaryAfterWritesMiddleware(lambda request: HttpResponse())


def test_sessions_and_the_shared_cache_are_always_read_on_the_primary(healthy):
    from django.core.cache import cache

    with reads_from_replica():
        assert router.db_for_read(Session) == "default"
        assert router.db_for_read(cache.cache_model_class) == "default"


def test_a_lagging_or_unreachable_replica_sends_reads_to_the_primary():
    with (
        _configured(),
        reads_from_replica(),
        mock.patch.object(replica, "replica_usable", return_value=False),
    ):
        assert router.db_for_read(User) == "default"


@pytest.mark.parametrize(
    ("in_recovery", "lag", "caught_up", "receiving", "usable"),
    [
        (True, 2.0, False, True, True),  # streaming, a little behind
        (True, 60.0, False, True, False),  # behind past the threshold
        (True, 60.0, True, True, True),  # idle primary: all received WAL replayed, the receiver is live
        (True, 60.0, True, False, False),  # caught up with what it had, but the stream is cut
        (True, None, None, False, False),  # never replayed anything, no stream
        (False, None, None, False, True),  # not a standby (the test mirror, a promoted replica)
    ],
)
def test_lag_decision(in_recovery, lag, caught_up, receiving, usable):
    assert replica.lag_acceptable(in_recovery, lag, caught_up, receiving, max_lag=10) is usable


def test_an_unreachable_replica_is_not_usable_and_the_answer_is_cached():
    broken = mock.MagicMock(vendor="postgresql")
    broken.cursor.side_effect = OperationalError("connection refused")
    replica._health.reset()
    with mock.patch.object(replica, "connections", {"replica": broken}):
        assert replica.replica_usable() is False
        assert replica.replica_usable() is False
    assert broken.cursor.call_count == 1  # the second answer came from the cache
    broken.close.assert_called()
    replica._health.reset()


def test_a_late_replica_probe_reads_its_lag():
    cursor = mock.MagicMock()
    cursor.__enter__.return_value.fetchone.return_value = (True, 42.0, False, True)
    late = mock.MagicMock(vendor="postgresql")
    late.cursor.return_value = cursor
    with (
        mock.patch.object(replica, "connections", {"replica": late}),
        override_settings(DATABASE_REPLICA_MAX_LAG=10),
    ):
        assert replica.probe_replica() is False
    with (
        mock.patch.object(replica, "connections", {"replica": late}),
        override_settings(DATABASE_REPLICA_MAX_LAG=60),
    ):
        assert replica.probe_replica() is True


@pytest.mark.django_db
def test_inside_a_transaction_of_the_primary_reads_stay_there(healthy):
    with reads_from_replica(), transaction.atomic():
        assert router.db_for_read(User) == "default"


# --- the pin after a write ---------------------------------------------------------------------------------


def _middleware(view):
    with _configured():
        return PrimaryAfterWritesMiddleware(view)


def _routed_view(seen):
    @reads_from_replica
    def view(request):
        seen.append(router.db_for_read(User))
        return HttpResponse()

    return view


def test_a_post_pins_the_browser_and_its_next_read_goes_to_the_primary(healthy):
    seen = []
    middleware = _middleware(_routed_view(seen))
    factory = RequestFactory()
    posted = middleware(factory.post("/"))
    assert seen == ["default"]  # a non-safe request reads its own writes
    cookie = posted.cookies[PIN_COOKIE]
    assert cookie["max-age"] == settings.DATABASE_PRIMARY_PIN and cookie["httponly"]

    following = factory.get("/")
    following.COOKIES[PIN_COOKIE] = cookie.value
    assert PIN_COOKIE not in middleware(following).cookies
    stranger = middleware(factory.get("/"))
    assert seen == ["default", "default", "replica"]
    assert PIN_COOKIE not in stranger.cookies


def test_a_save_during_a_get_pins_too_and_the_rest_of_the_request_reads_it(healthy):
    seen = []

    @reads_from_replica
    def view(request):
        seen.append(router.db_for_read(User))
        post_save.send(sender=User, instance=User(), created=True)
        seen.append(router.db_for_read(User))
        return HttpResponse()

    response = _middleware(view)(RequestFactory().get("/"))
    assert seen == ["replica", "default"]
    assert PIN_COOKIE in response.cookies


def test_a_session_or_cache_write_does_not_pin(healthy):
    def view(request):
        post_save.send(sender=Session, instance=Session(), created=False)
        return HttpResponse()

    assert PIN_COOKIE not in _middleware(view)(RequestFactory().get("/")).cookies


def test_an_expired_or_forged_pin_is_ignored(healthy):
    seen = []
    middleware = _middleware(_routed_view(seen))
    cookie = middleware(RequestFactory().post("/")).cookies[PIN_COOKIE].value
    forged = RequestFactory().get("/")
    forged.COOKIES[PIN_COOKIE] = "1:forged:signature"
    middleware(forged)
    late = RequestFactory().get("/")
    late.COOKIES[PIN_COOKIE] = cookie
    with override_settings(DATABASE_PRIMARY_PIN=15), mock.patch("time.time", return_value=9e9):
        middleware(late)
    assert seen == ["default", "replica", "replica"]


def test_bookkeeping_writes_do_not_pin(healthy):
    def view(request):
        with bookkeeping():
            post_save.send(sender=User, instance=User(), created=False)
        return HttpResponse()

    assert PIN_COOKIE not in _middleware(view)(RequestFactory().get("/")).cookies


def test_a_client_pinned_by_the_cache_is_pinned_while_the_value_is_in_the_future(healthy):
    import time

    seen = []

    @reads_from_replica
    def view(request):
        replica.honour_cache_pin(request.pin)
        seen.append(router.db_for_read(User))
        return HttpResponse()

    middleware = _middleware(view)
    for pin in (time.time() + 10, time.time() - 1, None, "forged"):
        request = RequestFactory().get("/")
        request.pin = pin
        middleware(request)
    assert seen == ["default", "replica", "replica", "replica"]


def test_a_token_write_pins_by_the_cache_not_by_a_cookie(healthy):
    def view(request):
        replica.pin_in_cache(request, replica.pin_key("t1"))
        post_save.send(sender=User, instance=User(), created=False)
        return HttpResponse()

    with mock.patch.object(replica, "_pin_by_cache") as pin:
        response = _middleware(view)(RequestFactory().post("/"))
    assert PIN_COOKIE not in response.cookies
    pin.assert_called_once_with("clausier_primary_t1", settings.DATABASE_PRIMARY_PIN)


def test_safe_methods_only_read_from_the_replica(healthy):
    @safe_methods_from_replica
    def view(request):
        return HttpResponse(router.db_for_read(User))

    assert view.reads_from_replica
    factory = RequestFactory()
    assert view(factory.get("/")).content == b"replica"
    assert view(factory.put("/")).content == b"default"
    marked = reads_from_replica(lambda request: HttpResponse())
    assert safe_methods_from_replica(marked) is marked  # the public API's handlers are not wrapped twice


# --- the decorator: lazy templates, streams, falling back -------------------------------------------------


def test_a_lazy_template_response_is_rendered_inside_the_block(healthy):
    seen = []

    class Template:
        """Stands for a page whose querysets are evaluated while it renders."""

        def render(self, context=None, request=None):
            seen.append(router.db_for_read(User))
            return "page"

    @reads_from_replica
    def view(request):
        return TemplateResponse(request, Template())

    response = view(RequestFactory().get("/"))
    assert response.is_rendered and seen == ["replica"]


def test_a_streamed_response_reads_its_rows_on_the_replica(healthy):
    @reads_from_replica
    def view(request):
        return StreamingHttpResponse(router.db_for_read(User) for _ in range(2))

    response = view(RequestFactory().get("/"))
    assert router.db_for_read(User) == "default"
    assert b"".join(response.streaming_content) == b"replicareplica"


def test_a_replica_failing_under_a_view_reruns_it_on_the_primary():
    replica._health.reset()
    calls = []

    @reads_from_replica
    def view(request):
        alias = router.db_for_read(User)
        calls.append(alias)
        if alias == "replica":
            raise OperationalError("server closed the connection unexpectedly")
        return HttpResponse(alias)

    fake = {"replica": mock.MagicMock(), "default": connections["default"]}
    with (
        _configured(),
        mock.patch.object(replica, "probe_replica", return_value=True),
        mock.patch.object(replica, "connections", fake),
    ):
        response = view(RequestFactory().get("/"))
        assert calls == ["replica", "default"] and response.content == b"default"
        # The replica is taken as down for the next few seconds, without a new probe.
        view(RequestFactory().get("/"))
        assert calls == ["replica", "default", "default"]
    replica._health.reset()


def test_a_primary_error_is_not_retried(healthy):
    @reads_from_replica
    def view(request):
        raise OperationalError("the primary is down")

    with pytest.raises(OperationalError):
        view(RequestFactory().get("/"))


# --- PostgreSQL, with DATABASE_REPLICA_URL set to the primary's URL (the "replica" alias mirrors "default") --

needs_replica = pytest.mark.skipif(
    "replica" not in settings.DATABASES
    or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="run with DATABASE_REPLICA_URL on PostgreSQL",
)


@needs_replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_on_postgresql_marked_reads_use_the_replica_connection_and_a_writers_next_read_the_primary():
    from django.test.utils import CaptureQueriesContext

    replica._health.reset()
    assert replica.probe_replica() is True  # the probe's SQL runs (a primary: not in recovery)
    User.objects.create(username="lecteur", email="lecteur@example.org")

    @reads_from_replica
    def view(request):
        if request.method == "POST":
            User.objects.filter(email="lecteur@example.org").update(first_name="Camille")
        return HttpResponse(User.objects.get(email="lecteur@example.org").first_name)

    middleware = PrimaryAfterWritesMiddleware(view)
    factory = RequestFactory()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        assert middleware(factory.get("/")).content == b""
    assert any("lecteur@example.org" in query["sql"] for query in on_replica.captured_queries)

    cookie = middleware(factory.post("/")).cookies[PIN_COOKIE].value
    following = factory.get("/")
    following.COOKIES[PIN_COOKIE] = cookie
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        assert middleware(following).content == b"Camille"
    assert not on_replica.captured_queries
    assert any("lecteur@example.org" in query["sql"] for query in on_primary.captured_queries)
    replica._health.reset()


def test_an_async_view_reads_on_the_replica_while_it_awaits(healthy):
    import asyncio

    @reads_from_replica
    async def view(request):
        await asyncio.sleep(0)
        return HttpResponse(router.db_for_read(User))

    assert asyncio.run(view(RequestFactory().get("/"))).content == b"replica"
