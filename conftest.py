"""Fixtures shared by every app: the real worker, and Redis of the test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kumon.testing import WorkerProcess, flush_test_redis, wait_until_queues_idle

_session_worker: list[WorkerProcess] = []


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[WorkerProcess]:
    """A real `celery worker` process on the test database. Tests using it must be
    `django_db(transaction=True)`: the worker only sees committed rows."""
    flush_test_redis()
    worker = WorkerProcess().start()
    _session_worker.append(worker)
    yield worker
    _session_worker.clear()
    worker.stop()


@pytest.fixture(autouse=True)
def _worker_idle_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Once the session's worker runs, it executes the tasks of every later test too. A
    transactional test's tables are truncated at teardown; a task still running then (a turn
    started by the test's last webhook) takes row locks in another order than TRUNCATE and one of
    the two dies in a deadlock. So such a test ends only when the queues are drained.

    The database fixture is requested here, so it is torn down after this fixture."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction"))
    if transactional:
        request.getfixturevalue("_django_db_helper")
    yield
    if transactional and _session_worker and _session_worker[0].running:
        wait_until_queues_idle()


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    yield
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:
        pass  # tests that stop Redis leave nothing to clear
