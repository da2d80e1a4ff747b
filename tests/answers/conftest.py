"""Fixtures of the answer-cache tests: a tenant written and read through a served app, once with the versions read
from the database at every read and once with them kept on the host (docs/answers.md): every test runs in both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings
from tests.answers.support import Shop, served
from tests.factories import Tokens


@pytest.fixture(scope="session", params=["database", "host"])
def versions_app(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[FastLane, TestClient[FastLane]]]:
    """The app of the answer tests, with SEGMENT_SERVICE_ANSWER_VERSIONS as the parameter says."""
    with served(settings, answer_versions=request.param) as pair:
        if request.param == "host":
            assert pair[0].state.db.memo is not None
        yield pair


@pytest.fixture
def app(versions_app: tuple[FastLane, TestClient[FastLane]]) -> FastLane:
    return versions_app[0]


@pytest.fixture
def client(versions_app: tuple[FastLane, TestClient[FastLane]]) -> TestClient[FastLane]:
    return versions_app[1]


@pytest.fixture
def tokens(app: FastLane, database_url: str) -> Tokens:
    return Tokens(app.state.tokens, database_url)


@pytest.fixture
def shop(client: TestClient[FastLane], tokens: Tokens, tenant: str) -> Shop:
    return Shop(client, tokens, tenant)


@pytest.fixture(params=["by segment", "whole set"])
def item_path(request: pytest.FixtureRequest) -> bool:
    """Both ways a customer's items are kept: put together from each segment's (the default order), and whole (any
    `sort` or `q`). True: whole."""
    whole: bool = request.param == "whole set"
    return whole
