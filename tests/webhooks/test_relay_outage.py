"""The database going away under a delivering `segment-service serve`: the relay logs the outage once per loop, tries
again by itself, and once the database is back every committed event is delivered, also those whose attempt was in
flight or whose outcome could not be written when it went down."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.core.db import migrate
from segment_service.oauth import service as oauth_service
from tests.factories import segment_body
from tests.ops.servers import SIGNING_KEY, ServeProcess, StoppablePostgres, serve_env
from tests.webhooks.receiver import Receiver


async def _client(url: str, tenant: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        client, _ = await oauth_service.create_client(conn, tenant=tenant)
    finally:
        await conn.close()
    return client.client_id


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def test_the_relay_rides_out_a_database_outage(receiver: Receiver) -> None:
    folder = Path(tempfile.mkdtemp(prefix="webhook-outage-"))
    postgres = StoppablePostgres(folder)
    try:
        asyncio.run(migrate(postgres.url))
        tenant = "t" + secrets.token_hex(6)
        token = TokenService(SIGNING_KEY).issue(
            tenant=tenant,
            kind=TokenKind.SERVICE,
            subject=asyncio.run(_client(postgres.url, tenant)),
            scopes=SERVICE_SCOPES,
            ttl_seconds=600,
        )
        env = serve_env(
            postgres.url,
            SEGMENT_SERVICE_WEBHOOK_DELIVER="true",
            SEGMENT_SERVICE_WEBHOOK_POLL_MS="20",
            SEGMENT_SERVICE_WEBHOOK_TIMEOUT="1",
            SEGMENT_SERVICE_WEBHOOK_RETRY_SCHEDULE="0.5,0.5,0.5,0.5,0.5,0.5",
        )
        serve = ServeProcess.start(folder, env=env)
        path = f"/outage-{tenant}"
        receiver.behave(path, then=200, delay=0.5)  # attempts are in flight when the database goes
        try:
            with httpx.Client(base_url=serve.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
                config = {
                    "code": "http",
                    "active": True,
                    "provider": "HTTP",
                    "configuration": {"destinationUrl": receiver.url(path)},
                }
                assert api.post(f"/webhook/{tenant}/config", json=config).status_code == 201
                subscription = [{"eventType": "customer-segment.segment-created", "action": "SUBSCRIBE"}]
                assert api.patch(f"/webhook/{tenant}/event-subscriptions", json=subscription).status_code == 207
                created = [
                    api.post(f"/customer-segment/{tenant}/segments", json=segment_body()).json()["id"]
                    for _ in range(10)
                ]
                receiver.wait_for(1, path)
                postgres.stop()
                time.sleep(3)  # the relay's loops fail meanwhile; the receiver's answers cannot be recorded
                postgres.start()
                deadline = time.monotonic() + 60
                while {r.json()["id"] for r in receiver.at(path)} != set(created):
                    assert time.monotonic() < deadline, serve.log()[-3000:]
                    time.sleep(0.2)
                # Every delivery ends DELIVERED once its outcome is written (no event lost, none left pending).
                deadline = time.monotonic() + 60
                while True:
                    log = api.get(f"/webhook/{tenant}/deliveries?pageSize=100").json()
                    if len(log) == 10 and all(d["status"] == "DELIVERED" for d in log):
                        break
                    assert time.monotonic() < deadline, log
                    time.sleep(0.2)
            lines = [line for line in serve.log().splitlines() if "webhook relay:" in line]
            assert any("failed" in line for line in lines), serve.log()[-3000:]
            assert any("works again" in line for line in lines), serve.log()[-3000:]
            # One line per loop when it starts failing, not one per try.
            assert len([line for line in lines if "failed" in line]) <= 8, lines
        finally:
            serve.stop()
    finally:
        postgres.close()
