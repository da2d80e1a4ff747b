"""Limits hold under concurrency: 64 simultaneous redemptions never exceed a coupon's limits
(docs/decisions.md#redemption-limits), and a coupon that changes while a redemption waits for its row lock is
checked again as it is once the lock is held."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from tests.coupons.helpers import ORDER, CouponApi, not_found, not_redeemable
from tests.factories import make_contact, run_sql

CONCURRENT = 64


def redeem_all_at_once(
    coupons: CouponApi, code: str, tokens: list[str], bodies: list[dict[str, Any]] | None = None
) -> list[httpx.Response]:
    """One HTTP request per token (with the body of the same position, else ORDER), all released together from
    their own threads."""
    start = threading.Barrier(len(tokens))

    def redeem(token: str, body: dict[str, Any]) -> httpx.Response:
        start.wait()
        return coupons.redeem(code, body, token=token)

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(redeem, tokens, bodies or [ORDER] * len(tokens)))


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


def stored_rows(database_url: str, tenant: str, code: str) -> list[Any]:
    """The coupon's redemptions in the order they were stamped."""
    return run_sql(
        database_url,
        "SELECT customer_number, legal_entity_id, redeemed_at FROM coupon_redemptions"
        " WHERE tenant = $1 AND coupon_code = $2 ORDER BY redeemed_at, id",
        tenant,
        code,
    )


def redemption_count(database_url: str, tenant: str, code: str) -> int:
    rows = run_sql(database_url, "SELECT redemption_count FROM coupons WHERE tenant = $1 AND code = $2", tenant, code)
    return int(rows[0]["redemption_count"])


def test_the_total_and_the_per_customer_limit_hold_together(coupons: CouponApi, database_url: str) -> None:
    """16 customers send 4 redemptions each of a coupon with a total limit of 20 and 3 per customer: no customer
    redeems more than 3 times, and exactly 20 redemptions are made (fewer would mean every customer reached 3, 48)."""
    code = coupons.create(maxRedemptions=20, maxRedemptionsPerCustomer=3)
    customers = [f"C{n % 16}" for n in range(CONCURRENT)]
    responses = redeem_all_at_once(coupons, code, [coupons.customer_token(c) for c in customers])
    counted = reasons(responses)
    assert counted[201] == 20, counted
    assert set(counted) <= {201, "max_redemptions_reached", "max_redemptions_per_customer_reached"}, counted
    rows = stored_rows(database_url, coupons.tenant, code)
    assert len(rows) == 20
    assert max(Counter(r["customer_number"] for r in rows).values()) <= 3
    assert redemption_count(database_url, coupons.tenant, code) == 20
    for customer, response in zip(customers, responses, strict=True):
        if response.status_code == 201:
            assert (
                coupons.request("GET", f"/coupons/{code}/redemptions/{response.json()['id']}").json()["customerNumber"]
                == customer
            )


def test_per_customer_limits_hold_in_every_legal_entity_context(coupons: CouponApi, database_url: str) -> None:
    """One customer redeems 64 times at once, in legal entity L1, in L2 and without a context, against a limit of 2
    per customer. Replayed in the order of their stamps (taken under the coupon's row lock), every redemption was
    within the limit when it was made: fewer than 2 before it in its legal entity, or fewer than 2 in all when it
    had no context. And none that was refused would have been within it: the replay ends with the limit reached in
    every context that was refused."""
    make_contact(database_url, coupons.tenant, "L1", "C1")
    make_contact(database_url, coupons.tenant, "L2", "C1")
    code = coupons.create(maxRedemptionsPerCustomer=2)
    token = coupons.customer_token("C1")
    contexts: list[str | None] = [("L1", "L2", None)[n % 3] for n in range(CONCURRENT)]
    bodies = [{**ORDER, "legalEntityId": c} if c else ORDER for c in contexts]
    responses = redeem_all_at_once(coupons, code, [token] * CONCURRENT, bodies)
    counted = reasons(responses)
    assert set(counted) == {201, "max_redemptions_per_customer_reached"}, counted
    made: Counter[str] = Counter()
    for row in stored_rows(database_url, coupons.tenant, code):
        context = row["legal_entity_id"]
        assert (made[context] if context else sum(made.values())) < 2, made
        made[context] += 1
    assert sum(made.values()) == counted[201] == redemption_count(database_url, coupons.tenant, code)
    for context, response in zip(contexts, responses, strict=True):
        if response.status_code == 400:
            assert (made[context] if context else sum(made.values())) >= 2


def test_an_order_redeems_a_coupon_once_under_concurrency(coupons: CouponApi, database_url: str) -> None:
    for limit in (-1, 64):
        code = coupons.create(maxRedemptionsPerCustomer=limit)
        tokens = [coupons.customer_token("C1")] * CONCURRENT
        responses = redeem_all_at_once(coupons, code, tokens, [{**ORDER, "orderCode": "O-1"}] * CONCURRENT)
        assert Counter(r.status_code for r in responses) == {201: 1, 409: CONCURRENT - 1}
        assert stored_redemptions(database_url, coupons.tenant, code) == 1
        assert redemption_count(database_url, coupons.tenant, code) == 1


def redeem_while_the_coupon_changes(
    coupons: CouponApi, database_url: str, code: str, token: str, change: str | None, *, hold_until: float = 0.0
) -> httpx.Response:
    """Hold the coupon's row lock, send a redemption, wait until it waits for that lock (its checks passed on the
    coupon as it was), then apply `change` (SQL on the coupon, $1 tenant, $2 code) and let go, not before the
    `time.time()` `hold_until`."""

    async def run() -> httpx.Response:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT 1 FROM coupons WHERE tenant = $1 AND code = $2 FOR UPDATE", coupons.tenant, code
                )
                waiting = asyncio.get_running_loop().run_in_executor(
                    None, lambda: coupons.redeem(code, ORDER, token=token)
                )
                deadline = time.monotonic() + 10
                while not await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    " AND wait_event_type = 'Lock' AND datname = current_database())"
                ):
                    assert time.monotonic() < deadline, "the redemption never waited for the coupon's lock"
                    await asyncio.sleep(0.01)
                if change is not None:
                    await conn.execute(change, coupons.tenant, code)
                await asyncio.sleep(max(0.0, hold_until - time.time()))
            return await waiting
        finally:
            await conn.close()

    return asyncio.run(run())


#: What a PUT, PATCH or DELETE does besides its own change.
EDIT = "version = version + 1, modified_at = now()"


@pytest.mark.parametrize("per_customer", [-1, 5], ids=["no per-customer limit", "a per-customer limit"])
class TestACouponThatChangesWhileARedemptionWaits:
    """The redemption's checks passed on the coupon as it was; its answer follows the coupon as it is once the lock
    is held, with and without a per-customer limit (which store a redemption in different statements). The customer
    has redeemed the coupon once before."""

    def redeemed_once(self, coupons: CouponApi, per_customer: int, **fields: Any) -> tuple[str, str]:
        code = coupons.create(maxRedemptionsPerCustomer=per_customer, **fields)
        token = coupons.customer_token("C1")
        assert coupons.redeem(code, token=token).status_code == 201
        return code, token

    def stored(self, coupons: CouponApi, database_url: str, code: str) -> int:
        rows = stored_rows(database_url, coupons.tenant, code)
        assert len(rows) == redemption_count(database_url, coupons.tenant, code)
        return len(rows)

    def test_deleted(self, coupons: CouponApi, database_url: str, per_customer: int) -> None:
        code, token = self.redeemed_once(coupons, per_customer)
        change = f"UPDATE coupons SET deleted = true, {EDIT} WHERE tenant = $1 AND code = $2"
        response = redeem_while_the_coupon_changes(coupons, database_url, code, token, change)
        assert response.status_code == 404
        assert response.json() == not_found(code)
        assert self.stored(coupons, database_url, code) == 1

    def test_edited_to_have_expired(self, coupons: CouponApi, database_url: str, per_customer: int) -> None:
        code, token = self.redeemed_once(coupons, per_customer)
        change = f"UPDATE coupons SET valid_until = now() - interval '1 second', {EDIT} WHERE tenant = $1 AND code = $2"
        not_redeemable(redeem_while_the_coupon_changes(coupons, database_url, code, token, change), "coupon_expired")
        assert self.stored(coupons, database_url, code) == 1

    def test_its_window_ends_meanwhile(self, coupons: CouponApi, database_url: str, per_customer: int) -> None:
        ends = time.time() + 2.0
        until = datetime.fromtimestamp(ends, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        code, token = self.redeemed_once(coupons, per_customer, restrictions={"validUntil": until})
        response = redeem_while_the_coupon_changes(coupons, database_url, code, token, None, hold_until=ends + 0.1)
        not_redeemable(response, "coupon_expired")
        assert self.stored(coupons, database_url, code) == 1

    def test_limited_to_one_per_customer(self, coupons: CouponApi, database_url: str, per_customer: int) -> None:
        code, token = self.redeemed_once(coupons, per_customer)
        change = f"UPDATE coupons SET max_redemptions_per_customer = 1, {EDIT} WHERE tenant = $1 AND code = $2"
        response = redeem_while_the_coupon_changes(coupons, database_url, code, token, change)
        not_redeemable(response, "max_redemptions_per_customer_reached")
        assert self.stored(coupons, database_url, code) == 1

    def test_its_last_redemption_taken(self, coupons: CouponApi, database_url: str, per_customer: int) -> None:
        code, token = self.redeemed_once(coupons, per_customer, maxRedemptions=2)
        change = (
            "WITH taken AS (UPDATE coupons SET redemption_count = redemption_count + 1"
            " WHERE tenant = $1 AND code = $2 RETURNING tenant, code)"
            " INSERT INTO coupon_redemptions (tenant, id, coupon_code, customer_number, order_total_amount,"
            " order_total_currency, discount_amount, discount_currency, redeemed_at)"
            " SELECT tenant, 'taken', code, 'C2', 100, 'USD', 5, 'USD', clock_timestamp() FROM taken"
        )
        response = redeem_while_the_coupon_changes(coupons, database_url, code, token, change)
        not_redeemable(response, "max_redemptions_reached")
        assert self.stored(coupons, database_url, code) == 2

    def test_renamed(self, coupons: CouponApi, database_url: str, per_customer: int) -> None:
        code, token = self.redeemed_once(coupons, per_customer)
        change = f"UPDATE coupons SET name = 'Renamed', {EDIT} WHERE tenant = $1 AND code = $2"
        response = redeem_while_the_coupon_changes(coupons, database_url, code, token, change)
        assert response.status_code == 201, response.text
        assert self.stored(coupons, database_url, code) == 2
