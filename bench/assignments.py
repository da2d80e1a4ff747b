"""The segment assignment dataset: customers, customer-to-segment and item(product)-to-segment assignments.

Shaped like a shop that segments its customers and prices or promotes products per segment:
- `customers`: 200,000 customers of the measured tenant (15 % of them B2B, each with one legal entity);
- `segment_customer_assignments`: 1,000,000 distinct (segment, customer, legal entity) rows spread over all the
  tenant's segments with a log-normal weight per segment (a few big segments, most around the mean), so a customer
  is in about 5 segments; B2B customers' rows carry their legal entity, B2C rows the empty string;
- `segment_item_assignments`: 1,000,000 distinct (segment, PRODUCT, product) rows over 10,000 of the tenant's
  segments (about 100 products each, skewed the same way), over the tenant's existing products (about 10 segments
  per product with 100,000 products).

Products come from the category dataset when it was loaded; otherwise the same generator COPYs them here. Everything
is seeded, COPYed into the migrated tables (so every rate includes the primary key, the secondary index and the
foreign key check on segments) and then VACUUMed (ANALYZE included), like the other datasets.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.categories import PRODUCT_COLUMNS, CopyStat, generate_products
from bench.dataset import TENANT

CUSTOMER_COLUMNS = (
    "tenant",
    "id",
    "contact_email",
    "first_name",
    "last_name",
    "company",
    "preferred_language",
    "active",
    "version",
    "created_at",
    "modified_at",
)
CUSTOMER_ASSIGNMENT_COLUMNS = (
    "tenant",
    "segment_id",
    "customer_id",
    "legal_entity_id",
    "assignment_type",
    "version",
    "created_at",
    "modified_at",
)
ITEM_ASSIGNMENT_COLUMNS = ("tenant", "segment_id", "item_type", "item_id", "version", "created_at", "modified_at")
#: Share of customers that buy for a legal entity (B2B); their assignments carry its id.
B2B_SHARE = 0.15
#: How many of the tenant's segments hold item assignments (at most; fewer when the tenant has fewer segments).
ITEM_SEGMENTS = 10_000

_FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas", "Lena", "Max", "Nina")
_LAST = ("Meier", "Schmidt", "Müller", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Koch", "Richter")


@dataclass(frozen=True, slots=True)
class Volumes:
    """How many rows of each kind the measured tenant gets."""

    customers: int
    customer_assignments: int
    item_assignments: int


DEFAULT_VOLUMES = Volumes(customers=200_000, customer_assignments=1_000_000, item_assignments=1_000_000)
QUICK_VOLUMES = Volumes(customers=20_000, customer_assignments=100_000, item_assignments=100_000)


@dataclass(frozen=True, slots=True)
class AssignmentLoadResult:
    """What the load did, and the ids the scenarios and the plans draw from."""

    copies: list[CopyStat]
    vacuum_seconds: float
    generate_seconds: float
    table_bytes: dict[str, int]
    product_ids: list[str]
    """Every product of the measured tenant (the bulk bodies are drawn from them)."""
    item_segments: list[str]
    """The segments that hold item assignments."""
    customer_sample: list[tuple[str, int]]
    """(customer id, number of its assignments) of sampled customers that have assignments."""
    item_segment_sample: list[tuple[str, int]]
    """(segment id, number of its item assignments) of sampled item segments."""
    product_sample: list[tuple[str, int]]
    """(product id, number of segments it is assigned to) of sampled assigned products."""

    def mean(self, sample: list[tuple[str, int]]) -> float:
        return sum(n for _, n in sample) / len(sample) if sample else 0.0


def _hex_id(rng: random.Random) -> str:
    """An id shaped like the service's (core.ids.new_id: 24 hex characters)."""
    return f"{rng.getrandbits(96):024x}"


def generate_customers(
    rng: random.Random, count: int, now: datetime, *, email_prefix: str = "customer", b2b_share: float = B2B_SHARE
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """(COPY records of `customers`, each customer's legal entity id or '' for B2C). Emails are
    `{email_prefix}{n}@example.com`: datasets loaded side by side use different prefixes (the email is unique)."""
    records: list[tuple[Any, ...]] = []
    legal: list[str] = []
    for number in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        b2b = rng.random() < b2b_share
        created = now - timedelta(seconds=rng.randrange(0, 3 * 365 * 86_400))
        records.append(
            (
                TENANT,
                _hex_id(rng),
                f"{email_prefix}{number}@example.com",
                first,
                last,
                f"{last} GmbH" if b2b else None,
                rng.choice(("en", "de")),
                True,
                1,
                created,
                created,
            )
        )
        legal.append(_hex_id(rng) if b2b else "")
    return records, legal


def _stamps(rng: random.Random, now: datetime) -> list[datetime]:
    return [now - timedelta(seconds=rng.randrange(0, 2 * 365 * 86_400)) for _ in range(4096)]


def generate_pairs(rng: random.Random, groups: int, members: int, count: int) -> list[tuple[int, int]]:
    """`count` distinct (group index, member index) pairs; groups weighted log-normally, members uniform."""
    if count > groups * members // 2:
        raise ValueError(f"{count:,} pairs do not fit {groups:,} x {members:,}; ask for fewer")
    weights = [rng.lognormvariate(0.0, 0.75) for _ in range(groups)]
    seen: set[int] = set()
    pairs: list[tuple[int, int]] = []
    indexes = range(groups)
    while len(pairs) < count:
        for group in rng.choices(indexes, weights=weights, k=min(100_000, (count - len(pairs)) * 11 // 10 + 16)):
            member = rng.randrange(members)
            key = group * members + member
            if key in seen:
                continue
            seen.add(key)
            pairs.append((group, member))
            if len(pairs) == count:
                break
    return pairs


async def _copy(
    conn: asyncpg.Connection, table: str, records: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> CopyStat:
    started = time.perf_counter()
    await conn.copy_records_to_table(table, records=records, columns=columns)
    return CopyStat(table, len(records), time.perf_counter() - started)


def _sample(counts: Counter[str], size: int, rng: random.Random) -> list[tuple[str, int]]:
    keys = sorted(counts)
    return [(k, counts[k]) for k in rng.sample(keys, min(size, len(keys)))]


async def load(
    dsn: str, volumes: Volumes, *, products: int, seed: int = 20_240_707, sample: int = 2_000
) -> AssignmentLoadResult:
    """COPY customers, (products when the tenant has none yet,) customer and item assignments; VACUUM (ANALYZE)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    copies: list[CopyStat] = []
    conn = await asyncpg.connect(dsn)
    try:
        segment_ids = [
            r["id"] for r in await conn.fetch("SELECT id FROM segments WHERE tenant = $1 ORDER BY id", TENANT)
        ]
        product_ids = [
            r["id"] for r in await conn.fetch("SELECT id FROM products WHERE tenant = $1 ORDER BY id", TENANT)
        ]
        product_records: list[tuple[Any, ...]] = []
        if not product_ids:
            product_records = generate_products(rng, TENANT, products, now)
            product_ids = sorted(p[1] for p in product_records)
        customers, legal = generate_customers(rng, volumes.customers, now)
        stamps = _stamps(rng, now)
        customer_records = []
        per_customer: Counter[str] = Counter()
        for segment, customer in generate_pairs(rng, len(segment_ids), len(customers), volumes.customer_assignments):
            stamp = rng.choice(stamps)
            customer_id = customers[customer][1]
            per_customer[customer_id] += 1
            customer_records.append(
                (TENANT, segment_ids[segment], customer_id, legal[customer], "MANUAL", 1, stamp, stamp)
            )
        item_segments = rng.sample(segment_ids, min(ITEM_SEGMENTS, len(segment_ids)))
        item_records = []
        per_segment: Counter[str] = Counter()
        per_product: Counter[str] = Counter()
        for segment, product in generate_pairs(rng, len(item_segments), len(product_ids), volumes.item_assignments):
            stamp = rng.choice(stamps)
            per_segment[item_segments[segment]] += 1
            per_product[product_ids[product]] += 1
            item_records.append((TENANT, item_segments[segment], "PRODUCT", product_ids[product], 1, stamp, stamp))
        rng.shuffle(customer_records)  # no key order, as years of API writes leave them
        rng.shuffle(item_records)
        generate_seconds = time.perf_counter() - started
        tables = ["customers", "segment_customer_assignments", "segment_item_assignments"]
        if product_records:
            copies.append(await _copy(conn, "products", product_records, PRODUCT_COLUMNS))
            tables.append("products")
        copies.append(await _copy(conn, "customers", customers, CUSTOMER_COLUMNS))
        copies.append(await _copy(conn, "segment_customer_assignments", customer_records, CUSTOMER_ASSIGNMENT_COLUMNS))
        copies.append(await _copy(conn, "segment_item_assignments", item_records, ITEM_ASSIGNMENT_COLUMNS))
        del customer_records, item_records, product_records
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) " + ", ".join(tables))
        vacuum_seconds = time.perf_counter() - started
        sizes = {t: int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)) for t in tables}
    finally:
        await conn.close()
    pick = random.Random(seed + 1)
    return AssignmentLoadResult(
        copies=copies,
        vacuum_seconds=vacuum_seconds,
        generate_seconds=generate_seconds,
        table_bytes=sizes,
        product_ids=product_ids,
        item_segments=item_segments,
        customer_sample=_sample(per_customer, sample, pick),
        item_segment_sample=_sample(per_segment, sample, pick),
        product_sample=_sample(per_product, sample, pick),
    )


def bulk_bodies(
    result: AssignmentLoadResult, *, requests: int = 200, size: int = 200, seed: int = 20_240_708
) -> list[tuple[str, str]]:
    """(segment id, JSON body of `size` `{"id": productId}` items) pairs for the bulk upsert scenario.

    Segments rotate through the item segments, so the requests spread over many segments' rows rather than all
    updating one segment's; each body holds `size` distinct existing products, some already assigned to the
    segment (updates), most not yet (creates, until the scenario has run long enough to have made them)."""
    rng = random.Random(seed)
    segments = rng.sample(result.item_segments, min(requests, len(result.item_segments)))
    pairs = []
    for index in range(requests):
        ids = rng.sample(result.product_ids, min(size, len(result.product_ids)))
        body = "[" + ",".join(f'{{"id":"{i}"}}' for i in ids) + "]"
        pairs.append((segments[index % len(segments)], body))
    return pairs


def lines(result: AssignmentLoadResult) -> list[str]:
    """The assignment dataset and one line per COPY, for the report."""
    mib = sum(result.table_bytes.values()) / 1024 / 1024
    out = [
        f"segment assignments: {len(result.item_segments):,} segments hold item assignments, about "
        f"{result.mean(result.item_segment_sample):,.0f} products each; a customer with assignments is in about "
        f"{result.mean(result.customer_sample):,.1f} segments, an assigned product in about "
        f"{result.mean(result.product_sample):,.1f}; generated in {result.generate_seconds:.1f} s"
    ]
    out += [
        f"COPY {s.table}: {s.rows:,} rows in {s.seconds:.2f} s = {s.rows_per_second:,.0f} rows/s "
        f"(table + indexes {result.table_bytes.get(s.table, 0) / 1024 / 1024:,.0f} MiB)"
        for s in result.copies
    ]
    out.append(
        f"(primary key, secondary index and the foreign key to segments in place) VACUUM (ANALYZE) "
        f"{result.vacuum_seconds:.2f} s; these tables with their indexes {mib:,.0f} MiB"
    )
    return out
