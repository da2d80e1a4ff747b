"""`python -m bench.category_reads [ROUNDS]`: the CPU a category's assignments read costs the service, in process.

A category with 60 published products assigned, read as a page (`GET /category/{tenant}/categories/{id}/assignments`,
with and without `withSubcategories=true`) by a service token, straight through the served app's ASGI callable (the
fast lane, request ids and metrics on, the access log off) on a private embedded PostgreSQL; ROUNDS rounds of 200
requests per read, medians and minima of this process's CPU per request. No HTTP server, no load tool: run it in two
checkouts one after the other to compare two versions of the code with far less noise than a wrk run
(docs/performance.md#before-and-after-the-one-way-architecture).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.observability import call
from segment_service.app import create_served_app
from segment_service.core.auth import TokenKind
from segment_service.core.db import migrate
from segment_service.embedded import ensure_database, start_embedded
from segment_service.oauth import service as oauth_service
from segment_service.settings import Settings

TENANT = "benchreads"
PRODUCTS = 60
SCOPES = ("category.category_manage", "category.category_publish", "product.product_manage", "product.product_publish")
READS = {
    "a category's assignments": f"/category/{TENANT}/categories/leaf/assignments",
    "with withSubcategories=true": f"/category/{TENANT}/categories/leaf/assignments?withSubcategories=true",
}


async def measure(url: str, rounds: int) -> dict[str, list[float]]:
    """CPU microseconds per request of each round, per read."""
    served: Any = create_served_app(Settings(database_url=url, signing_key="bench-signing-key-" + "x" * 32))
    served.access_log_on = False
    async with served.app.lifespan():
        conn = await asyncpg.connect(url)
        try:
            client, _ = await oauth_service.create_client(conn, tenant=TENANT, scopes=list(SCOPES), name="bench")
        finally:
            await conn.close()
        token: str = served.state.tokens.issue(
            tenant=TENANT, kind=TokenKind.SERVICE, subject=client.client_id, scopes=SCOPES, ttl_seconds=3600
        )

        async def write(path: str, body: dict[str, Any]) -> None:
            status, text = await call(served, "POST", path, token, json.dumps(body).encode())
            assert status == 201, text

        await write(
            f"/category/{TENANT}/categories", {"id": "leaf", "localizedName": {"en": "Leaf"}, "published": True}
        )
        for n in range(PRODUCTS):
            product = {"id": f"p{n}", "code": f"p{n}", "name": {"en": f"Product {n}"}, "published": True}
            await write(f"/product/{TENANT}/products", product)
            await write(f"/category/{TENANT}/categories/leaf/assignments", {"ref": {"id": f"p{n}", "type": "PRODUCT"}})
        for target in READS.values():
            status, answer = await call(served, "GET", target, token)
            assert status == 200, answer[:200]
            assert len(json.loads(answer)) == PRODUCTS, answer[:200]
        timings: dict[str, list[float]] = {read: [] for read in READS}
        for _ in range(rounds):
            for read, target in READS.items():
                started = time.process_time()
                for _ in range(200):
                    await call(served, "GET", target, token)
                timings[read].append((time.process_time() - started) / 200 * 1e6)
    return timings


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-reads-"))
    server, url = start_embedded(folder / "data")
    try:
        asyncio.run(ensure_database(url, "segment_service"))
        asyncio.run(migrate(url))
        timings = asyncio.run(measure(url, rounds))
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    for read, values in timings.items():
        print(f"{read}: {statistics.median(values):.0f} µs CPU per request (median of {rounds}), min {min(values):.0f}")


if __name__ == "__main__":
    main()
