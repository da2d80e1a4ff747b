"""Fixtures of the Coupon Service tests; for the validations answered from the host's memo
(tests/coupons/memo_world.py), apps of their own on the session's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.answers.support import Shop, served
from tests.coupons.helpers import CouponApi
from tests.coupons.memo_world import Served
from tests.factories import Tokens

from segment_service.settings import Settings


@pytest.fixture
def coupons(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CouponApi:
    """Requests to the test's tenant as a back-office client holding every service scope."""
    return CouponApi(client, tokens, tenant)


@pytest.fixture(scope="module")
def host_app(settings: Settings) -> Iterator[Served]:
    with served(settings, answer_versions="host") as pair:
        assert pair[0].state.db.memo is not None
        yield pair


@pytest.fixture(scope="module")
def other_host_app(settings: Settings) -> Iterator[Served]:
    """A second app of the host (its own pool and memo; the same host file): another process's writes."""
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


@pytest.fixture
def shop(host_app: Served, host_tokens: Tokens, tenant: str) -> Shop:
    return Shop(host_app[1], host_tokens, tenant)


@pytest.fixture
def oracle(shop: Shop, oracle_app: Served) -> Shop:
    return shop.on(oracle_app[1])
