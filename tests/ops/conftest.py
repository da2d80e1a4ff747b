"""Fixtures for operating the service: a real pgbouncer in front of the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ops.pgbouncer import PgBouncer, PgBouncerUnavailable, start_pgbouncer


@pytest.fixture(scope="module")
def pgbouncer(database_url: str) -> Iterator[PgBouncer]:
    """pgbouncer in transaction mode (4 server connections) in front of the test database, for one test module."""
    try:
        bouncer = start_pgbouncer(database_url)
    except PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    yield bouncer
    bouncer.close()
