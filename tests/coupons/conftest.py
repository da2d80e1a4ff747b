"""Fixtures of the Coupon Service tests; for the validations answered from the host's memo
(tests/coupons/memo_world.py), a `shop` on the host-mode app of tests/host_apps.py and its `oracle`."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.answers.support import Shop
from tests.coupons.helpers import CouponApi
from tests.coupons.memo_world import Served
from tests.factories import Tokens


@pytest.fixture
def coupons(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CouponApi:
    """Requests to the test's tenant as a back-office client holding every service scope."""
    return CouponApi(client, tokens, tenant)


@pytest.fixture
def shop(host_app: Served, host_tokens: Tokens, tenant: str) -> Shop:
    return Shop(host_app[1], host_tokens, tenant)


@pytest.fixture
def oracle(shop: Shop, oracle_app: Served) -> Shop:
    return shop.on(oracle_app[1])
