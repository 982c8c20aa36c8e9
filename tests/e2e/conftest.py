"""End to end through the real Airflow scheduler. The warehouse is PostgreSQL, as deployed: each step of
every flow is tested on both engines by the integration tests, and the demo's end-to-end test runs the
whole integration through the scheduler on the embedded SQLite default. Running each scheduler scenario
on both engines as well doubled the longest part of the suite (some nine minutes) and covered nothing
more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import pg_warehouse


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request) -> Iterator[str]:
    """A warehouse migrated to head on PostgreSQL, fresh for each test."""
    yield from pg_warehouse(request)
