"""The churn scenario: the storefront's "items of my segments" under a steady stream of writes to memberships and
items, with every write followed by a read that is checked against the database.

While wrk sends the my-items requests (the same customers and script as the my-items scenario), a writer sends
`--churn-rate` writes per second through the service's API, taking turns:
- an item write: a product assignment PUT on one of a scenario customer's active segments, DELETEd again on the
  segment's next turn;
- a membership write: the customer PUT into a churn segment of its own site (ACTIVE, a few items, made at the start)
  and DELETEd again on its next turn.
Twenty-five writers work side by side (each with a thread of its own), each on its own customers and products.
Right after each write has answered (its transaction committed), its writer reads that customer's items through the
service: a read without the change is a stale answer. When the load ends, every scenario customer's items are
compared with what the database holds (one SQL statement over the memberships, segments and item assignments). The
writes and the checks run beside the load, so the measured req/s is the read throughput while the cache is being
invalidated under it.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench import load, servers
from bench.dataset import TENANT
from bench.load import BenchError, WrkResult
from bench.storefront import SITE, StorefrontLoadResult
from bench.storefront_scenarios import SEGMENTS_PATH

#: The scenario's report name (bench/storefront_scenarios.py SCENARIOS["my-items-churn"]).
NAME = "items of my segments, 50 writes/s"
CHURN_SEGMENT = "bench-churn"

# What the service must answer for the customer right now: the item assignments of its active memberships.
_TRUTH = """
SELECT i.segment_id, i.item_type, i.item_id
FROM segment_item_assignments i
WHERE i.tenant = $1 AND i.segment_id IN (
    SELECT s.id FROM segments s
    JOIN segment_customer_assignments a ON a.tenant = s.tenant AND a.segment_id = s.id AND a.customer_id = $2
    WHERE s.tenant = $1 AND s.status = 'ACTIVE' AND (s.valid_from IS NULL OR s.valid_from <= now())
      AND (s.valid_to IS NULL OR now() < s.valid_to))
"""


@dataclass(frozen=True, slots=True)
class ChurnResult:
    wrk: WrkResult
    writes: int
    checked: int
    stale: list[str]
    write_ms_p50: float
    write_ms_p99: float


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _setup(service_url: str, token: str, products: list[str]) -> None:
    """The churn segment (ACTIVE on the site) with three product items."""
    url = f"{service_url}{SEGMENTS_PATH}/{CHURN_SEGMENT}"
    status, body = await asyncio.to_thread(servers.request, url, method="GET", token=token)
    if status == 404:
        segment = {"id": CHURN_SEGMENT, "name": {"en": "Churn"}, "siteCode": SITE, "status": "ACTIVE"}
        status, body = await asyncio.to_thread(
            servers.request, f"{service_url}{SEGMENTS_PATH}", method="POST", token=token, body=segment
        )
        if status != 201:
            raise BenchError(f"churn: creating the churn segment answered {status}: {body}")
    for product in products[:3]:
        status, body = await asyncio.to_thread(
            servers.request, f"{url}/items/PRODUCT/{product}", method="PUT", token=token, body={}
        )
        if status not in (200, 201, 204):
            raise BenchError(f"churn: assigning {product} to the churn segment answered {status}: {body}")


#: Writers working side by side (each on its own customers and products), so that slow answers under the load do
#: not hold the rate below what is asked: a write answered within LANES / rate seconds (0.5 s at 50/s) keeps it.
LANES = 25


@dataclass(frozen=True, slots=True)
class _Change:
    """One write as its customer's next read must show it: `product` on `segment` (None: the customer's membership
    of the churn segment, seen by that segment's items) there or not."""

    segment: str
    product: str | None
    present: bool

    def shown(self, got: set[tuple[str, str, str]]) -> bool:
        if self.product is None:
            return any(segment_id == self.segment for segment_id, _, _ in got) is self.present
        return ((self.segment, "PRODUCT", self.product) in got) is self.present


@dataclass(slots=True)
class _Tally:
    writes: int = 0
    checked: int = 0
    stale: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def _lane(
    lane: int,
    service_url: str,
    service_token: str,
    customer_tokens: dict[str, str],
    data: StorefrontLoadResult,
    products: list[str],
    rate: float,
    stop: asyncio.Event,
    tally: _Tally,
) -> None:
    """One writer: its share of the customers and of the products, `rate / LANES` writes per second. After each write
    the customer's items must show that write: the product present or gone on its segment, the churn segment's
    items there or not (other writers change other products and customers, never these)."""
    probes = data.items[lane::LANES]
    own_products = products[3:][lane::LANES]
    assigned: set[tuple[str, str]] = set()
    members: set[str] = set()
    step = 0
    next_at = time.perf_counter() + lane / rate
    while not stop.is_set() and probes and own_products:
        probe = probes[step % len(probes)]
        customer = probe.shopper.customer_id
        if step % 2 == 0:
            segment = sorted({segment_id for segment_id, _, _ in probe.expected})[0]
            product = own_products[(step // 2) % len(own_products)]
            url = f"{service_url}{SEGMENTS_PATH}/{segment}/items/PRODUCT/{product}"
            present = (segment, product) not in assigned
            assigned.symmetric_difference_update({(segment, product)})
            change = _Change(segment, product, present)
        else:
            url = f"{service_url}{SEGMENTS_PATH}/{CHURN_SEGMENT}/customers/{customer}"
            present = customer not in members
            members.symmetric_difference_update({customer})
            change = _Change(CHURN_SEGMENT, None, present)

        method = "PUT" if present else "DELETE"
        started = time.perf_counter()
        status, answer = await asyncio.to_thread(
            servers.request, url, method=method, token=service_token, body={} if present else None
        )
        tally.latencies.append((time.perf_counter() - started) * 1000)
        if status >= 300:
            raise BenchError(f"churn: {method} {url} answered {status}: {answer}")
        tally.writes += 1
        # The write has committed: the customer's next read must show it.
        status, items = await asyncio.to_thread(
            servers.request, f"{service_url}{SEGMENTS_PATH}/items?pageSize=1000", token=customer_tokens[customer]
        )
        got = {(d["segmentId"], d["type"], d["item"]["id"]) for d in items or []}
        tally.checked += 1
        if status != 200 or not change.shown(got):
            tally.stale.append(f"{method} {url}: {customer}'s next read answered {status} without the change")
        step += 1
        next_at += LANES / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def _final_check(dsn: str, service_url: str, customer_tokens: dict[str, str], tally: _Tally) -> None:
    """Once the writes have stopped: every customer's items are exactly what the database holds."""
    conn = await asyncpg.connect(dsn)
    try:
        for customer, token in customer_tokens.items():
            status, items = await asyncio.to_thread(
                servers.request, f"{service_url}{SEGMENTS_PATH}/items?pageSize=1000", token=token
            )
            got = {(d["segmentId"], d["type"], d["item"]["id"]) for d in items or []}
            truth = {(r[0], r[1], r[2]) for r in await conn.fetch(_TRUTH, TENANT, customer)}
            tally.checked += 1
            if status != 200 or got != truth:
                tally.stale.append(
                    f"after the writes: {customer} read {len(got)} items, the database holds {len(truth)}"
                )
    finally:
        await conn.close()


async def run(
    wrk: str,
    service_url: str,
    script: Path,
    service_token: str,
    customer_tokens: dict[str, str],
    data: StorefrontLoadResult,
    dsn: str,
    *,
    rate: float,
    duration: int,
    threads: int,
    connections: int,
) -> ChurnResult:
    """The my-items load of `script` for `duration` seconds with `rate` writes/s and their checked reads beside it."""
    conn = await asyncpg.connect(dsn)
    try:
        products = [r[0] for r in await conn.fetch("SELECT id FROM products WHERE tenant = $1 LIMIT 1003", TENANT)]
    finally:
        await conn.close()
    await _setup(service_url, service_token, products)
    stop = asyncio.Event()
    tally = _Tally()
    # A thread per writer: the default pool (a few threads on 2 cores) would queue the writes behind each other.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=LANES))
    lanes = [
        asyncio.create_task(_lane(lane, service_url, service_token, customer_tokens, data, products, rate, stop, tally))
        for lane in range(LANES)
    ]
    try:
        result = await asyncio.to_thread(
            load.run_wrk,
            wrk,
            f"{service_url}{SEGMENTS_PATH}/x",
            script=script,
            duration=duration,
            threads=threads,
            connections=connections,
        )
    finally:
        stop.set()
    await asyncio.gather(*lanes)
    await _final_check(dsn, service_url, customer_tokens, tally)
    latencies = tally.latencies
    return ChurnResult(
        result, tally.writes, tally.checked, tally.stale, _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    )


def note(result: ChurnResult, seconds: int) -> str:
    """The report's line on the writes and the checks beside the churn scenario's load."""
    verdict = "0 stale answers" if not result.stale else f"**{len(result.stale)} stale answers**: {result.stale[:3]}"
    return (
        f"{NAME}: {result.writes:,} writes in {seconds} s ({result.writes / max(seconds, 1):.1f}/s, "
        f"p50 {result.write_ms_p50:.1f} ms, p99 {result.write_ms_p99:.1f} ms), each followed by a read of the "
        f"customer's items checked against the database: {result.checked:,} checked, {verdict}"
    )
