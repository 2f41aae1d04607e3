"""The access probe (`tests/test_access_probe.py`), its whole matrix, with every role of both worlds signed in
through ProConnect (issue 17).

Each test here builds the two worlds once, signs every one of their users in through the real local provider
(Clausier's start page, the provider's login, Clausier's callback: the account found by its verified address,
the identity linked), then runs one of the probe's own tests for each of its parameters with `client_for(user)`
giving that browser. Each run happens in a savepoint rolled back afterwards (and with an empty cache), so that
every URL meets the worlds as the probe's own test would, fresh; the sign-ins' rows (links, login log, audit) are
written before, which keeps the probe's "nothing was written" checks exact. The probe's REGISTRY and
parametrization are read from its module: a URL added there is probed here too.
"""

import contextlib
import inspect

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse

from clausier.accounts import proconnect
from clausier.accounts.models import ProConnectIdentity
from tests import test_access_probe as probe  # a module, not its functions: pytest must not collect them here
from tests.proconnect.conftest import ACR_EIDAS1

# The probe's tests that sign users in (the others need no session, or use API tokens).
PROBE_TESTS = [
    "test_legitimate_users_get_an_answer",
    "test_everyone_else_gets_404",
    "test_read_only_pages_refuse_post",
    "test_outsiders_cannot_write",
    "test_the_probe_payload_does_write_for_staff",
    "test_pages_without_identifier_answer_every_role",
    "test_admin_is_closed_to_non_staff_users",
    "test_switching_to_an_organization_of_another_facilitator_is_404",
    "test_eligibility_criteria_and_outcomes_are_shown_to_staff_only",
]


def proconnect_account(user) -> dict:
    """The user as the provider knows them (the same verified address as their Clausier account)."""
    return {
        "sub": f"sub-{user.email}",
        "email": user.email,
        "given_name": user.first_name,
        "usual_name": user.last_name,
        "siret": "21690123100011",
        "uid": f"uid-{user.pk}",
        "idp_id": "idp-sonde",
        "acr": ACR_EIDAS1,
        "amr": ["pwd"],
    }


def signed_in_through_proconnect(provider, user) -> Client:
    """A browser signed in as `user` by the whole ProConnect flow."""
    client = Client()
    start = client.get(reverse("accounts:proconnect_start"))
    assert start.status_code == 302, start.content.decode()[:500]
    response = client.get(provider.log_in(start["Location"], user.email))
    assert (response.status_code, response["Location"]) == (302, reverse("www:dashboard")), user.email
    assert client.session[AUTH_USER_KEY] == str(user.pk)
    assert proconnect.ID_TOKEN_KEY in client.session
    return client


@pytest.fixture
def client_for(worlds, oidc_provider, settings):
    """`client_for(user)`: the browser in which `user`, a user of either world, signed in through ProConnect."""
    oidc_provider.reset()
    settings.PROCONNECT_DOMAIN = oidc_provider.issuer
    settings.PROCONNECT_CLIENT_ID = oidc_provider.client_id
    settings.PROCONNECT_CLIENT_SECRET = oidc_provider.client_secret
    users = [world.users[role] for world in worlds for role in probe.ALL_ROLES]
    for user in users:
        oidc_provider.add_account(**proconnect_account(user))
    clients = {user.pk: signed_in_through_proconnect(oidc_provider, user) for user in users}
    assert ProConnectIdentity.objects.filter(user__in=users).count() == len(users)  # each found and linked

    def make(user):
        return clients[user.pk] if user is not None else Client()

    yield make
    oidc_provider.reset()


def parameters(test) -> list[dict]:
    """The probe test's own parametrization, as keyword arguments ([{}] for a test without)."""
    marks = [mark for mark in getattr(test, "pytestmark", []) if mark.name == "parametrize"]
    if not marks:
        return [{}]
    (mark,) = marks
    (argname,) = [name.strip() for name in mark.args[0].split(",")]
    return [{argname: value} for value in mark.args[1]]


@contextlib.contextmanager
def as_if_alone():
    """What runs inside is undone afterwards, in the database and in the cache (as between two tests)."""
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        cache.clear()


@pytest.mark.parametrize("name", PROBE_TESTS)
def test_the_access_probe_holds_for_users_signed_in_through_proconnect(name, worlds, client_for):
    test = getattr(probe, name)
    fixtures = {"worlds": worlds, "world_a": worlds[0], "world_b": worlds[1], "client_for": client_for}
    wanted = {arg: fixtures[arg] for arg in inspect.signature(test).parameters if arg in fixtures}
    runs, failures = parameters(test), []
    for params in runs:
        try:
            with as_if_alone():
                test(**params, **wanted)
        except Exception as error:  # every URL is probed; the report lists all that failed
            failures.append(f"{params or name}: {type(error).__name__}: {error}")
    assert not failures, f"{len(failures)}/{len(runs)} en échec :\n" + "\n".join(failures)
