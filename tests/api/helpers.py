"""API test helpers: a token for a user, a client that sends it."""

import datetime
import json
import secrets

from django.test import Client
from django.utils import timezone

from clausier.accounts.api_tokens import PREFIX, digest
from clausier.accounts.models import ApiScope, ApiToken
from clausier.organizations.access import memberships_of

ALL_SCOPES = [s.value for s in ApiScope]


def make_token(user, *, organization=None, scopes=None, name="Paie", expires_on=None) -> tuple[ApiToken, str]:
    """A token of `user` in `organization` (its first membership by default), created as the admin page would
    (the admin check is the page's and `create_token`'s business, tested with them)."""
    if organization is None:
        organization = list(memberships_of(user))[0].organization
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=organization,
        created_by=user,
        name=name,
        scopes=ALL_SCOPES if scopes is None else scopes,
        prefix=raw[: len(PREFIX) + 4],
        key_hash=digest(raw),
        expires_on=expires_on or timezone.localdate() + datetime.timedelta(days=30),
    )
    return token, raw


class ApiClient:
    """Requests with `Authorization: Bearer …` (or none), JSON bodies."""

    def __init__(self, raw: str | None = None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"} if raw else {}

    def get(self, path, data=None, **extra):
        return self.client.get(path, data, headers={**self.headers, **extra})

    def post(self, path, body=None, **extra):
        return self.client.post(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers={**self.headers, **extra},
        )

    def put(self, path, body=None, **extra):
        return self.client.put(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers={**self.headers, **extra},
        )

    def patch(self, path, body=None, **extra):
        return self.client.patch(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers={**self.headers, **extra},
        )


def api_as(user, **kwargs) -> ApiClient:
    return ApiClient(make_token(user, **kwargs)[1])
