"""The cache is shared by every web node: it lives in the database, in a table `migrate` creates."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_cache_is_the_databases_table_created_by_migrate():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert "clausier_cache" in connection.introspection.table_names()


def test_what_one_node_caches_another_reads():
    cache.set("shared-cache-probe", {"heures": 1234}, 60)
    # Another process has its own cache objects but the same table: read the row as it would.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM clausier_cache WHERE cache_key LIKE %s", ["%shared-cache-probe"])
        assert cursor.fetchone()[0] == 1
    assert cache.get("shared-cache-probe") == {"heures": 1234}
