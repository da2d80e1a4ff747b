"""The coupon scenarios: validation of a segment-restricted coupon by a member of one of its active segments, and
redemption of coupons without limits; their wrk scripts, the check that every request succeeds before anything is
timed, the redemptions the run wrote, and the statements a validation sends (for the plans).

Every request carries the customer token of its customer (customer tokens hold coupon.coupon_redeem), minted for the
customer's live session row as the login would mint it, so the guard's session check runs as in production.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import asyncpg
import msgspec

from bench import load, servers
from bench.coupons import CURRENCY, CouponLoadResult, CouponRequest
from bench.dataset import TENANT
from bench.load import BenchError, ScriptedRequest
from bench.plans import Statement
from bench.storefront_scenarios import customer_tokens
from segment_service.core.auth import CUSTOMER_SCOPES, Caller, TokenKind
from segment_service.core.db import Database

#: Scenario keys (for --scenarios) and their report names, in run order: the redemptions write, so they go last.
SCENARIOS = {
    "coupon-validate": "validate a segment coupon",
    "coupon-redeem": "redeem a coupon",
}
COUPONS_PATH = f"/coupon/{TENANT}/coupons"
#: The orderCode of every measured redemption starts with this; the checks before use CHECK_PREFIX.
ORDER_PREFIX = "BENCH-"
CHECK_PREFIX = "CHECK-"

Scenario = tuple[str, str, str, Path | None]


def _validation(request: CouponRequest, token: str) -> ScriptedRequest:
    return ScriptedRequest(
        "POST", f"{COUPONS_PATH}/{request.code}/validation", token, json.dumps(request.body(), separators=(",", ":"))
    )


def _redemption(request: CouponRequest, token: str) -> ScriptedRequest:
    return ScriptedRequest(
        "POST", f"{COUPONS_PATH}/{request.code}/redemptions", token, json.dumps(request.body(), separators=(",", ":"))
    )


def _send(service_url: str, request: ScriptedRequest, body: dict[str, Any]) -> tuple[int, Any]:
    try:
        return servers.request(
            service_url + request.path, method=request.method, body=body, token=request.token, timeout=30.0
        )
    except (OSError, ValueError) as exc:
        return 0, f"the request failed: {exc}"


def _fail(name: str, failures: list[str], sent: int) -> None:
    if failures:
        raise BenchError(
            f"{name}: {len(failures)} of {sent} requests did not answer what they must, so there is "
            "nothing worth measuring:\n  " + "\n  ".join(failures[:3])
        )


def _verify_validations(service_url: str, requests: list[ScriptedRequest], control: ScriptedRequest) -> None:
    """Every validation answers 200 without a body; the control (a customer outside the coupon's segments) answers
    400 segment_not_eligible, or the restriction the scenario is about is not checked at all."""
    failures = []
    for request in requests:
        status, answer = _send(service_url, request, json.loads(str(request.body)))
        if status != 200 or answer is not None:
            failures.append(f"POST {request.path} answered {status}: {str(answer)[:300]}")
    status, answer = _send(service_url, control, json.loads(str(control.body)))
    details = answer.get("details") if isinstance(answer, dict) else None
    reason = details[0].get("type") if isinstance(details, list) and details and isinstance(details[0], dict) else None
    if status != 400 or reason != "segment_not_eligible":
        failures.append(
            f"POST {control.path} by a customer outside the coupon's segments answered {status} "
            f"({str(answer)[:300]}), expected 400 with details[0].type segment_not_eligible"
        )
    _fail(SCENARIOS["coupon-validate"], failures, len(requests) + 1)


def _verify_redemptions(service_url: str, requests: list[ScriptedRequest]) -> None:
    """Every redemption (each once, with its own orderCode) answers 201 with the new redemption's id."""
    failures = []
    for n, request in enumerate(requests):
        body = {"orderCode": f"{CHECK_PREFIX}{n}", **json.loads(str(request.body))}
        status, answer = _send(service_url, request, body)
        if status != 201 or not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            failures.append(f"POST {request.path} answered {status}: {str(answer)[:300]}")
    _fail(SCENARIOS["coupon-redeem"], failures, len(requests))


def scenarios(
    keys: tuple[str, ...], service_url: str, signing_key: str, data: CouponLoadResult, workdir: Path
) -> list[Scenario]:
    """(name, description, url, Lua script) of the selected coupon scenarios, each request checked first."""
    tokens = customer_tokens(signing_key, data.shoppers)

    def token(request: CouponRequest) -> str:
        return tokens[request.shopper.customer_id]

    result: list[Scenario] = []
    for key in keys:
        script = workdir / f"{key}.lua"
        if key == "coupon-validate":
            validations = [_validation(r, token(r)) for r in data.validations]
            _verify_validations(service_url, validations, _validation(data.control, token(data.control)))
            script.write_text(load.requests_script(validations), encoding="utf-8")
        else:
            redemptions = [_redemption(r, token(r)) for r in data.redeems]
            _verify_redemptions(service_url, redemptions)
            script.write_text(load.unique_member_script(redemptions, "orderCode", ORDER_PREFIX), encoding="utf-8")
        result.append((SCENARIOS[key], describe(key, data), f"{service_url}{COUPONS_PATH}/x", script))
    return result


def describe(key: str, data: CouponLoadResult) -> str:
    """What a scenario requests, for the report."""
    if key == "coupon-validate":
        customers = len({r.shopper.customer_id for r in data.validations})
        return (
            f"POST {COUPONS_PATH}/{{code}}/validation with a customer token (coupon.coupon_redeem), drawn at "
            f"random from {len(data.validations)} requests: a segment-restricted coupon valid now, by one of "
            f"{customers} B2C customers that is a member of one of its active segments and has not redeemed it; "
            f"body `{{orderTotal, discount}}` in {CURRENCY}, the total above the coupon's minimum order value; "
            "200 without a body"
        )
    redeemers = len({r.shopper.customer_id for r in data.redeems})
    restricted = sum(1 for r in data.redeems if r.segment_restricted)
    return (
        f"POST {COUPONS_PATH}/{{code}}/redemptions with a customer token, drawn at random from "
        f"{len(data.redeems)} requests on as many coupons without limits (maxRedemptions and "
        f"maxRedemptionsPerCustomer -1), valid now, by {redeemers} B2C customers ({restricted} of the coupons "
        f"segment-restricted, redeemed by a member of an active segment); body `{{orderCode, orderTotal, "
        f"discount}}`, the orderCode distinct per request (`{ORDER_PREFIX}<run second>-<thread>-<n>`); 201 "
        "`{id}`"
    )


async def redemption_rows(dsn: str) -> int:
    """Redemptions of the measured tenant so far."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM coupon_redemptions WHERE tenant = $1", TENANT))
    finally:
        await conn.close()


_COUNTERS = """
SELECT count(*) FILTER (WHERE c.redemption_count = r.n) AS agreeing, count(*) AS coupons
FROM coupons c
JOIN (SELECT coupon_code, count(*) AS n FROM coupon_redemptions WHERE tenant = $1 GROUP BY coupon_code) r
  ON r.coupon_code = c.code
WHERE c.tenant = $1 AND c.code = ANY($2::text[])
"""


async def redemption_note(
    dsn: str, name: str, data: CouponLoadResult, *, before: int, requests: int, connections: int, seconds: int
) -> str:
    """How many redemptions the measured interval wrote, against the responses wrk counted, and whether every
    redeemed coupon's redemptionCount still equals its redemption rows.

    Each 201 writes one row. wrk stops with up to `connections` requests in flight, which the service still
    completes: those of the warm-up land after the count taken before the measurement, those of the measurement
    before the count after it. So between `requests` and `requests + 2 * connections` rows are right."""
    written = await redemption_rows(dsn) - before
    conn = await asyncpg.connect(dsn)
    try:
        counters = await conn.fetchrow(_COUNTERS, TENANT, [r.code for r in data.redeems])
    finally:
        await conn.close()
    agreeing, coupons = (int(counters["agreeing"]), int(counters["coupons"])) if counters else (0, 0)
    most = requests + 2 * connections
    fits = (
        "one per response, plus requests still in flight when the warm-up and the measurement stopped"
        if requests <= written <= most
        else f"NOT one per response (expected {requests:,} to {most:,})"
    )
    counts = (
        "every one's redemptionCount equals its redemption rows"
        if agreeing == coupons
        else f"ONLY {agreeing:,} of them have a redemptionCount equal to their redemption rows"
    )
    return (
        f"{name}: {written:,} redemptions written in the measured {seconds} s for the {requests:,} responses wrk "
        f"counted: {fits}; over the {coupons:,} coupons of the pool {counts}"
    )


# ----------------------------------------------------------------------------------------------------------- plans


class _RecordingConnection:
    """Runs every statement on a real connection and records it, so the service's function goes down the path a
    real request takes (the coupon row found with the clock and the customer's redemptions, the membership
    checked)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[Statement] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append((sql, args))
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return await self.conn.fetchval(sql, *args)


class _RecordingDatabase:
    def __init__(self, conn: _RecordingConnection) -> None:
        self.recorder = conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_RecordingConnection]:
        yield self.recorder


async def validation_statements(dsn: str, data: CouponLoadResult, notes: list[str]) -> dict[str, list[Statement]]:
    """The statements the validation scenario's first request sends, by scenario name, recorded from the service's
    own `validate_coupon` on the loaded data; a function that cannot be called so gets a note instead."""
    from segment_service.coupons import redemptions
    from segment_service.coupons.models import RedemptionCreation

    request = data.validations[0]
    caller = Caller(
        tenant=TENANT,
        kind=TokenKind.CUSTOMER,
        subject=request.shopper.customer_id,
        scopes=frozenset(CUSTOMER_SCOPES),
        expires_at=int(time.time()) + 3600,
        customer_id=request.shopper.customer_id,
        session_id=request.shopper.session_id,
    )
    name = SCENARIOS["coupon-validate"]
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    try:
        # jsonb as the service's pool decodes it (core.db), so the coupon row converts as it does there.
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda v: msgspec.json.encode(v).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
            format="text",
        )
        recorder = _RecordingConnection(conn)
        body = msgspec.json.decode(json.dumps(request.body()), type=RedemptionCreation)
        await redemptions.validate_coupon(cast(Database, _RecordingDatabase(recorder)), caller, request.code, body)
    except Exception as exc:  # whatever a changed service function raises becomes a note, not a failed run
        notes.append(
            f"{name}: the service's statements could not be recorded ({type(exc).__name__}: {exc}); no plan for it"
        )
        return {}
    finally:
        await conn.close()
    return {name: recorder.statements}
