"""Fixtures of the Coupon Service tests."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.coupons.helpers import CouponApi
from tests.factories import Tokens


@pytest.fixture
def coupons(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CouponApi:
    """Requests to the test's tenant as a back-office client holding every service scope."""
    return CouponApi(client, tokens, tenant)
