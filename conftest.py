"""Fixtures shared by every app: the real worker, and Redis of the test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kumon.testing import WorkerProcess, flush_test_redis


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[WorkerProcess]:
    """A real `celery worker` process on the test database. Tests using it must be
    `django_db(transaction=True)`: the worker only sees committed rows."""
    flush_test_redis()
    worker = WorkerProcess().start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    yield
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:
        pass  # tests that stop Redis leave nothing to clear
