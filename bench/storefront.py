"""The storefront dataset: the segments a shop shows its customers, a million customers in them, and the products
and categories assigned to those segments; plus the customers, bodies and categories the storefront scenarios ask for.

Loaded on top of the category dataset (bench/categories.py: its tree, products and product-to-category assignments),
for the same tenant, and only when a storefront scenario runs:
- segments (10,000): 78 % ACTIVE on site `main` (a fifth of them with a validity window around now), 7 % INACTIVE,
  5 % ACTIVE but expired, 2 % ACTIVE but not valid yet, 8 % ACTIVE on another site;
- customers (1,000,000, 10 % B2B), each a member of 1 to 5 of these segments (2.7 on average; segments weighted
  log-normally, so a few are big); B2B memberships carry the customer's legal entity;
- item assignments (1,000,000) over the segments, about 100 each (log-normal sizes), drawn from one pool of the
  tenant's products and its categories below level 2 (about 9 % of the assignments are categories).

The scenarios' customers are B2C members built for them (see `Shopper`): each has a live customer session row, so
that the bench can mint its token as the login would. Everything is seeded and COPYed into the migrated tables (every
index and foreign key in place), then VACUUMed (ANALYZE included), like the other datasets.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.assignments import (
    CUSTOMER_ASSIGNMENT_COLUMNS,
    CUSTOMER_COLUMNS,
    ITEM_ASSIGNMENT_COLUMNS,
    generate_customers,
    generate_pairs,
)
from bench.categories import CopyStat
from bench.dataset import COLUMNS as SEGMENT_COLUMNS
from bench.dataset import TENANT, segment_record
from bench.load import BenchError
from bench.storefront_probes import (
    Catalogue,
    CategoryFilterProbe,
    ItemsProbe,
    MatchProbe,
    Shopper,
    TreeProbe,
    category_filter_probes,
    match_probes,
)

SITE = "main"
#: Segment states and their shares; only "active" segments are active on SITE.
STATES = (("active", 0.78), ("inactive", 0.07), ("expired", 0.05), ("future", 0.02), ("other-site", 0.08))
#: Memberships per customer: 1 to 5, with these weights (2.7 on average).
MEMBERSHIP_WEIGHTS = (0.25, 0.25, 0.20, 0.15, 0.15)
B2B_SHARE = 0.10
#: Customers (and bodies, and categories) each storefront scenario draws its requests from.
POOL = 100
#: Item assignments in the active segments of each "my items" customer.
MY_ITEMS = 50
SESSION_COLUMNS = ("tenant", "id", "kind", "customer_id", "refresh_hash", "refresh_expires_at", "expires_at")


@dataclass(frozen=True, slots=True)
class Volumes:
    """How many rows of each kind the measured tenant gets."""

    segments: int
    customers: int
    item_assignments: int


DEFAULT_VOLUMES = Volumes(segments=10_000, customers=1_000_000, item_assignments=1_000_000)
QUICK_VOLUMES = Volumes(segments=2_000, customers=50_000, item_assignments=100_000)


@dataclass(frozen=True, slots=True)
class StorefrontLoadResult:
    """What the load did, and what each storefront scenario asks for and must get back."""

    copies: list[CopyStat]
    generate_seconds: float
    vacuum_seconds: float
    probe_seconds: float
    """Building the match and category bodies and their expected answers, after the COPY."""
    states: dict[str, int]
    customers: int
    memberships: int
    category_items: int
    items: list[ItemsProbe]
    trees: list[TreeProbe]
    matches: list[MatchProbe]
    category_filters: list[CategoryFilterProbe]
    subtree_filters: list[CategoryFilterProbe]

    @property
    def load_seconds(self) -> float:
        return self.generate_seconds + sum(c.seconds for c in self.copies) + self.vacuum_seconds + self.probe_seconds


async def _catalogue(conn: asyncpg.Connection) -> Catalogue:
    rows = await conn.fetch("SELECT id, parent_id FROM categories WHERE tenant = $1 ORDER BY id", TENANT)
    if not rows:
        raise BenchError("The storefront dataset needs the category dataset loaded first.")
    parent: dict[str, str | None] = {r["id"]: r["parent_id"] for r in rows}
    children: dict[str, list[str]] = defaultdict(list)
    for category_id, parent_id in parent.items():
        if parent_id is not None:
            children[parent_id].append(category_id)
    depth: dict[str, int] = {}
    for category_id in parent:
        chain, current = 0, parent[category_id]
        while current is not None:
            chain, current = chain + 1, parent[current]
        depth[category_id] = chain
    direct = Counter(
        {
            r["category_id"]: int(r["n"])
            for r in await conn.fetch(
                "SELECT category_id, count(*) AS n FROM category_assignments WHERE tenant = $1 GROUP BY 1", TENANT
            )
        }
    )
    products = await conn.fetch("SELECT id, published FROM products WHERE tenant = $1 ORDER BY id", TENANT)
    return Catalogue(
        parent=parent,
        depth=depth,
        children=dict(children),
        direct=direct,
        products=[p["id"] for p in products],
        published=[p["id"] for p in products if p["published"]],
    )


def generate_segments(rng: random.Random, count: int, now: datetime) -> tuple[list[tuple[Any, ...]], list[str]]:
    """(COPY records of `segments`, each one's state); the rest of each row is dataset.py's realistic mix."""
    records: list[tuple[Any, ...]] = []
    states: list[str] = []
    for state in rng.choices([n for n, _ in STATES], weights=[w for _, w in STATES], k=count):
        row = list(segment_record(rng, TENANT, now))
        status, site, valid_from, valid_to = "ACTIVE", SITE, None, None
        if state == "active" and rng.random() < 0.2:
            valid_from = now - timedelta(days=rng.randrange(1, 300))
            valid_to = now + timedelta(days=rng.randrange(30, 400))
        elif state == "inactive":
            status = "INACTIVE"
        elif state == "expired":
            valid_from = now - timedelta(days=rng.randrange(400, 700))
            valid_to = now - timedelta(days=rng.randrange(1, 300))
        elif state == "future":
            valid_from = now + timedelta(days=rng.randrange(7, 60))
        elif state == "other-site":
            site = rng.choice(("de", "ch", "uk", "us"))
        row[4:8] = [status, site, valid_from, valid_to]  # dataset.COLUMNS: status, site_code, valid_from, valid_to
        records.append(tuple(row))
        states.append(state)
    return records, states


class _WeightedDraw:
    """Segment indices drawn by weight, a batch at a time (one rng.choices call per 100,000 draws)."""

    def __init__(self, rng: random.Random, weights: list[float]) -> None:
        self._rng = rng
        self._indexes = range(len(weights))
        self._cumulative = list(itertools.accumulate(weights))
        self._batch: list[int] = []

    def __call__(self) -> int:
        if not self._batch:
            self._batch = self._rng.choices(self._indexes, cum_weights=self._cumulative, k=100_000)
        return self._batch.pop()

    def distinct(self, count: int) -> list[int]:
        chosen: dict[int, None] = {}
        while len(chosen) < count:
            chosen[self()] = None
        return list(chosen)


def _exact_items(
    rng: random.Random, counting: list[int], by_count: dict[int, list[int]], size: Counter[int], total: int
) -> list[int]:
    """Two or three segments from `counting` whose item assignments add up to exactly `total`."""
    for _ in range(100_000):
        picked = rng.sample(counting, rng.choice((1, 2)))
        remaining = total - sum(size[s] for s in picked)
        options = [s for s in by_count.get(remaining, ()) if s not in picked] if remaining > 0 else []
        if options:
            return [*picked, rng.choice(options)]
    raise BenchError(f"no active segments add up to exactly {total} item assignments; ask for more segments")


def _shoppers(
    rng: random.Random, draw: _WeightedDraw, states: list[str], items: dict[int, list[tuple[str, str]]], pool: int
) -> tuple[list[list[int]], list[list[int]]]:
    """The memberships of the "my items" customers (exactly MY_ITEMS items over their active segments, and one
    membership of a segment that is not active) and of the category tree customers (drawn like everyone's, until
    their active segments of SITE hold at least one category)."""
    size = Counter({s: len(i) for s, i in items.items()})
    counting = [s for s in range(len(states)) if states[s] == "active" and 0 < size[s] < MY_ITEMS]
    by_count: dict[int, list[int]] = defaultdict(list)
    for s in counting:
        by_count[size[s]].append(s)
    not_active = [s for s in range(len(states)) if states[s] in ("inactive", "expired", "future") and size[s]]
    my_items = [[*_exact_items(rng, counting, by_count, size, MY_ITEMS), rng.choice(not_active)] for _ in range(pool)]
    trees: list[list[int]] = []
    while len(trees) < pool:
        segments = draw.distinct(rng.choices(range(1, 6), weights=MEMBERSHIP_WEIGHTS)[0])
        if any(t == "CATEGORY" for s in segments if states[s] == "active" for t, _ in items.get(s, ())):
            trees.append(segments)
    return my_items, trees


async def _copy(
    conn: asyncpg.Connection, table: str, records: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> CopyStat:
    started = time.perf_counter()
    await conn.copy_records_to_table(table, records=records, columns=columns)
    return CopyStat(table, len(records), time.perf_counter() - started)


async def load(dsn: str, volumes: Volumes, *, seed: int = 20_241_219, pool: int = POOL) -> StorefrontLoadResult:
    """Generate and COPY the storefront dataset over the loaded category dataset, then VACUUM (ANALYZE); then build
    what the scenarios ask for, with the answers they must get."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    conn = await asyncpg.connect(dsn)
    try:
        catalogue = await _catalogue(conn)
        segment_records, states = generate_segments(rng, volumes.segments, now)
        segment_ids = [r[1] for r in segment_records]
        # One pool of items: every product, and the categories below level 2 (a segment names a department's
        # families or shelves, rarely a whole department).
        categories = [c for c in sorted(catalogue.parent) if catalogue.depth[c] >= 2]
        universe = [("PRODUCT", p) for p in catalogue.products] + [("CATEGORY", c) for c in categories]
        items: dict[int, list[tuple[str, str]]] = defaultdict(list)
        stamps = [now - timedelta(seconds=rng.randrange(0, 2 * 365 * 86_400)) for _ in range(4096)]
        item_records = []
        for segment, member in generate_pairs(rng, len(segment_ids), len(universe), volumes.item_assignments):
            item_type, item_id = universe[member]
            items[segment].append((item_type, item_id))
            stamp = rng.choice(stamps)
            item_records.append((TENANT, segment_ids[segment], item_type, item_id, 1, stamp, stamp))
        rng.shuffle(item_records)  # no key order, as years of API writes leave them

        draw = _WeightedDraw(rng, [rng.lognormvariate(0.0, 1.0) for _ in segment_ids])
        my_items, trees = _shoppers(rng, draw, states, items, pool)
        customers, legal = generate_customers(rng, volumes.customers, now, email_prefix="shopper", b2b_share=B2B_SHARE)
        b2c = [i for i, entity in enumerate(legal) if not entity]
        if len(b2c) < 2 * pool:
            raise BenchError(f"{volumes.customers:,} customers are too few for the storefront scenarios")
        built = dict(zip(b2c, [*my_items, *trees], strict=False))
        counts = rng.choices(range(1, 6), weights=MEMBERSHIP_WEIGHTS, k=len(customers))
        membership_records = []
        for index, customer in enumerate(customers):
            for segment in built.get(index) or draw.distinct(counts[index]):
                stamp = rng.choice(stamps)
                membership_records.append(
                    (TENANT, segment_ids[segment], customer[1], legal[index], "MANUAL", 1, stamp, stamp)
                )
        shoppers = [
            Shopper(
                customer_id=customers[index][1],
                session_id=str(uuid.UUID(int=rng.getrandbits(128))),
                segment_ids=tuple(segment_ids[s] for s in built[index]),
            )
            for index in b2c[: 2 * pool]
        ]
        expires = now + timedelta(days=2)
        session_records = [
            (TENANT, s.session_id, "customer", s.customer_id, f"{rng.getrandbits(128):032x}", expires, expires)
            for s in shoppers
        ]
        generate_seconds = time.perf_counter() - started

        copies = [
            await _copy(conn, "segments", segment_records, SEGMENT_COLUMNS),
            await _copy(conn, "customers", customers, CUSTOMER_COLUMNS),
            await _copy(conn, "segment_customer_assignments", membership_records, CUSTOMER_ASSIGNMENT_COLUMNS),
            await _copy(conn, "segment_item_assignments", item_records, ITEM_ASSIGNMENT_COLUMNS),
            await _copy(conn, "token_sessions", session_records, SESSION_COLUMNS),
        ]
        memberships = len(membership_records)
        del customers, membership_records, item_records, segment_records
        started = time.perf_counter()
        await conn.execute(
            "VACUUM (ANALYZE) segments, customers, segment_customer_assignments, "
            "segment_item_assignments, token_sessions"
        )
        vacuum_seconds = time.perf_counter() - started

        started = time.perf_counter()
        by_id = {segment_ids[s]: s for s in range(len(segment_ids))}

        def active_items(shopper: Shopper, *, site_only: bool) -> list[tuple[str, str, str]]:
            wanted = ("active",) if site_only else ("active", "other-site")
            return [
                (sid, t, i)
                for sid in shopper.segment_ids
                if states[by_id[sid]] in wanted
                for t, i in items.get(by_id[sid], ())
            ]

        item_probes = [ItemsProbe(s, frozenset(active_items(s, site_only=False))) for s in shoppers[:pool]]
        tree_probes = []
        for shopper in shoppers[pool:]:
            assigned = {i for _, t, i in active_items(shopper, site_only=True) if t == "CATEGORY"}
            covered = {n for c in assigned for n in catalogue.subtree(c)}
            nodes = covered | {n for c in assigned for n in catalogue.ancestors(c)}
            tree_probes.append(TreeProbe(shopper, frozenset(assigned), frozenset(nodes), frozenset(covered)))
        active = [s for s in range(len(states)) if states[s] == "active"]
        matches = await match_probes(
            conn,
            rng,
            pool=pool,
            segment_ids=segment_ids,
            active=active,
            not_active=[s for s in range(len(states)) if states[s] != "active"],
            items=items,
            published=catalogue.published,
        )
        leaf_filters, subtree_filters = category_filter_probes(
            rng, pool=pool, segment_ids=segment_ids, active=active, items=items, catalogue=catalogue
        )
        probe_seconds = time.perf_counter() - started
    finally:
        await conn.close()
    category_items = sum(1 for segment in items.values() for t, _ in segment if t == "CATEGORY")
    return StorefrontLoadResult(
        copies=copies,
        generate_seconds=generate_seconds,
        vacuum_seconds=vacuum_seconds,
        probe_seconds=probe_seconds,
        states=dict(Counter(states)),
        customers=volumes.customers,
        memberships=memberships,
        category_items=category_items,
        items=item_probes,
        trees=tree_probes,
        matches=matches,
        category_filters=leaf_filters,
        subtree_filters=subtree_filters,
    )


def lines(result: StorefrontLoadResult) -> list[str]:
    """The storefront dataset and one line per COPY, for the report."""
    states = result.states
    item_rows = next((c.rows for c in result.copies if c.table == "segment_item_assignments"), 0)
    out = [
        f"storefront: {sum(states.values()):,} segments ({states.get('active', 0):,} active on {SITE}, "
        f"{states.get('inactive', 0):,} INACTIVE, {states.get('expired', 0):,} expired, "
        f"{states.get('future', 0):,} not valid yet, {states.get('other-site', 0):,} on other sites); "
        f"{result.customers:,} customers ({B2B_SHARE:.0%} B2B) with {result.memberships:,} memberships "
        f"({result.memberships / max(1, result.customers):.1f} each); {item_rows:,} item assignments "
        f"({result.category_items / max(1, item_rows):.0%} of them categories); generated in "
        f"{result.generate_seconds:.1f} s"
    ]
    out += [
        f"COPY {s.table}: {s.rows:,} rows in {s.seconds:.2f} s = {s.rows_per_second:,.0f} rows/s" for s in result.copies
    ]
    out.append(
        f"(every index and foreign key in place) VACUUM (ANALYZE) {result.vacuum_seconds:.2f} s; the "
        f"scenarios' requests and expected answers built in {result.probe_seconds:.1f} s; the storefront "
        f"dataset took {result.load_seconds:.0f} s in all"
    )
    return out
