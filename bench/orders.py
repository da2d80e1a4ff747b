"""`python -m bench.orders` (`make bench-orders`): `segment-service import orders` and the purchase facts it keeps.

A private embedded PostgreSQL in a temporary folder. Customers (and one legal entity with contacts) are seeded with
SQL; then an NDJSON file of --orders orders spread over --customers customers (one in ten for the legal entity, two
to four entries each, created over the last two years, statuses mostly COMPLETED) is imported through the command's
own code, in this process, with each batch's facts. Reported: rows/s, the CPU seconds of the import and of
PostgreSQL (read from /proc: on a shared machine the rate swings with the neighbours' load, the CPU seconds barely
do), the summaries checked to cover every buyer, and the time of the purchase-fact reads a rule needs: one
customer's "orders in the last 365 days" and "spent on product P", and the same for every customer at once.

    python -m bench.orders                                # 200,000 orders for 40,000 customers
    python -m bench.orders --orders 5000000 --customers 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.imports import _postgres_cpu
from segment_service.core.db import migrate
from segment_service.embedded import release_embedded, start_embedded
from segment_service.orders import facts_store
from segment_service.settings import Settings
from segment_service.transfer import importer

TENANT = "benchorders"
PRODUCTS = 5000
STATUSES = ("COMPLETED",) * 6 + ("SHIPPED", "CONFIRMED", "CREATED", "DECLINED")


def _write_orders(path: Path, orders: int, customers: int, seed: int = 20_241_204) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with path.open("w", encoding="utf-8") as file:
        for n in range(orders):
            c = rng.randrange(customers)
            entries = []
            total = 0.0
            for _ in range(rng.randint(2, 4)):
                p = f"p{rng.randrange(PRODUCTS):05d}"
                quantity = rng.randint(1, 3)
                gross = round(rng.uniform(1, 200) * quantity, 2)
                total += gross
                entries.append(
                    {
                        "id": p,
                        "amount": quantity,
                        "product": {"id": p, "name": f"Product {p}"},
                        "calculatedPrice": {"finalPrice": {"netValue": gross, "grossValue": gross, "taxValue": 0}},
                    }
                )
            row: dict[str, Any] = {
                "id": f"o{n:08d}",
                "status": rng.choice(STATUSES),
                "created": (now - timedelta(seconds=rng.randrange(2 * 365 * 86400))).isoformat(),
                "customer": {"id": f"c{c:07d}", "email": f"c{c:07d}@example.com"},
                "siteCode": "main" if n % 3 else "outlet",
                "currency": "EUR",
                "entries": entries,
                "calculatedPrice": {"finalPrice": {"grossValue": round(total, 2)}},
            }
            if c % 10 == 0:
                row["legalEntityId"] = "acme"
            file.write(json.dumps(row, separators=(",", ":")) + "\n")


async def _seed(dsn: str, customers: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO customers (tenant, id, contact_email, active, version, created_at, modified_at)"
            " SELECT $1, 'c' || lpad(g::text, 7, '0'), 'c' || lpad(g::text, 7, '0') || '@example.com', true, 1,"
            " now(), now() FROM generate_series(0, $2 - 1) g",
            TENANT,
            customers,
        )
        await conn.execute(
            "INSERT INTO legal_entities (tenant, id, name, type, created_at, modified_at)"
            " VALUES ($1, 'acme', 'Acme', 'COMPANY', now(), now())",
            TENANT,
        )
        await conn.execute(
            "INSERT INTO contact_assignments (tenant, id, legal_entity_id, customer_id, type, created_at, modified_at)"
            " SELECT $1, 'ca' || g, 'acme', 'c' || lpad(g::text, 7, '0'), 'CONTACT', now(), now()"
            " FROM generate_series(0, $2 - 1, 10) g",
            TENANT,
            customers,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _reads(dsn: str, customers: int, rounds: int = 200) -> dict[str, float]:
    """Milliseconds of the fact reads a rule makes: per customer (median of `rounds`), and for all customers."""
    conn = await asyncpg.connect(dsn)
    rng = random.Random(7)
    since = datetime.now(UTC) - timedelta(days=365)
    filters = {
        "count in 365 days": facts_store.Filter(since=since),
        "spent on a product in 365 days": facts_store.Filter(since=since, product_id="p00042"),
        "all-time summary": facts_store.Filter(),
    }
    result: dict[str, float] = {}
    try:
        for name, f in filters.items():
            times = []
            for _ in range(rounds):
                customer = f"c{rng.randrange(customers):07d}"
                started = time.perf_counter()
                await facts_store.measure(conn, TENANT, customer, None, f)
                times.append((time.perf_counter() - started) * 1000)
            result[f"one customer: {name} (ms, median)"] = statistics.median(times)
        for name, f in list(filters.items())[:2]:
            started = time.perf_counter()
            rows = await facts_store.measure_all(conn, TENANT, f, per_legal_entity=False)
            result[f"all customers: {name} (s, {len(rows)} customers)"] = time.perf_counter() - started
        summarised = await conn.fetchval(
            "SELECT count(DISTINCT customer_id) FROM purchase_summaries WHERE tenant = $1", TENANT
        )
        buyers = await conn.fetchval(
            "SELECT count(DISTINCT customer_id) FROM orders WHERE tenant = $1 AND status <> 'DECLINED'", TENANT
        )
        if summarised != buyers:
            raise SystemExit(f"purchase_summaries covers {summarised} customers, the orders {buyers}")
        result["customers with a summary"] = float(summarised)
    finally:
        await conn.close()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.orders", description=__doc__)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=40_000)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="segment-service-bench-orders-"))
    data_dir = folder / "data"
    server, dsn = start_embedded(data_dir)
    try:
        asyncio.run(migrate(dsn))
        postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        started = time.perf_counter()
        asyncio.run(_seed(dsn, args.customers))
        seeded = time.perf_counter() - started
        file = folder / "orders.ndjson"
        started = time.perf_counter()
        _write_orders(file, args.orders, args.customers)
        written = time.perf_counter() - started
        client_before, postgres_before = time.process_time(), _postgres_cpu(postmaster)
        summary = asyncio.run(importer.import_file(Settings(database_url=dsn), dsn, "orders", file, TENANT))
        time.sleep(0.3)
        client_cpu = time.process_time() - client_before
        postgres_cpu = _postgres_cpu(postmaster) - postgres_before
        if summary.failed:
            raise SystemExit(f"{summary.failed} rows failed: {summary.as_json()['errors'][:3]}")
        reads = asyncio.run(_reads(dsn, args.customers))
        load = os.getloadavg()[0]
        print(f"\nsegment-service import orders, {os.cpu_count()} cores, embedded PostgreSQL, load average {load:.1f}")
        print(f"  seeded {args.customers:,} customers in {seeded:.1f} s; wrote the file in {written:.1f} s")
        print(
            f"  {summary.rows:,} orders in {summary.seconds:.1f} s = {summary.rows_per_second:,.0f} orders/s"
            f"  (import CPU {client_cpu:.1f} s, PostgreSQL CPU {postgres_cpu:.1f} s,"
            f" {summary.rows / (client_cpu + postgres_cpu):,.0f} orders per CPU second)"
        )
        for name, value in reads.items():
            print(f"  {name}: {value:,.2f}")
    finally:
        release_embedded(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
