"""The live figures of a cellule's public page, cached and refreshed when data change.

The cache key carries the facilitator's *data version* (`FiguresVersion.token`) and the day: a change of
contracts, hours, statements, markets, lots, clauses or participants replaces the token (one write, once per
transaction, after commit — see `signals.py`), so the next visitor gets fresh figures; a new day does too
(the as-of date and the current year of the chart move).

The version lives in the database rather than in the cache, so that several processes with their own local
memory cache never serve figures older than the last change.
"""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from clausier.organizations.models import Organization
from clausier.publicsite.models import FiguresVersion
from clausier.reporting.bilans import mask
from clausier.reporting.indicators import participants_per_year, territory_figures
from clausier.utils.dates import french_date

CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PublicFigures:
    as_of: datetime.date
    buyers: int
    hours: Decimal
    contracts: int
    participants: int
    qpv_residents: int
    per_year: tuple[tuple[int, int], ...]

    @property
    def first_year(self) -> int | None:
        return self.per_year[0][0] if self.per_year else None

    @property
    def as_of_label(self) -> str:
        return french_date(self.as_of)

    @property
    def qpv_shown(self):
        """The QPV residents as published: under 5, « < 5 » (statistical secret, as in the bilans)."""
        return mask(self.qpv_residents, public=True)


def published_cellules():
    """The facilitators whose public site is online: the active ones (an inactive one's pages are 404)."""
    return Organization.objects.facilitators().filter(is_active=True)


def data_version(facilitator) -> str:
    return (
        FiguresVersion.objects.filter(facilitator_id=facilitator.pk).values_list("token", flat=True).first()
        or "0"
    )


def compute(facilitator, day: datetime.date) -> PublicFigures:
    figures = territory_figures(facilitator)
    return PublicFigures(
        as_of=day,
        buyers=figures.buyers,
        hours=figures.hours,
        contracts=figures.contracts,
        participants=figures.participants,
        qpv_residents=figures.qpv_residents,
        per_year=tuple(participants_per_year(facilitator, until=day.year)),
    )


def cached_on_data(facilitator, name: str, compute, *, day: datetime.date):
    """`compute()`, cached until the facilitator's data change or the day changes (`name` tells apart the
    callers and their arguments: it must hold everything the result depends on besides the data)."""
    key = f"data:{name}:{facilitator.pk}:{data_version(facilitator)}:{day.isoformat()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def public_figures(facilitator, today: datetime.date | None = None) -> PublicFigures:
    """The figures of the public page: from the cache when the data have not changed since."""
    day = today or timezone.localdate()
    return cached_on_data(facilitator, "publicsite:figures", lambda: compute(facilitator, day), day=day)


def bump(facilitator_id: int) -> None:
    """Give the facilitator's data a new version (its cached figures are no longer read)."""
    values = {"token": uuid.uuid4().hex, "changed_at": timezone.now()}
    if FiguresVersion.objects.filter(facilitator_id=facilitator_id).update(**values):
        return
    try:
        with transaction.atomic():
            FiguresVersion.objects.create(facilitator_id=facilitator_id, **values)
    except IntegrityError:  # created meanwhile by another process
        FiguresVersion.objects.filter(facilitator_id=facilitator_id).update(**values)


def data_changed(facilitator_id: int | None) -> None:
    """Data behind the figures of this facilitator changed: bump its version once the transaction commits.

    Inside a transaction, one bump per facilitator however many rows change (no row lock held during the
    transaction, nothing bumped if it rolls back); outside, at once.
    """
    if facilitator_id is None:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        bump(facilitator_id)
        return
    for _savepoints, callback, _robust in connection.run_on_commit:
        if getattr(callback, "publicsite_facilitator", None) == facilitator_id:
            return
    callback = partial(bump, facilitator_id)
    callback.publicsite_facilitator = facilitator_id
    transaction.on_commit(callback)
