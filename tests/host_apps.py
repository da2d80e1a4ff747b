"""Apps with SEGMENT_SERVICE_ANSWER_VERSIONS=host on the session's database, and the truth to compare them with
(docs/answers.md#versions-kept-on-the-host); registered for every test by tests/conftest.py (`pytest_plugins`). The
tests that use them (tests/answers/test_host_attacks.py, the coupon validation memo tests) bring their own `shop`
and `oracle`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.answers.support import served
from tests.factories import Tokens

Served = tuple[FastLane, TestClient[FastLane]]


@pytest.fixture(scope="module")
def host_app(settings: Settings) -> Iterator[Served]:
    with served(settings, answer_versions="host") as pair:
        assert pair[0].state.db.memo is not None
        yield pair


@pytest.fixture(scope="module")
def other_host_app(settings: Settings) -> Iterator[Served]:
    """A second app of the host (its own pool, memo and cache; the same host file): another process's writes."""
    with served(settings, answer_versions="host") as pair:
        yield pair


@pytest.fixture(scope="module")
def oracle_app(settings: Settings) -> Iterator[Served]:
    """The truth: the same database with the answer cache off."""
    with served(settings, answer_cache_mb=0) as pair:
        yield pair


@pytest.fixture(scope="module")
def host_tokens(host_app: Served, database_url: str) -> Tokens:
    return Tokens(host_app[0].state.tokens, database_url)
