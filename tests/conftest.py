"""One embedded PostgreSQL per test process (per pytest-xdist worker), migrated once; one app over it. Tests isolate
by tenant: every test gets its own tenant, so nothing is shared and nothing needs cleaning up."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.db import migrate
from segment_service.core.fastlane import FastLane
from segment_service.embedded import ensure_database, start_embedded
from segment_service.settings import Settings
from tests.database import close_session_connections, open_session_connection
from tests.factories import Api, Tokens

#: Fixtures of apps in the `host` answer-versions mode, shared by the answers and coupons tests.
pytest_plugins = ["tests.host_apps"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist's `--dist loadgroup`, the tests of a module that share a module- or class-scoped fixture (a
    served process, a pgbouncer, a database of their own) go to one worker, which starts that fixture once."""
    for item in items:
        info: Any = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if any(defs[-1].scope in ("module", "class") for defs in info.name2fixturedefs.values() if defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database: TEST_DATABASE_URL's server when set, else a private embedded server."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        asyncio.run(migrate(external))
        open_session_connection(external)
        yield external
        close_session_connections()
        return
    # Not pytest's tmp_path: pytest deletes old base folders when other runs start, which would pull the data folder
    # from under a long run. Each pytest-xdist worker runs this fixture, so each has a server of its own.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"segment-service-test-{worker}-"))
    server, url = start_embedded(folder / "data")
    try:
        asyncio.run(ensure_database(url, "segment_service"))
        asyncio.run(migrate(url))
        open_session_connection(url)
        yield url
    finally:
        close_session_connections()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The cheapest argon2 cost keeps customer logins fast in tests; production uses the default. No webhook relay:
    # the webhook tests run apps of their own that deliver (tests/webhooks), so no other relay takes their deliveries.
    return Settings(
        database_url=database_url,
        signing_key="test-signing-key-" + "x" * 32,
        password_hash_memory_kib=8,
        webhook_deliver=False,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastLane:
    """The app as served: the fast lane in front of the Litestar app."""
    return create_served_app(settings)


@pytest.fixture(scope="session")
def client(app: FastLane) -> Iterator[TestClient[FastLane]]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tokens(app: FastLane, client: TestClient[FastLane], database_url: str) -> Tokens:
    return Tokens(app.state.tokens, database_url)


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone."""
    return "t" + secrets.token_hex(6)


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Api:
    """Requests as a back-office client of the test's tenant holding every service scope."""
    return Api(client, tokens, tenant)
