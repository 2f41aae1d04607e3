"""The heavy, stale-tolerant reads are marked for the replica (issue 18): the public site and its open data,
the dashboard, the bilans, the API's public figures and every read of the API (its writes stay on the primary:
tests/api/test_replica_pin.py). Without DATABASE_REPLICA_URL the mark changes nothing."""

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


def test_every_api_operation_is_marked_for_its_safe_methods():
    from clausier.api.main import api

    operations = {
        (path, method): operation.view_func
        for bound in api._get_bound_routers()
        for path, view in bound.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert ("/contracts", "GET") in operations and ("/statements/{month}/hours", "PUT") in operations
    assert [key for key, func in operations.items() if not getattr(func, "reads_from_replica", False)] == []


def test_pages_that_write_do_not():
    assert not getattr(resolve(reverse("www:switch_organization")).func, "reads_from_replica", False)
