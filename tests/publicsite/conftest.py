import pytest


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def commit():
    """`commit()`: what a commit does to on-commit callbacks — run those pending, then forget them.

    The test's transaction never commits; without this, a callback registered while building the data
    would stay pending and (rightly) absorb the later changes of the same transaction.
    """
    from django.db import connection

    def run():
        pending = list(connection.run_on_commit)
        connection.run_on_commit.clear()
        for _savepoints, callback, _robust in pending:
            callback()
        return [callback for _savepoints, callback, _robust in pending]

    return run
