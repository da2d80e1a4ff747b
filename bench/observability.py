"""`python -m bench.observability`: what request ids, the metrics and the access log cost a hot read.

A customer's `GET /customer-segment/{tenant}/segments/items` (answered by the fast lane, on a real embedded
PostgreSQL), and `GET /health/live` (the framework alone, no database: the layer's cost stands out of less noise),
are sent straight to the served app's ASGI callable in interleaved rounds of four variants:

- bare: the fast lane and the Litestar app alone (no request id, no metrics, no access log);
- metrics: with request ids and the metrics, the access log off;
- metrics + text log: the default, each access line written to a file in the text format;
- metrics + JSON log: the same in the JSON format.

No HTTP server and no network are involved, so the differences are the layer's own cost per request. Prints a
Markdown table (docs/performance.md#metrics-and-access-log-what-they-cost-a-request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from segment_service.app import create_served_app
from segment_service.core.auth import CUSTOMER_SCOPES, TokenKind
from segment_service.core.db import migrate
from segment_service.core.fastlane import FastLane
from segment_service.core.logs import configure_logging
from segment_service.core.observe import ObservedLane
from segment_service.embedded import ensure_database, start_embedded
from segment_service.settings import Settings

TENANT = "benchshop"
SEGMENT = "gold"
ITEMS = 20
PATH = f"/customer-segment/{TENANT}/segments/items"
LIVE = "/health/live"


async def call(
    app: Callable[..., Awaitable[None]], method: str, path: str, token: str, body: bytes = b""
) -> tuple[int, bytes]:
    """One request through the ASGI callable `app`: (status, body). `path` may carry a query string."""
    path, _, query = path.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def prepare(served: FastLane, dsn: str) -> str:
    """A segment holding ITEMS products and a customer in it; the customer's token."""
    tokens = served.state.tokens
    service = tokens.issue(
        tenant=TENANT,
        kind=TokenKind.SERVICE,
        subject="bench",
        scopes=("customersegment.segment_manage", "product.product_manage", "product.product_publish"),
        ttl_seconds=3600,
    )
    segment = json.dumps({"id": SEGMENT, "name": {"en": "Gold"}, "status": "ACTIVE", "siteCode": "main"}).encode()
    status, text = await call(served, "POST", f"/customer-segment/{TENANT}/segments", service, segment)
    assert status == 201, text
    for n in range(ITEMS):
        product = json.dumps(
            {"id": f"p{n}", "code": f"p{n}", "name": {"en": f"Product {n}"}, "published": True}
        ).encode()
        status, text = await call(served, "POST", f"/product/{TENANT}/products", service, product)
        assert status == 201, text
        status, text = await call(
            served, "PUT", f"/customer-segment/{TENANT}/segments/{SEGMENT}/items/PRODUCT/p{n}", service, b"{}"
        )
        assert status in (201, 204), text
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id, created_at,"
            " modified_at) VALUES ($1, $2, 'c1', '', now(), now())",
            TENANT,
            SEGMENT,
        )
    finally:
        await conn.close()
    customer: str = tokens.issue(
        tenant=TENANT,
        kind=TokenKind.CUSTOMER,
        subject="c1",
        scopes=CUSTOMER_SCOPES,
        ttl_seconds=3600,
        customer_id="c1",
        legal_entity_id=None,
    )
    return customer


async def measure(
    settings: Settings, requests: int, rounds: int, stream: TextIO
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per variant, the wall-clock and the CPU microseconds per request of each round."""
    served = create_served_app(settings)
    assert isinstance(served, ObservedLane)
    timings: dict[str, list[float]] = {}
    cpu_timings: dict[str, list[float]] = {}
    async with served.app.lifespan():
        token = await prepare(served, str(settings.database_url))
        status, body = await call(served, "GET", PATH, token)
        assert status == 200, body
        assert len(json.loads(body)) == ITEMS, body
        answered = served.answered

        async def bare(scope: Any, receive: Any, send: Any) -> None:
            await FastLane.__call__(served, scope, receive, send)

        variants: dict[str, tuple[Callable[..., Awaitable[None]], str | None]] = {
            "bare": (bare, None),
            "metrics": (served, None),
            "metrics + text log": (served, "text"),
            "metrics + JSON log": (served, "json"),
        }
        for _ in range(rounds):
            for path in (PATH, LIVE):
                for name, (app, log_format) in variants.items():
                    served.access_log_on = log_format is not None
                    configure_logging("INFO", log_format or "text", stream)
                    wall, cpu = time.perf_counter(), time.process_time()
                    for _ in range(requests):
                        await call(app, "GET", path, token)
                    timings.setdefault(f"{path} {name}", []).append((time.perf_counter() - wall) / requests * 1e6)
                    cpu_timings.setdefault(f"{path} {name}", []).append((time.process_time() - cpu) / requests * 1e6)
        assert served.answered - answered == rounds * len(variants) * requests, "the fast lane answered every read"
    return timings, cpu_timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-observe-"))
    server, url = start_embedded(folder / "data")
    try:
        asyncio.run(ensure_database(url, "segment_service"))
        asyncio.run(migrate(url))
        settings = Settings(database_url=url, signing_key="bench-signing-key-" + "x" * 32)
        with open(folder / "access.log", "w", encoding="utf-8") as stream:  # a file, as stderr usually is
            timings, cpu_timings = asyncio.run(measure(settings, args.requests, args.rounds, stream))
    finally:
        logging.getLogger().handlers.clear()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{args.rounds} rounds x {args.requests} requests per path and variant, interleaved; medians of the "
        "rounds. CPU: this process's CPU time per request (PostgreSQL's is not in it), which other load on the "
        "machine moves less; wall: elapsed time per request.\n"
    )
    print("| request | variant | CPU µs per request | over bare | wall µs per request | over bare |")
    print("|---|---|---:|---:|---:|---:|")
    for path, label in ((PATH, f"GET {PATH} (fast lane, {ITEMS} items)"), (LIVE, f"GET {LIVE}")):
        cpu_base = statistics.median(cpu_timings[f"{path} bare"])
        wall_base = statistics.median(timings[f"{path} bare"])
        for key in timings:
            if not key.startswith(f"{path} "):
                continue
            cpu, wall = statistics.median(cpu_timings[key]), statistics.median(timings[key])
            print(
                f"| {label} | {key.removeprefix(path + ' ')} | {cpu:.0f} | {cpu - cpu_base:+.0f} µs "
                f"({(cpu - cpu_base) / cpu_base:+.1%}) | {wall:.0f} | {wall - wall_base:+.0f} µs "
                f"({(wall - wall_base) / wall_base:+.1%}) |"
            )


if __name__ == "__main__":
    main()
