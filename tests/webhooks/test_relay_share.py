"""A tenant whose receiver is slow holds at most a quarter of a relay's delivery slots: another tenant's events go
out meanwhile. (Run alone, this app's relay is the only one; under pytest-xdist another module's relay on the same
database may take some of the slow tenant's chains too, which only helps the quick tenant.)"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import Api, Tokens
from tests.webhooks.helpers import configure, subscribe
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def test_a_slow_tenant_does_not_hold_up_another(settings: Settings, database_url: str, receiver: Receiver) -> None:
    # 8 slots: a tenant may hold 2 of them.
    app: FastLane = create_served_app(
        # The fast retry schedule of the other delivering apps on this database (tests/webhooks/conftest.py): a relay
        # with the default schedule would hold back a retry another test waits for by minutes.
        dataclasses.replace(
            settings,
            webhook_deliver=True,
            webhook_concurrency=8,
            webhook_poll_ms=20,
            webhook_retry_schedule=(0.3, 0.3, 0.3),
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = Tokens(app.state.tokens, database_url)
        slow, quick = (Api(client, tokens, "t" + secrets.token_hex(6)) for _ in range(2))
        slow_path, quick_path = f"/slow-{slow.tenant}", f"/quick-{quick.tenant}"
        receiver.behave(slow_path, then=200, delay=3.0)
        for api, path in ((slow, slow_path), (quick, quick_path)):
            configure(api, receiver.url(path))
            subscribe(api, "customer-segment.segment-created")
        for _ in range(8):  # eight segments: eight chains that would fill every slot
            slow.create_segment()
        receiver.wait_for(2, slow_path, timeout=10)  # its share is in flight, each answer taking 3 s
        started = time.monotonic()
        quick.create_segment()
        receiver.wait_for(1, quick_path, timeout=10)
        assert time.monotonic() - started < 2.0
