"""Fixtures of the rule tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.core import clock
from tests.factories import Tokens
from tests.rules.helpers import RuleApi


@pytest.fixture
def rules(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> RuleApi:
    """Requests to the test's tenant as a back-office client holding every service scope."""
    return RuleApi(client, tokens, tenant)


@pytest.fixture
def rule_clock() -> Iterator[None]:
    """The rule clock, put back to the wall clock after the test moved it."""
    yield
    clock.reset()
