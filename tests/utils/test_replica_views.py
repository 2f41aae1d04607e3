"""The heavy, stale-tolerant reads are marked for the replica (issue 18): the public site and its open data,
the dashboard, the bilans, the API's public figures. Without DATABASE_REPLICA_URL the mark changes nothing."""

import pytest
from django.urls import resolve, reverse

from clausier.api.public import figures, opendata, series

SLUG = {"slug": "cellule-a"}
UUID = {"uuid": "00000000-0000-0000-0000-000000000001"}
MARKED = [
    ("public:cellule_list", {}),
    ("public:home", SLUG),
    ("public:documentation", SLUG),
    ("public:opendata_communes", SLUG),
    ("www:dashboard", {}),
    ("www:bilan_territory", {}),
    ("www:bilan_territory_pdf", {}),
    ("www:bilan_buyer", UUID),
    ("www:bilan_market_xlsx", UUID),
]


@pytest.mark.parametrize(("name", "kwargs"), MARKED)
def test_the_page_reads_from_the_replica(name, kwargs):
    assert getattr(resolve(reverse(name, kwargs=kwargs)).func, "reads_from_replica", False)


@pytest.mark.parametrize("handler", [figures, series, opendata])
def test_the_public_api_reads_from_the_replica(handler):
    assert getattr(handler, "reads_from_replica", False)


def test_pages_that_write_do_not():
    assert not getattr(resolve(reverse("www:switch_organization")).func, "reads_from_replica", False)
