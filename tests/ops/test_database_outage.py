"""The database going away under a running `segment-service serve`: every request answers 503 with the service's
error body and Retry-After, the log gets one line when the outage starts and one when it ends, and the service
recovers by itself. A real PostgreSQL is stopped as a crash would stop it (`pg_ctl stop -m immediate`) and started
again."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.oauth import service as oauth_service
from tests.ops.servers import SIGNING_KEY, ServeProcess, StoppablePostgres

MESSAGE = "The service cannot reach its database right now; try again in a few seconds."
SEGMENT_BODY = {"code": 503, "status": "Service Unavailable", "message": MESSAGE}
CATEGORY_BODY = {**SEGMENT_BODY, "details": [MESSAGE]}
COUPON_BODY = {"status": 503, "type": "service_unavailable", "message": MESSAGE}

OUTAGE_STARTED = r"database unavailable \("
OUTAGE_ENDED = r"database available again after"


async def create_client(url: str, tenant: str) -> tuple[str, str]:
    conn = await asyncpg.connect(url)
    try:
        client, secret = await oauth_service.create_client(conn, tenant=tenant)
    finally:
        await conn.close()
    return client.client_id, secret


class World:
    """A served service over a PostgreSQL the test controls, and one request per kind of path."""

    def __init__(self, folder: Path) -> None:
        self.postgres = StoppablePostgres(folder)
        asyncio.run(migrate(self.postgres.url))
        self.tenant = "t" + secrets.token_hex(6)
        self.client_id, self.secret = asyncio.run(create_client(self.postgres.url, self.tenant))
        tokens = TokenService(SIGNING_KEY)
        self.service_token = tokens.issue(
            tenant=self.tenant, kind=TokenKind.SERVICE, subject=self.client_id, scopes=SERVICE_SCOPES, ttl_seconds=600
        )
        # A customer token names a session, which every request checks in the database.
        self.customer_token = tokens.issue(
            tenant=self.tenant,
            kind=TokenKind.CUSTOMER,
            subject="c1",
            scopes=("customer.customer_read_own",),
            ttl_seconds=600,
            customer_id="c1",
            session_id="s" + secrets.token_hex(8),
        )
        self.serve = ServeProcess.start(folder, database_url=self.postgres.url)

    def requests(self) -> dict[str, Callable[[], httpx.Response]]:
        serve, tenant = self.serve, self.tenant
        service = {"Authorization": f"Bearer {self.service_token}"}
        return {
            "health": lambda: serve.get("/health"),
            "segments": lambda: serve.get(f"/customer-segment/{tenant}/segments", headers=service),
            # A fast-lane route (core/fastlane.py), answered without the framework.
            "fast lane": lambda: serve.get(f"/category/{tenant}/categories/c1/assignments", headers=service),
            "token": lambda: serve.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.secret},
            ),
            "session check": lambda: serve.get(
                f"/customer/{tenant}/me", headers={"Authorization": f"Bearer {self.customer_token}"}
            ),
        }

    def close(self) -> None:
        self.serve.stop()
        self.postgres.close()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    world = World(Path(tempfile.mkdtemp(prefix="ops-outage-")))
    try:
        yield world
    finally:
        world.close()


EXPECTED_BODIES = {
    "health": SEGMENT_BODY,
    "segments": SEGMENT_BODY,
    "fast lane": CATEGORY_BODY,
    "token": SEGMENT_BODY,
    "session check": COUPON_BODY,
}


def test_an_outage_answers_503_logs_once_and_recovers_by_itself(world: World) -> None:
    serve = world.serve
    before = {name: request().status_code for name, request in world.requests().items()}
    assert before == {"health": 200, "segments": 200, "fast lane": 404, "token": 200, "session check": 401}

    world.postgres.stop()
    for _ in range(3):  # several rounds: still one log line
        for name, request in world.requests().items():
            answer = request()
            assert answer.status_code == 503, (name, answer.text)
            assert answer.json() == EXPECTED_BODIES[name], name
            assert answer.headers["Retry-After"] == "5", name
    started = serve.wait_for_log(OUTAGE_STARTED)
    assert len(started) == 1, serve.log()
    assert "Traceback" not in serve.log()
    assert "unexpected error" not in serve.log()

    world.postgres.start()
    deadline = time.monotonic() + 30
    while serve.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover within 30 s"
        time.sleep(0.2)
    after = {name: request().status_code for name, request in world.requests().items()}
    assert after == before
    ended = serve.wait_for_log(OUTAGE_ENDED)
    assert len(ended) == 1
    refused = re.search(r"; (\d+) request\(s\) were answered 503", ended[0])
    assert refused is not None
    assert int(refused.group(1)) >= 15  # 3 rounds of 5, and the polls while PostgreSQL started again
    assert len(serve.wait_for_log(OUTAGE_STARTED)) == 1
    assert serve.process.poll() is None


def test_a_worker_that_dies_during_an_outage_is_replaced_once_the_database_is_back(world: World) -> None:
    serve = world.serve
    assert serve.get("/health").status_code == 200
    (worker,) = serve.worker_pids()
    started_before = len(serve.wait_for_log("Application startup complete"))

    world.postgres.stop()
    os.kill(worker, signal.SIGKILL)
    (line,) = serve.wait_for_log(rf"worker process {worker} was killed by SIGKILL; started worker process \d+")
    replacement = int(re.findall(r"\d+", line)[-1])
    serve.wait_for_log(rf"worker process {replacement} failed to start; trying again in 5 s")
    assert serve.process.poll() is None  # the server waits for its database instead of stopping

    world.postgres.start()
    serve.wait_for_log(rf"worker process {replacement} failed to start; started worker process \d+")
    serve.wait_for_log("Application startup complete", count=started_before + 1)
    assert serve.get("/health").status_code == 200
    assert serve.process.poll() is None
