"""Limits hold under concurrency: 64 simultaneous redemptions never exceed a coupon's limits (decisions.md)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from tests.coupons.helpers import ORDER, CouponApi
from tests.factories import run_sql

CONCURRENT = 64


def redeem_all_at_once(coupons: CouponApi, code: str, tokens: list[str]) -> list[httpx.Response]:
    """One HTTP request per token, all released together from their own threads."""
    start = threading.Barrier(len(tokens))

    def redeem(token: str) -> httpx.Response:
        start.wait()
        return coupons.redeem(code, ORDER, token=token)

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(redeem, tokens))


def reasons(responses: list[httpx.Response]) -> Counter[Any]:
    return Counter(r.status_code if r.status_code != 400 else r.json()["details"][0]["type"] for r in responses)


def stored_redemptions(database_url: str, tenant: str, code: str) -> int:
    rows = run_sql(database_url, "SELECT count(*) AS n FROM coupon_redemptions WHERE tenant = $1 AND coupon_code = $2",
                   tenant, code)
    return int(rows[0]["n"])


def test_max_redemptions_holds(coupons: CouponApi, database_url: str) -> None:
    code = coupons.create(maxRedemptions=10)
    tokens = [coupons.customer_token(f"C{n}") for n in range(CONCURRENT)]
    responses = redeem_all_at_once(coupons, code, tokens)
    assert reasons(responses) == {201: 10, "max_redemptions_reached": CONCURRENT - 10}
    assert stored_redemptions(database_url, coupons.tenant, code) == 10
    assert coupons.get(code)["redemptionCount"] == 10


def test_max_redemptions_per_customer_holds(coupons: CouponApi, database_url: str) -> None:
    code = coupons.create(maxRedemptionsPerCustomer=10)
    tokens = [coupons.customer_token("C1")] * CONCURRENT
    responses = redeem_all_at_once(coupons, code, tokens)
    assert reasons(responses) == {201: 10, "max_redemptions_per_customer_reached": CONCURRENT - 10}
    assert stored_redemptions(database_url, coupons.tenant, code) == 10
