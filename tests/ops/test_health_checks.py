"""`/health/live` answers while the process runs; `/health/ready` only when the database answers and has every
migration; neither needs a token."""

from __future__ import annotations

import asyncio

from litestar.testing import TestClient

from segment_service.core.db import migrate, migration_files
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.ops.ops_helpers import other_database, served, sql


def test_live_and_ready_answer_without_a_token(client: TestClient[FastLane]) -> None:
    for path in ("/health/live", "/health/ready", "/health"):
        response = client.get(path)
        assert (response.status_code, response.json()) == (200, {"status": "UP"}), path


def test_ready_names_the_migrations_the_database_lacks(settings: Settings, database_url: str) -> None:
    _, url = other_database(database_url)
    asyncio.run(migrate(url))
    last = migration_files()[-1][0]
    sql(url, f"DELETE FROM schema_migrations WHERE version = '{last}'")
    with served(settings, database_url=url) as client:
        assert client.get("/health/live").status_code == 200
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.json() == {
            "code": 503,
            "status": "Service Unavailable",
            "message": f"Not ready: the database lacks migration(s) {last}; run `segment-service migrate`.",
        }
        sql(url, f"INSERT INTO schema_migrations (version) VALUES ('{last}')")
        assert client.get("/health/ready").status_code == 200


def test_ready_says_the_database_is_unreachable_and_live_stays_up(settings: Settings, database_url: str) -> None:
    name, url = other_database(database_url)
    asyncio.run(migrate(url))
    with served(settings, database_url=url) as client:
        assert client.get("/health/ready").status_code == 200
        # The database stops taking connections and drops the pool's: what an outage looks like to the pool.
        sql(database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        sql(database_url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            # A pooled connection the server closed may be the first one tried, and its error ("connection was
            # closed") is also a true answer; the next check opens a new connection and meets the refusal itself.
            messages: list[str] = []
            for _ in range(5):
                response = client.get("/health/ready")
                assert response.status_code == 503
                body = response.json()
                assert set(body) == {"code", "status", "message"}
                assert (body["code"], body["status"]) == (503, "Service Unavailable")
                assert body["message"].startswith("Not ready: the database is not reachable (")
                messages.append(body["message"])
                if f'database "{name}" is not currently accepting connections' in body["message"]:
                    break
            else:
                raise AssertionError(f"the refusal never reached the answer: {messages}")
            live = client.get("/health/live")
            assert (live.status_code, live.json()) == (200, {"status": "UP"})
        finally:
            sql(database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert client.get("/health/ready").status_code == 200
