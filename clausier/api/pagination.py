"""Lists: a cursor on (updated_at, id), so that a program syncs incrementally.

Every list is ordered by its rows' last change, then id (stable: a row changed during a sync moves to the end
and is read again, none is skipped), filtered by `updated_since`, and read one page at a time with one query
for the page (plus the endpoint's constant prefetches), whatever the page size.
"""

import base64
import binascii
import datetime
from typing import Any
from urllib import parse

from django.db.models import Q
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from clausier.api.problems import Problem

BAD_CURSOR = "Curseur invalide : reprenez la valeur « next_cursor » d'une page précédente, telle quelle."


def encode(stamp: datetime.datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{stamp.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.split("|")
        return datetime.datetime.fromisoformat(stamp), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Problem(400, BAD_CURSOR, [{"field": "query.cursor", "message": "curseur invalide"}]) from exc


class KeysetPagination(PaginationBase):
    items_attribute = "results"

    class Input(Schema):
        cursor: str | None = Field(None, description="La valeur « next_cursor » de la page précédente.")
        page_size: int = Field(100, ge=1, le=500, description="Lignes par page (1 à 500).")
        updated_since: datetime.datetime | None = Field(
            None, description="Seulement les lignes modifiées depuis cette date et heure (ISO 8601)."
        )

    class Output(Schema):
        next_cursor: str | None = Field(
            description="À passer en « cursor » pour la page suivante ; vide à la fin."
        )
        next: str | None = Field(description="L'adresse de la page suivante.")
        results: list[Any]

    def paginate_queryset(self, queryset, pagination: Input, request, **params):
        rows = queryset
        if pagination.updated_since is not None:
            since = pagination.updated_since
            if since.tzinfo is None:
                since = since.replace(tzinfo=datetime.UTC)
            rows = rows.filter(updated_at__gte=since)
        if pagination.cursor:
            stamp, pk = decode(pagination.cursor)
            rows = rows.filter(Q(updated_at__gt=stamp) | Q(updated_at=stamp, pk__gt=pk))
        page = list(rows.order_by("updated_at", "pk")[: pagination.page_size + 1])
        more = len(page) > pagination.page_size
        page = page[: pagination.page_size]
        cursor = encode(page[-1].updated_at, page[-1].pk) if more else None
        return {"next_cursor": cursor, "next": self.next_url(request, cursor), "results": page}

    @staticmethod
    def next_url(request, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        query = parse.parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
        query["cursor"] = [cursor]
        return request.build_absolute_uri(request.path + "?" + parse.urlencode(query, doseq=True))
