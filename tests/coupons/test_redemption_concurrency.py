"""Limits hold under concurrency: 64 simultaneous redemptions never exceed a coupon's limits
(docs/decisions.md#redemption-limits)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import asyncpg
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
    rows = run_sql(
        database_url,
        "SELECT count(*) AS n FROM coupon_redemptions WHERE tenant = $1 AND coupon_code = $2",
        tenant,
        code,
    )
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


def test_redeemed_at_is_taken_after_the_coupon_lock(coupons: CouponApi, database_url: str) -> None:
    """A redemption that waited for the coupon's row lock is stamped after the wait, not when its transaction began:
    the stamps of a coupon's redemptions follow the order they were made in."""
    code = coupons.create()

    async def redeem_behind_a_lock() -> tuple[datetime, httpx.Response]:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT 1 FROM coupons WHERE tenant = $1 AND code = $2 FOR UPDATE", coupons.tenant, code
                )
                waiting = asyncio.get_running_loop().run_in_executor(
                    None, lambda: coupons.redeem(code, ORDER, token=coupons.customer_token("C1"))
                )
                await asyncio.sleep(0.5)
                released_at: datetime = await conn.fetchval("SELECT clock_timestamp()")
            return released_at, await waiting
        finally:
            await conn.close()

    released_at, response = asyncio.run(redeem_behind_a_lock())
    assert response.status_code == 201, response.text
    redemption = coupons.request("GET", f"/coupons/{code}/redemptions/{response.json()['id']}").json()
    redeemed_at = datetime.fromisoformat(redemption["redeemedAt"])
    assert redeemed_at >= released_at.replace(microsecond=released_at.microsecond // 1000 * 1000)
