"""Schemathesis against `/api/v1/openapi.json`: every operation, generated inputs, as a facilitator's and as a
company's token — no 5xx, and every answer (status, content type, body) conforms to the schema."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clausier.api.main import api
from tests.api.helpers import make_token

# The schema the API serves at /api/v1/openapi.json (read without a request: collection runs before the test
# settings allow the WSGI client's host), called in-process through Django's WSGI application.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
schema.app = get_wsgi_application()


@pytest.fixture
def keep_connection():
    """The WSGI handler closes the database connection after each request; Django's test client does not (the
    test's transaction lives on it): do as the test client does while schemathesis calls the application."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def tokens(world_a, settings, keep_connection):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # the WSGI client's host
    return [make_token(world_a.users[role])[1] for role in ("facilitator_admin", "company")]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,  # the same inputs on every run (deterministic CI)
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_conforms_to_the_schema(case, tokens):
    for raw in tokens:
        case.call_and_validate(headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)
