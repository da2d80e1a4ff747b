"""Fixtures of the webhook tests that deliver: a real receiver on 127.0.0.1 and an app whose relay polls often and
retries after 0.3 s, each started once per test module that asks for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.factories import Api, Tokens
from tests.webhooks.receiver import Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


@pytest.fixture(scope="module")
def delivering_app(settings: Settings) -> FastLane:
    """The app with a relay that polls often and retries after 0.3 s."""
    fast = dataclasses.replace(
        settings, webhook_deliver=True, webhook_retry_schedule=(0.3, 0.3, 0.3), webhook_poll_ms=20
    )
    return create_served_app(fast)


@pytest.fixture(scope="module")
def delivering_client(delivering_app: FastLane) -> Iterator[TestClient[FastLane]]:
    with TestClient(delivering_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def hooks(delivering_client: TestClient[FastLane], delivering_app: FastLane, database_url: str, tenant: str) -> Api:
    """Requests as a back-office client of the test's tenant, to the delivering app."""
    return Api(delivering_client, Tokens(delivering_app.state.tokens, database_url), tenant)
