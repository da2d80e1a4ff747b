"""`python -m bench.answer_memory`: what the answer cache holds for 10,000 distinct segment sets.

A shop of `--segments` ACTIVE segments (each with `--items` product items and one category item), a five-level
category tree, and `--customers` customers, each a member of three segments drawn so that no two customers share the
same set. Each customer's items (default order, first page) and category tree are read once through the served
app's ASGI callable (a real embedded PostgreSQL; no HTTP server), with the cache big enough to keep everything. Prints
the cache's own count of bytes and entries per kind, and what Python's allocator says the cache holds (tracemalloc,
the difference between before and after the reads, with the reads' garbage collected), per 10,000 sets.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import shutil
import tempfile
import tracemalloc
from pathlib import Path

import asyncpg

from bench.observability import call
from segment_service.app import create_served_app
from segment_service.core.auth import CUSTOMER_SCOPES, TokenKind
from segment_service.core.db import migrate
from segment_service.core.observe import ObservedLane
from segment_service.embedded import ensure_database, start_embedded
from segment_service.settings import Settings

TENANT = "memshop"
NOW = "now() - interval '1 day'"


async def seed(dsn: str, segments: int, items: int, customers: int) -> list[str]:
    """The shop, written with SQL (the reads, not the writes, are measured); the customers' ids."""
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        categories: list[tuple[str, str | None]] = [("c0", None)]
        for n in range(1, 400):
            categories.append((f"c{n}", f"c{rng.randrange(max(1, n // 4), n) if n > 4 else 0}"))
        await conn.executemany(
            "INSERT INTO categories (tenant, id, parent_id, code, localized_name, published, position, created_at,"
            " modified_at) VALUES ($1, $2, $3, $2, jsonb_build_object('en', $2::text), true, 0, now(), now())",
            [(TENANT, c, p) for c, p in categories],
        )
        await conn.execute(
            "INSERT INTO category_closure (tenant, ancestor_id, descendant_id, depth)"
            " WITH RECURSIVE up(id, ancestor, depth) AS ("
            "  SELECT id, id, 0 FROM categories WHERE tenant = $1"
            "  UNION ALL SELECT up.id, c.parent_id, up.depth + 1 FROM up JOIN categories c ON c.tenant = $1"
            "  AND c.id = up.ancestor WHERE c.parent_id IS NOT NULL)"
            " SELECT $1, ancestor, id, depth FROM up",
            TENANT,
        )
        products = [f"p{n}" for n in range(segments * items // 4)]
        await conn.executemany(
            "INSERT INTO products (tenant, id, code, name, published, created_at, modified_at)"
            " VALUES ($1, $2, $2, jsonb_build_object('en', 'Product ' || $2), true, now(), now())",
            [(TENANT, p) for p in products],
        )
        await conn.executemany(
            "INSERT INTO segments (tenant, id, name, status, site_code, created_at, modified_at)"
            " VALUES ($1, $2, jsonb_build_object('en', $2::text), 'ACTIVE', 'main', now(), now())",
            [(TENANT, f"s{n}") for n in range(segments)],
        )
        rows = []
        for n in range(segments):
            for product in rng.sample(products, items):
                rows.append((TENANT, f"s{n}", "PRODUCT", product))
            rows.append((TENANT, f"s{n}", "CATEGORY", f"c{rng.randrange(20, len(categories))}"))
        await conn.executemany(
            "INSERT INTO segment_item_assignments (tenant, segment_id, item_type, item_id, created_at, modified_at)"
            " VALUES ($1, $2, $3, $4, now(), now())",
            rows,
        )
        sets: set[tuple[int, ...]] = set()
        while len(sets) < customers:
            sets.add(tuple(sorted(rng.sample(range(segments), 3))))
        members = [(TENANT, f"s{s}", f"u{n}", "") for n, chosen in enumerate(sorted(sets)) for s in chosen]
        await conn.executemany(
            "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id, created_at,"
            " modified_at) VALUES ($1, $2, $3, $4, now(), now())",
            members,
        )
    finally:
        await conn.close()
    return [f"u{n}" for n in range(customers)]


async def measure(settings: Settings, segments: int, items: int, customers: int) -> None:
    served = create_served_app(settings)
    assert isinstance(served, ObservedLane)
    served.access_log_on = False
    async with served.app.lifespan():
        ids = await seed(str(settings.database_url), segments, items, customers)
        tokens = served.state.tokens
        cache = served.state.db.answers
        base = f"/customer-segment/{TENANT}/segments/items"
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for customer in ids:  # each set read once: a new token per customer, as its login would give it
            token = tokens.issue(
                tenant=TENANT,
                kind=TokenKind.CUSTOMER,
                subject=customer,
                scopes=CUSTOMER_SCOPES,
                ttl_seconds=3600,
                customer_id=customer,
                legal_entity_id=None,
            )
            for path in (base, f"{base}/category-trees"):
                status, body = await call(served, "GET", path, token)
                assert status == 200, body
        gc.collect()
        after = tracemalloc.take_snapshot()
        held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        kinds: dict[str, tuple[int, int]] = {}
        for key, (_, size) in cache.entries.items():
            kind = str(key[0]) if isinstance(key, tuple) else "?"
            count, total = kinds.get(kind, (0, 0))
            kinds[kind] = (count + 1, total + size)
        entries, estimated = len(cache.entries), cache.bytes
        # What the cache alone holds: what clearing it gives back.
        cache.clear()
        gc.collect()
        cleared = tracemalloc.take_snapshot()
        freed = -sum(stat.size_diff for stat in cleared.compare_to(after, "filename"))
        tracemalloc.stop()
        per = 10_000 / customers
        print(f"{customers:,} customers with distinct sets of 3 of {segments:,} segments ({items} items each)")
        print("| entries | count | estimated bytes | per 10,000 sets |")
        print("|---|---:|---:|---:|")
        for kind, (count, total) in sorted(kinds.items()):
            print(f"| {kind} | {count:,} | {total:,} | {total * per / 2**20:,.1f} MiB |")
        print(f"| all (the cache's estimate) | {entries:,} | {estimated:,} | {estimated * per / 2**20:,.1f} MiB |")
        print(f"| all (tracemalloc: what clearing the cache frees) | | {freed:,} | {freed * per / 2**20:,.1f} MiB |")
        print(f"| everything the reads left allocated (caches of sessions, statements, …) | | {held:,} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--segments", type=int, default=2_000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-memory-"))
    server, url = start_embedded(folder / "data")
    try:
        asyncio.run(ensure_database(url, "segment_service"))
        asyncio.run(migrate(url))
        settings = Settings(database_url=url, signing_key="bench-signing-key-" + "x" * 32, answer_cache_mb=4096)
        asyncio.run(measure(settings, args.segments, args.items, args.customers))
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
