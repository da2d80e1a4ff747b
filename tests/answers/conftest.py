"""Fixtures of the answer-cache tests: a tenant written and read through the session's served app."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from segment_service.core.fastlane import FastLane
from tests.answers.support import Shop
from tests.factories import Tokens


@pytest.fixture
def shop(client: TestClient[FastLane], tokens: Tokens, tenant: str) -> Shop:
    return Shop(client, tokens, tenant)


@pytest.fixture(params=["by segment", "whole set"])
def item_path(request: pytest.FixtureRequest) -> bool:
    """Both ways a customer's items are kept: put together from each segment's (the default order), and whole (any
    `sort` or `q`). True: whole."""
    whole: bool = request.param == "whole set"
    return whole
