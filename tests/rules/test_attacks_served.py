"""Attacks on a served `segment-service serve` during a rule's full evaluation (docs/rules.md#evaluation): a `kill -9`
of the process and a stop of its database. The tenant has tens of thousands of customers inserted by SQL, so the
evaluation lasts long enough to be hit. Afterwards the rule must be READY with every member, by itself."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.oauth import service as oauth_service
from tests.factories import segment_body
from tests.ops.servers import SIGNING_KEY, ServeProcess, StoppablePostgres, serve_env

BULK = """
INSERT INTO customers (tenant, id, contact_email, first_name, mixins, created_at, modified_at)
SELECT $1, 'b' || lpad(n::text, 6, '0'), 'b' || n || '@example.com', 'Ann', jsonb_build_object('k', n % 10), now(),
       now()
FROM generate_series(1, $2) AS n
"""
FULL = (
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active'"
    " AND query LIKE 'WITH r0_%' AND query NOT LIKE '%IN (SELECT unnest(%'"
)
CUSTOMERS = 20_000
#: Ann, and 40 leaves every bulk customer passes: a full evaluation of a second or two.
RULE = {
    "subject": "CUSTOMER",
    "condition": {
        "all": [
            {"attribute": "customer.firstName", "op": "eq", "value": "Ann"},
            *({"attribute": "customer.mixins.k", "op": "ne", "value": 100 + i} for i in range(40)),
        ]
    },
}


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def postgres() -> Iterator[StoppablePostgres]:
    server = StoppablePostgres(Path(tempfile.mkdtemp(prefix="rule-attacks-")))
    try:
        asyncio.run(migrate(server.url))
        yield server
    finally:
        server.close()


class Tenant:
    """A tenant of the database with a client, a token, a segment and CUSTOMERS customers named Ann."""

    def __init__(self, postgres: StoppablePostgres) -> None:
        self.url = postgres.url
        self.tenant = "t" + secrets.token_hex(6)
        client_id = asyncio.run(self._client())
        token = TokenService(SIGNING_KEY).issue(
            tenant=self.tenant, kind=TokenKind.SERVICE, subject=client_id, scopes=SERVICE_SCOPES, ttl_seconds=600
        )
        self.headers = {"Authorization": f"Bearer {token}"}
        sql(self.url, BULK, self.tenant, CUSTOMERS)

    async def _client(self) -> str:
        conn = await asyncpg.connect(self.url)
        try:
            client, _ = await oauth_service.create_client(conn, tenant=self.tenant)
        finally:
            await conn.close()
        return client.client_id

    def api(self, serve: ServeProcess) -> httpx.Client:
        return httpx.Client(base_url=f"{serve.base_url}/customer-segment/{self.tenant}", headers=self.headers)

    def wait_evaluating(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while sql(self.url, FULL)[0][0] == 0:
            assert time.monotonic() < deadline, "no full evaluation started"
            time.sleep(0.01)

    def members(self, segment: str) -> int:
        query = "SELECT count(*) FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2"
        return int(sql(self.url, query, self.tenant, segment)[0][0])


def serve(folder: Path, postgres: StoppablePostgres) -> ServeProcess:
    return ServeProcess.start(folder, env=serve_env(postgres.url, SEGMENT_SERVICE_RULE_POLL_MS="50"))


def wait_ready(api: httpx.Client, segment: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = api.get(f"/segments/{segment}/rule", timeout=5)
            if response.status_code == 200 and response.json()["state"] != "EVALUATING":
                doc: dict[str, Any] = response.json()
                return doc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the rule did not leave EVALUATING"
        time.sleep(0.1)


def test_kill_9_during_a_full_evaluation_leaves_it_to_the_restarted_server(
    postgres: StoppablePostgres, tmp_path: Path
) -> None:
    tenant = Tenant(postgres)
    first = serve(tmp_path, postgres)
    try:
        with tenant.api(first) as api:
            segment = api.post("/segments", json=segment_body()).json()["id"]
            assert api.put(f"/segments/{segment}/rule", json=RULE).status_code == 201
        tenant.wait_evaluating()
        os.killpg(first.pid, signal.SIGKILL)
        first.process.wait(10)
    finally:
        first.stop()
    # The dead server's backend ends its statement, finds no client and rolls back: nothing of it stays.
    deadline = time.monotonic() + 30
    while sql(postgres.url, FULL)[0][0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    state = sql(postgres.url, "SELECT state FROM segment_rules WHERE tenant = $1", tenant.tenant)
    assert [r[0] for r in state] == ["EVALUATING"]
    assert tenant.members(segment) == 0
    second = serve(tmp_path, postgres)
    try:
        with tenant.api(second) as api:
            doc = wait_ready(api, segment)
            assert (doc["state"], doc["memberCount"], doc["error"]) == ("READY", CUSTOMERS, None)
    finally:
        second.stop()
    assert tenant.members(segment) == CUSTOMERS


def test_a_database_stop_during_evaluation_and_writes_answers_503_and_recovers(
    postgres: StoppablePostgres, tmp_path: Path
) -> None:
    tenant = Tenant(postgres)
    server = serve(tmp_path, postgres)
    try:
        with tenant.api(server) as api, ThreadPoolExecutor(1) as pool:
            segment = api.post("/segments", json=segment_body()).json()["id"]
            assert api.put(f"/segments/{segment}/rule", json=RULE).status_code == 201
            tenant.wait_evaluating()
            # An exclusion waits for the evaluation (the rule lock) when the database goes.
            waiting = pool.submit(api.put, f"/segments/{segment}/exclusions/b000001", timeout=30)
            time.sleep(0.2)
            postgres.stop()
            try:
                answers = [
                    waiting.result(),
                    api.put(f"/segments/{segment}/exclusions/b000002", timeout=30),
                    api.get(f"/segments/{segment}/rule", timeout=30),
                    api.put(f"/segments/{segment}/rule", json=RULE, timeout=30),
                ]
            finally:
                postgres.start()
            for response in answers:
                assert response.status_code == 503, (response.request.url, response.status_code, response.text)
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["code"] == 503
            doc = wait_ready(api, segment, 60)
            assert (doc["state"], doc["memberCount"], doc["error"]) == ("READY", CUSTOMERS, None)
            assert api.put(f"/segments/{segment}/exclusions/b000001").status_code == 201
            assert tenant.members(segment) == CUSTOMERS - 1
    finally:
        server.stop()
