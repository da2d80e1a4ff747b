"""`kill -9` of a delivering server between commit and delivery loses no event: after a restart every committed
event arrives (at least once, with its one id), also those whose attempt was in flight when the server died."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from segment_service.core.auth import SERVICE_SCOPES
from tests.factories import Tokens, segment_body
from tests.ops.serving import FAST_HASHES, Served, command_env
from tests.webhooks.receiver import Receiver

SIGNING_KEY = "test-signing-key-" + "x" * 32  # the session app's (tests/conftest.py), so its tokens work here


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def _serve(database_url: str) -> Served:
    env = command_env(
        DATABASE_URL=database_url,
        SEGMENT_SERVICE_SIGNING_KEY=SIGNING_KEY,
        SEGMENT_SERVICE_WEBHOOK_DELIVER="true",  # command_env turns the relay off; this test is about the relay
        SEGMENT_SERVICE_WEBHOOK_TIMEOUT="1",
        SEGMENT_SERVICE_WEBHOOK_RETRY_SCHEDULE="0.5,0.5,0.5,0.5",
        SEGMENT_SERVICE_WEBHOOK_POLL_MS="20",
        **FAST_HASHES,
    )
    return Served(env).wait_healthy()


def test_kill_9_between_commit_and_delivery_loses_nothing(
    database_url: str, tokens: Tokens, tenant: str, receiver: Receiver
) -> None:
    path = f"/crash-{tenant}"
    receiver.behave(path, then=200, delay=0.3)  # slow enough that deliveries are in flight at the kill
    headers = {"Authorization": f"Bearer {tokens.service(tenant, SERVICE_SCOPES)}"}
    server = _serve(database_url)
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as api:
            config = {
                "code": "http",
                "active": True,
                "provider": "HTTP",
                "configuration": {"destinationUrl": receiver.url(path)},
            }
            assert api.post(f"/webhook/{tenant}/config", json=config).status_code == 201
            subscription = [{"eventType": "customer-segment.segment-created", "action": "SUBSCRIBE"}]
            assert api.patch(f"/webhook/{tenant}/event-subscriptions", json=subscription).status_code == 207
            created = []
            for _ in range(30):
                response = api.post(f"/customer-segment/{tenant}/segments", json=segment_body())
                assert response.status_code == 201, response.text
                created.append(response.json()["id"])
        receiver.wait_for(1, path)  # the relay is at work
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
    finally:
        server.close()
    at_kill = {r.json()["id"] for r in receiver.at(path)}
    assert at_kill < set(created), "the kill came too late to test anything"

    receiver.behave(path, then=200)
    restarted = _serve(database_url)
    try:
        # Leases of the attempts in flight run out after 1.5 x the 1 s timeout + 5 s.
        deadline = time.monotonic() + 30
        while {r.json()["id"] for r in receiver.at(path)} != set(created):
            assert time.monotonic() < deadline, (
                f"missing after restart: {set(created) - {r.json()['id'] for r in receiver.at(path)}}"
            )
            time.sleep(0.1)
        by_id: dict[str, set[str]] = {}
        for request in receiver.at(path):
            by_id.setdefault(request.json()["id"], set()).add(request.headers["webhook-id"])
        assert all(len(ids) == 1 for ids in by_id.values())  # a repeated delivery keeps its event id
    finally:
        restarted.close()
