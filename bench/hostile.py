"""Hostile load: an ordinary request's latency alone and while another tenant floods the service.

    .venv/bin/python -m bench.hostile [--products 3000] [--clients 50] [--requests 50]

A private embedded PostgreSQL in a temporary folder; tenant `hostile` gets `--products` products and `--clients`
concurrent clients that send, again and again, the costliest request the `q` regex bound lets through (a regex with
99 extra copies over every product, `pageSize=1000`, `X-Total-Count`); tenant `shop` asks for a page of its 20
products. It prints the median and 90th percentile latency of the shop's request alone and under the load, with the
tenant share of the pool (core/fairshare.py) at its default and turned off, for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx

from segment_service.app import create_served_app
from segment_service.core.auth import TokenKind
from segment_service.core.db import migrate
from segment_service.embedded import release_embedded, start_embedded
from segment_service.settings import Settings

HOSTILE_Q = "name.en:~(.{0,10}){0,10}z"


async def load(dsn: str, tenant: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """
            INSERT INTO products (tenant, id, code, name, published, created_at, modified_at)
            SELECT $1, 'p' || n, 'code-' || n,
                   jsonb_build_object('en', 'Premium coffee beans, pack of ' || n || ' bags'), true, now(), now()
            FROM generate_series(1, $2::integer) AS g(n)""",
            tenant,
            count,
        )
        await conn.execute("ANALYZE products")
    finally:
        await conn.close()


async def latencies(client: httpx.AsyncClient, url: str, headers: dict[str, str], count: int) -> list[float]:
    result = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        result.append(time.perf_counter() - started)
        response.raise_for_status()
    return result


async def measure(settings: Settings, clients: int, requests: int) -> tuple[list[float], list[float], Counter[int]]:
    app = create_served_app(settings)
    statuses: Counter[int] = Counter()
    async with (
        app.app.lifespan(),
        # FastLane takes Litestar's precise ASGI event types, httpx's transport declares plain mappings.
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://bench",
            timeout=120,
        ) as client,
    ):
        tokens = app.state.tokens

        def anonymous(tenant: str) -> dict[str, str]:
            token = tokens.issue(tenant=tenant, kind=TokenKind.ANONYMOUS, subject="guest", scopes=(), ttl_seconds=3600)
            return {"Authorization": f"Bearer {token}"}

        url, shop = "/product/shop/products?pageSize=10", anonymous("shop")
        await latencies(client, url, shop, 10)  # warm-up
        alone = await latencies(client, url, shop, requests)
        running = True
        hostile = {**anonymous("hostile"), "X-Total-Count": "true"}

        async def flood() -> None:
            while running:
                response = await client.get(
                    "/product/hostile/products", headers=hostile, params={"q": HOSTILE_Q, "pageSize": "1000"}
                )
                statuses[response.status_code] += 1

        tasks = [asyncio.create_task(flood()) for _ in range(clients)]
        await asyncio.sleep(1)
        loaded = await latencies(client, url, shop, requests)
        running = False
        await asyncio.gather(*tasks)
    return alone, loaded, statuses


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"median {statistics.median(ordered) * 1000:7.1f} ms, p90 {ordered[int(len(ordered) * 0.9) - 1] * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segment-service-hostile-"))
    server, dsn = start_embedded(folder / "data")
    try:
        asyncio.run(migrate(dsn))
        asyncio.run(load(dsn, "hostile", args.products))
        asyncio.run(load(dsn, "shop", 20))
        base = Settings(database_url=dsn, signing_key="bench-signing-key-" + "x" * 32)
        shares = [
            (f"share {base.tenant_pool_share} of {base.pool_max_size}", base),
            (f"share 1 of {base.pool_max_size}", replace(base, tenant_pool_share=1)),
            ("no share", replace(base, tenant_pool_share=0)),
        ]
        for label, settings in shares:
            alone, loaded, statuses = asyncio.run(measure(settings, args.clients, args.requests))
            ratio = statistics.median(loaded) / statistics.median(alone)
            print(
                f"{label:>12}: alone {summary(alone)} | under {args.clients} hostile {summary(loaded)} | "
                f"ratio {ratio:.1f}x | hostile answers {dict(statuses)}",
                flush=True,
            )
    finally:
        release_embedded(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
