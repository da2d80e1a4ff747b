"""Fixtures of the Order Service tests."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import Tokens
from tests.orders.helpers import OrderApi


@pytest.fixture
def orders(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> OrderApi:
    """Requests to the test's tenant as a back-office client holding every service scope."""
    return OrderApi(client, tokens, tenant)
