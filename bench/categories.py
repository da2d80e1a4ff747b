"""The category dataset: a five-level category tree, its closure rows, products and product-to-category assignments.

Shaped like a large shop's catalogue: 10 root departments, 10 groups under each, 10 families under each group, and
the remaining categories split over two deeper levels with an uneven fan-out (some level-3 and level-4 categories
stay leaves, others get several children), all published and named in English (German on most). Products are mostly
assigned to leaves and some to inner categories ("New in Garden"), with a skewed spread: a few categories hold many
products, most hold around a hundred. A second, smaller tenant gets the same shape, so every query has to filter on
tenant.

Everything is generated with a seeded RNG (the same rows every run, so plans and numbers stay comparable) and loaded
with one asyncpg `copy_records_to_table` per table into the migrated schema, so each COPY rate includes maintaining
that table's indexes and checking its foreign keys, as a real import would. The tables are then VACUUMed (ANALYZE
included) rather than only ANALYZEd: a million freshly inserted rows would otherwise draw autovacuum into the
measured scenarios a minute later, and leave every first reader setting hint bits; a live shop's tables are vacuumed.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import asyncpg
import msgspec

from bench.dataset import OTHER_TENANTS, TENANT
from bench.load import BenchError

#: The other tenant that gets a (smaller) category tree of its own.
OTHER_TENANT = OTHER_TENANTS[0]
#: The other tenant's volumes, as a share of the measured tenant's.
OTHER_SHARE = 0.05
#: Level sizes of the top three levels: 10 roots, 10 children each, 10 grandchildren each.
TOP_LEVELS = (10, 100, 1_000)
#: Share of the assignments that go to inner (non-leaf) categories.
INNER_SHARE = 0.15

_DEPARTMENTS = (
    ("Electronics", "Elektronik"),
    ("Home & Garden", "Haus & Garten"),
    ("Fashion", "Mode"),
    ("Sports & Outdoors", "Sport & Freizeit"),
    ("Toys & Games", "Spielwaren"),
    ("Beauty & Health", "Beauty & Gesundheit"),
    ("Food & Drinks", "Lebensmittel & Getränke"),
    ("Office Supplies", "Bürobedarf"),
    ("Automotive", "Auto & Motorrad"),
    ("Books & Media", "Bücher & Medien"),
)
_NOUNS = (
    ("Lighting", "Beleuchtung"),
    ("Furniture", "Möbel"),
    ("Accessories", "Zubehör"),
    ("Storage", "Aufbewahrung"),
    ("Tools", "Werkzeuge"),
    ("Cables", "Kabel"),
    ("Bags", "Taschen"),
    ("Shoes", "Schuhe"),
    ("Jackets", "Jacken"),
    ("Watches", "Uhren"),
    ("Cameras", "Kameras"),
    ("Headphones", "Kopfhörer"),
    ("Speakers", "Lautsprecher"),
    ("Cookware", "Kochgeschirr"),
    ("Textiles", "Textilien"),
    ("Decoration", "Dekoration"),
    ("Plants", "Pflanzen"),
    ("Bicycles", "Fahrräder"),
    ("Tents", "Zelte"),
    ("Puzzles", "Puzzles"),
    ("Cosmetics", "Kosmetik"),
    ("Snacks", "Snacks"),
    ("Coffee & Tea", "Kaffee & Tee"),
    ("Paper", "Papier"),
    ("Pens", "Stifte"),
    ("Tyres", "Reifen"),
    ("Spare Parts", "Ersatzteile"),
    ("Novels", "Romane"),
    ("Films", "Filme"),
    ("Games", "Spiele"),
)
# German qualifiers form compounds ("Gartenmöbel"), or hyphenated ones where the noun would make a clumsy compound.
_QUALIFIERS = (
    ("Outdoor", "Outdoor"),
    ("Kids'", "Kinder"),
    ("Professional", "Profi"),
    ("Smart", "Smart"),
    ("Vintage", "Vintage"),
    ("Travel", "Reise"),
    ("Garden", "Garten"),
    ("Kitchen", "Küchen"),
    ("Wireless", "Funk"),
    ("Eco", "Öko"),
    ("Winter", "Winter"),
    ("Summer", "Sommer"),
)
_PRODUCT_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Essential", "Ultra", "Pro", "Mini", "Max", "Basic", "Premium")

CATEGORY_COLUMNS = (
    "tenant",
    "id",
    "parent_id",
    "type",
    "code",
    "localized_name",
    "localized_slug",
    "position",
    "published",
    "version",
    "created_at",
    "modified_at",
)
CLOSURE_COLUMNS = ("tenant", "ancestor_id", "descendant_id", "depth")
PRODUCT_COLUMNS = ("tenant", "id", "code", "name", "description", "published", "version", "created_at", "modified_at")

_encode = msgspec.json.Encoder().encode


def _json(value: Any) -> str:
    # COPY goes through asyncpg's built-in binary jsonb codec, which takes JSON text.
    return _encode(value).decode()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Volumes:
    """How many rows of each kind the measured tenant gets."""

    categories: int
    products: int
    assignments: int


#: What a full run loads (--quick loads a tenth of the products and assignments, a fifth of the categories).
DEFAULT_VOLUMES = Volumes(categories=10_000, products=100_000, assignments=1_000_000)


def level_sizes(categories: int) -> list[int]:
    """Categories per level: 10 / 100 / 1,000 while they last, the rest split evenly over levels 4 and 5."""
    sizes, remaining = [], categories
    for target in TOP_LEVELS:
        take = min(target, remaining)
        if take:
            sizes.append(take)
        remaining -= take
    if remaining:
        sizes += [remaining - remaining // 2, remaining // 2] if remaining > 1 else [remaining]
    return sizes


@dataclass(slots=True)
class Tree:
    """One tenant's generated tree: rows to COPY plus what the scenarios and the sanity check need to know."""

    categories: list[tuple[Any, ...]] = field(default_factory=list)
    closure: list[tuple[Any, ...]] = field(default_factory=list)
    levels: list[list[str]] = field(default_factory=list)
    parent: dict[str, str | None] = field(default_factory=dict)
    leaves: list[str] = field(default_factory=list)
    inner: list[str] = field(default_factory=list)

    def ancestors(self, category_id: str) -> list[str]:
        """`category_id` itself, then its parent, up to its root."""
        chain: list[str] = []
        current: str | None = category_id
        while current is not None:
            chain.append(current)
            current = self.parent[current]
        return chain


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID string from the seeded RNG (category and assignment ids are UUIDs in Emporix's examples).

    Formatted by hand: twice as fast as str(uuid.UUID(...)), which counts at a million assignments."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _category_name(rng: random.Random, level: int, index: int) -> tuple[dict[str, str], dict[str, str]]:
    """(localized name, localized slug) of a category at `level` (0 = root)."""
    if level == 0:
        en, de = _DEPARTMENTS[index % len(_DEPARTMENTS)]
        if index >= len(_DEPARTMENTS):
            en, de = f"{en} {index // len(_DEPARTMENTS) + 1}", f"{de} {index // len(_DEPARTMENTS) + 1}"
    else:
        noun_en, noun_de = rng.choice(_NOUNS)
        if level == 1:
            en, de = noun_en, noun_de
        else:
            qualifier_en, qualifier_de = rng.choice(_QUALIFIERS)
            compound = " " not in noun_de and qualifier_de not in ("Outdoor", "Smart", "Vintage", "Öko")
            de = f"{qualifier_de}{noun_de.lower()}" if compound else f"{qualifier_de}-{noun_de}"
            en = f"{qualifier_en} {noun_en}"
            if level >= 3:  # deep levels repeat names across branches; shops number them apart
                series = rng.randrange(1, 100)
                en, de = f"{en} {series}", f"{de} {series}"
    name = {"en": en}
    slug = {"en": _slug(en)}
    if rng.random() < 0.8:
        name["de"], slug["de"] = de, _slug(de.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue"))
    return name, slug


def generate_tree(rng: random.Random, tenant: str, categories: int, now: datetime) -> Tree:
    """A tree of `categories` categories (see level_sizes) with its closure rows, depth 0 included."""
    tree = Tree()
    sizes = level_sizes(categories)
    children: dict[str, int] = Counter()
    code_number = 0
    for level, size in enumerate(sizes):
        ids = [_uuid(rng) for _ in range(size)]
        above = tree.levels[-1] if tree.levels else []
        for index, category_id in enumerate(ids):
            if level == 0:
                parent = None
            elif level < len(TOP_LEVELS):
                parent = above[index * len(above) // size]  # an even fan-out at the top: 10 children each
            else:
                parent = rng.choice(above)  # uneven below: some get several children, some none
            tree.parent[category_id] = parent
            position = children[parent or ""]
            children[parent or ""] += 1
            name, slug = _category_name(rng, level, index)
            created = now - timedelta(seconds=rng.randrange(30 * 86_400, 3 * 365 * 86_400))
            modified = created + timedelta(seconds=rng.randrange(0, 30 * 86_400))
            code_number += 1
            tree.categories.append(
                (
                    tenant,
                    category_id,
                    parent,
                    "STANDARD",
                    f"CAT-{code_number:05d}",
                    _json(name),
                    _json(slug),
                    position,
                    True,
                    rng.randrange(1, 4),
                    created,
                    modified,
                )
            )
            for depth, ancestor in enumerate(tree.ancestors(category_id)):
                tree.closure.append((tenant, ancestor, category_id, depth))
        tree.levels.append(ids)
    tree.leaves = [c for level in tree.levels for c in level if not children[c]]
    tree.inner = [c for level in tree.levels for c in level if children[c]]
    return tree


def generate_products(rng: random.Random, tenant: str, count: int, now: datetime) -> list[tuple[Any, ...]]:
    """`count` rows of `products`, 90 % published, ids shaped like the service's (core.ids.new_id)."""
    records = []
    for number in range(count):
        adjective = rng.choice(_PRODUCT_ADJECTIVES)
        noun_en, noun_de = rng.choice(_NOUNS)
        model = rng.randrange(100, 10_000)
        name = {"en": f"{adjective} {noun_en} {model}"}
        if rng.random() < 0.7:
            name["de"] = f"{adjective} {noun_de} {model}"
        description = {"en": f"{adjective} {noun_en.lower()}, model {model}."} if rng.random() < 0.5 else None
        created = now - timedelta(seconds=rng.randrange(0, 3 * 365 * 86_400))
        modified = created + timedelta(seconds=rng.randrange(0, 90 * 86_400))
        records.append(
            (
                tenant,
                rng.randbytes(12).hex(),
                f"P{number:07d}",
                _json(name),
                None if description is None else _json(description),
                rng.random() < 0.9,
                rng.randrange(1, 6),
                created,
                modified,
            )
        )
    return records


@dataclass(slots=True)
class Assignments:
    """Generated assignments as (category_id, product_id, created_at), plus how many land on each category."""

    rows: list[tuple[str, str, datetime]]
    direct: Counter[str]


def generate_assignments(
    rng: random.Random, tree: Tree, product_ids: list[str], count: int, now: datetime
) -> Assignments:
    """`count` distinct (category, product) pairs: INNER_SHARE of them on inner categories, the rest on leaves.

    Each category gets a lognormal weight, so sizes are skewed like a real catalogue's (a few big categories, many
    around the mean) rather than all equal.
    """
    if not tree.leaves or not product_ids:
        return Assignments([], Counter())
    capacity = len(product_ids) * (len(tree.leaves) + len(tree.inner))
    if count > capacity // 2:
        raise BenchError(
            f"{count:,} assignments do not fit {len(product_ids):,} products x "
            f"{len(tree.leaves) + len(tree.inner):,} categories; ask for fewer"
        )
    groups = [(tree.leaves, count - int(count * INNER_SHARE) if tree.inner else count)]
    if tree.inner:
        groups.append((tree.inner, int(count * INNER_SHARE)))
    products = len(product_ids)
    seen: set[int] = set()  # category index * products + product index: ints keep a million keys small
    rows: list[tuple[str, str, datetime]] = []
    direct: Counter[str] = Counter()
    stamps = [now - timedelta(seconds=rng.randrange(0, 2 * 365 * 86_400)) for _ in range(4096)]
    offset = 0
    for categories, wanted in groups:
        weights = [rng.lognormvariate(0.0, 0.75) for _ in categories]
        indexes = range(len(categories))
        drawn = 0
        while drawn < wanted:
            # Draw in batches: one random.choices call per batch is far cheaper than one per assignment.
            batch = rng.choices(indexes, weights=weights, k=min(100_000, (wanted - drawn) * 11 // 10 + 16))
            for index in batch:
                product = rng.randrange(products)
                key = (offset + index) * products + product
                if key in seen:
                    continue
                seen.add(key)
                category_id = categories[index]
                rows.append((category_id, product_ids[product], rng.choice(stamps)))
                direct[category_id] += 1
                drawn += 1
                if drawn == wanted:
                    break
        offset += len(categories)
    rng.shuffle(rows)  # no key order, as years of back-office edits leave them
    return Assignments(rows, direct)


def subtree_counts(tree: Tree, direct: Counter[str]) -> Counter[str]:
    """Assignments in each category's subtree (itself included), from the direct counts."""
    totals: Counter[str] = Counter()
    for category_id, n in direct.items():
        for ancestor in tree.ancestors(category_id):
            totals[ancestor] += n
    return totals


@dataclass(frozen=True, slots=True)
class CopyStat:
    """One timed COPY."""

    table: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class CategoryLoadResult:
    """What the category load did, and the ids the scenarios draw from."""

    copies: list[CopyStat]
    vacuum_seconds: float
    """VACUUM (ANALYZE) of the four tables after the COPYs."""
    generate_seconds: float
    level_sizes: list[int]
    leaves: int
    closure_rows: int
    table_bytes: dict[str, int]
    roots: list[str]
    level2: list[str]
    leaf_sample: list[str]
    descendants: dict[str, frozenset[str]]
    """Each root's and level-2 category's subtree, to check that answers stay inside it."""
    subtree_total: dict[str, int]
    """Assignments under each root and level-2 category, itself included."""
    direct_total: dict[str, int]
    """Assignments directly on each sampled leaf."""

    def mean_subtree(self, ids: list[str]) -> float:
        return sum(self.subtree_total[i] for i in ids) / len(ids) if ids else 0.0


#: The values the bench can give a category_assignments column, by the column names it may have; a column that is
#: not listed is left to the database when it has a default or takes NULL, and stops the run (naming it) otherwise.
_ASSIGNMENT_SOURCES = ("tenant", "id", "category_id", "product_id", "created_at", "type", "version")
_ASSIGNMENT_COLUMN_SOURCE = {
    "tenant": "tenant",
    "id": "id",
    "category_id": "category_id",
    "product_id": "product_id",
    "ref_id": "product_id",
    "reference_id": "product_id",
    "created_at": "created_at",
    "modified_at": "created_at",
    "type": "type",
    "ref_type": "type",
    "reference_type": "type",
    "assignment_type": "type",
    "version": "version",
}


async def _assignment_columns(conn: asyncpg.Connection) -> tuple[str, ...]:
    """The columns of category_assignments the bench fills, read from the migrated schema."""
    rows = await conn.fetch(
        "SELECT column_name, is_nullable = 'YES' AS nullable, column_default IS NOT NULL AS has_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = "
        "'category_assignments' ORDER BY ordinal_position"
    )
    if not rows:
        raise BenchError(
            "The migrations created no category_assignments table: the category service is not there "
            "yet. Run with --skip-categories."
        )
    columns = []
    for r in rows:
        if r["column_name"] in _ASSIGNMENT_COLUMN_SOURCE:
            columns.append(r["column_name"])
        elif not (r["nullable"] or r["has_default"]):
            raise BenchError(
                f"bench/categories.py does not know how to fill category_assignments."
                f"{r['column_name']} (NOT NULL, no default); add it to _ASSIGNMENT_COLUMN_SOURCE"
            )
    return tuple(columns)


def _assignment_records(
    tenant: str, assignments: Assignments, columns: tuple[str, ...], rng: random.Random
) -> list[tuple[Any, ...]]:
    """COPY records in `columns` order; itemgetter projects each full row in C, which matters at a million rows."""
    project = itemgetter(*(_ASSIGNMENT_SOURCES.index(_ASSIGNMENT_COLUMN_SOURCE[c]) for c in columns))
    records = []
    for category_id, product_id, created_at in assignments.rows:
        full = (tenant, _uuid(rng), category_id, product_id, created_at, "PRODUCT", 1)
        records.append(project(full) if len(columns) > 1 else (project(full),))
    return records


async def _copy(
    conn: asyncpg.Connection, table: str, records: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> CopyStat:
    started = time.perf_counter()
    await conn.copy_records_to_table(table, records=records, columns=columns)
    return CopyStat(table, len(records), time.perf_counter() - started)


async def load(dsn: str, volumes: Volumes, *, seed: int = 20_240_601, leaf_sample: int = 1_000) -> CategoryLoadResult:
    """Generate both tenants' trees, products and assignments, COPY them into the migrated database (categories,
    closure, products, assignments: the order the foreign keys need), then VACUUM (ANALYZE) the four tables."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    tenants = (
        (TENANT, volumes),
        (
            OTHER_TENANT,
            Volumes(
                categories=max(1, int(volumes.categories * OTHER_SHARE)),
                products=max(1, int(volumes.products * OTHER_SHARE)),
                assignments=int(volumes.assignments * OTHER_SHARE),
            ),
        ),
    )
    trees: dict[str, Tree] = {}
    products: dict[str, list[tuple[Any, ...]]] = {}
    assignments: dict[str, Assignments] = {}
    for tenant, v in tenants:
        trees[tenant] = generate_tree(rng, tenant, v.categories, now)
        products[tenant] = generate_products(rng, tenant, v.products, now)
        assignments[tenant] = generate_assignments(
            rng, trees[tenant], [p[1] for p in products[tenant]], v.assignments, now
        )
    conn = await asyncpg.connect(dsn)
    try:
        columns = await _assignment_columns(conn)
        assignment_records = [r for t, _ in tenants for r in _assignment_records(t, assignments[t], columns, rng)]
        category_records = [r for t, _ in tenants for r in trees[t].categories]
        closure_records = [r for t, _ in tenants for r in trees[t].closure]
        product_records = [r for t, _ in tenants for r in products[t]]
        # Inserted in no key order, like the segments: shuffle across tenants too.
        for records in (category_records, closure_records, product_records, assignment_records):
            rng.shuffle(records)
        generate_seconds = time.perf_counter() - started
        copies = [
            await _copy(conn, "categories", category_records, CATEGORY_COLUMNS),
            await _copy(conn, "category_closure", closure_records, CLOSURE_COLUMNS),
            await _copy(conn, "products", product_records, PRODUCT_COLUMNS),
            await _copy(conn, "category_assignments", assignment_records, columns),
        ]
        del category_records, closure_records, product_records, assignment_records  # a million tuples: free them
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) categories, category_closure, products, category_assignments")
        vacuum_seconds = time.perf_counter() - started
        sizes = {
            t: int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t))
            for t in ("categories", "category_closure", "products", "category_assignments")
        }
    finally:
        await conn.close()

    tree = trees[TENANT]
    totals = subtree_counts(tree, assignments[TENANT].direct)
    roots = tree.levels[0]
    level2 = tree.levels[1] if len(tree.levels) > 1 else []
    descendants: dict[str, set[str]] = {c: set() for c in [*roots, *level2]}
    for ancestor, descendant in ((r[1], r[2]) for r in tree.closure):
        if ancestor in descendants:
            descendants[ancestor].add(descendant)
    direct = assignments[TENANT].direct
    # Leaves that have assignments at all: a storefront links only to categories with something in them.
    leaves = [c for c in tree.leaves if direct[c]]
    sample = random.Random(seed + 1).sample(leaves, min(leaf_sample, len(leaves)))
    return CategoryLoadResult(
        copies=copies,
        vacuum_seconds=vacuum_seconds,
        generate_seconds=generate_seconds,
        level_sizes=[len(level) for level in tree.levels],
        leaves=len(tree.leaves),
        closure_rows=len(tree.closure),
        table_bytes=sizes,
        roots=roots,
        level2=level2,
        leaf_sample=sample,
        descendants={k: frozenset(v) for k, v in descendants.items()},
        subtree_total={c: totals[c] for c in [*roots, *level2]},
        direct_total={c: direct[c] for c in sample},
    )
