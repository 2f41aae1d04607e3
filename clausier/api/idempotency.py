"""`Idempotency-Key` on writes: a program that retries after a timeout gets the first answer again, and the write
is made once.

A token caller that sends the header has its first successful (2xx) answer stored with a fingerprint of the
request (SHA-256 of method, path and body); the same key with the same request gets that answer back without
running the write again; the same key with another request is a 422. The write and the stored answer are saved
in one transaction: when two requests with the same key race, the unique constraint (token, key) lets one
commit, the other's write is rolled back and it replays the first answer. A session caller (the browser) has no
token to file the answer under: the header is ignored.

Use: `return replay_or_run(request, lambda: render(request, SomeOut, run()))` in an endpoint.
"""

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from ninja import Header
from ninja.renderers import JSONRenderer
from pydantic import TypeAdapter

from clausier.accounts.models import IdempotentRequest
from clausier.api.problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REUSED = "Cette clé d'idempotence a déjà servi pour une autre requête."
TOO_LONG = f"La clé d'idempotence fait au plus {MAX_KEY_LENGTH} caractères."
DESCRIPTION = (
    "Facultatif, avec un jeton : une valeur unique par opération (un UUID par exemple). Renvoyée avec la même "
    "requête, elle redonne la première réponse sans refaire l'écriture ; avec une autre requête, 422."
)


def idempotency_header():
    """The header as an endpoint parameter (for the documentation; `replay_or_run` reads it from the request)."""
    return Header(None, alias=HEADER, description=DESCRIPTION)


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b" ")
    digest.update(request.get_full_path().encode())
    digest.update(b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def render(request, schema, data, *, status: int = 200) -> HttpResponse:
    """`data` serialized through `schema` (a schema, or `list[Schema]`) as ninja would answer it, to store the
    very bytes sent."""
    adapter = TypeAdapter(schema)
    body = adapter.dump_python(adapter.validate_python(data, context={"request": request}))
    renderer = JSONRenderer()  # the API's renderer (the default one)
    content = renderer.render(request, body, response_status=status)
    return HttpResponse(content, status=status, content_type=f"{renderer.media_type}; charset=utf-8")


def _replay(stored: IdempotentRequest, print_: str) -> HttpResponse:
    if stored.fingerprint != print_:
        raise Problem(422, REUSED, [{"field": f"header.{HEADER}", "message": REUSED}])
    response = HttpResponse(bytes(stored.body), status=stored.status, content_type=stored.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def stored_answer(token, key: str) -> IdempotentRequest | None:
    return IdempotentRequest.objects.filter(token=token, key=key).first()


class _KeyTaken(Exception):
    """Another request with the same key committed first: roll this one's write back."""


def replay_or_run(request, run: Callable[[], HttpResponse]) -> HttpResponse:
    """The stored answer to this token's `Idempotency-Key`, or `run()`'s (stored when successful)."""
    token = getattr(request.auth, "api_token", None)
    key = request.headers.get(HEADER)
    if token is None or key is None:
        return run()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        message = TOO_LONG if key else "La clé d'idempotence est vide."
        raise Problem(422, message, [{"field": f"header.{HEADER}", "message": message}])
    print_ = fingerprint(request)
    stored = stored_answer(token, key)
    if stored is not None:
        return _replay(stored, print_)
    try:
        with transaction.atomic():
            response = run()
            if 200 <= response.status_code < 300:
                try:
                    with transaction.atomic():
                        IdempotentRequest.objects.create(
                            token=token,
                            key=key,
                            fingerprint=print_,
                            status=response.status_code,
                            body=response.content,
                            content_type=response.get("Content-Type", "application/json"),
                        )
                except IntegrityError as exc:
                    raise _KeyTaken from exc
    except _KeyTaken:
        return _replay(stored_answer(token, key), print_)
    return response
