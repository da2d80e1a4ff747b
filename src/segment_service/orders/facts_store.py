"""Purchase-fact SQL (docs/orders.md#purchase-facts): keeping the summaries of changed customers, and reading "how
many / how much / when, within a window, of a product, a category subtree, a site, some statuses" for one customer
(an index range read over its orders) or for every customer of the tenant (one set-based statement; a product or a
category is found through the GIN index over the orders' product ids). What an order bought is its own entry arrays
(product ids and gross amounts, side by side), so line facts need no table of their own.

Summaries are rebuilt from the orders, never patched by deltas: a rebuild is right whatever happened before it. Rebuilds
of one customer's summaries are serialised by a transaction-scoped advisory lock per customer, taken after the
order rows are written and in sorted order (so two writers never wait on each other in a cycle); a change of the
tenant's counted statuses takes the tenant's lock exclusively, every other rebuild shares it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.listing import Criteria
from segment_service.orders import timeline_store

#: Advisory-lock classes (the first key of the two-key form): the tenant's facts, one customer's facts.
_TENANT_LOCK = 7_412_400
_CUSTOMER_LOCK = 7_412_401
#: Counted when a tenant has configured nothing: every status but DECLINED.
DEFAULT_COUNTED = ("IN_CHECKOUT", "CREATED", "CONFIRMED", "SHIPPED", "COMPLETED")


def _counted(default: str) -> str:
    """The tenant's counted statuses ($1 is the tenant), `default` (a text[] placeholder) when it set none."""
    return f"coalesce((SELECT s.counted_statuses FROM purchase_settings s WHERE s.tenant = $1), {default}::text[])"


_LOCK_TENANT_SHARED = "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))"
_LOCK_TENANT = "SELECT pg_advisory_xact_lock($1, hashtext($2))"
_LOCK_CUSTOMERS = """
SELECT pg_advisory_xact_lock($1, hashtext($2 || ':' || s.c))
FROM (SELECT DISTINCT c FROM unnest($3::text[]) AS u(c) ORDER BY c) s
"""

_DELETE_SUMMARIES = "DELETE FROM purchase_summaries WHERE tenant = $1 AND customer_id = ANY($2::text[])"

# Each counted order once for the customer overall ('') and once for its legal entity, when it has one: read once,
# for the summaries and the timelines (orders/timeline_store.py) in one statement.
_COUNTED = """
SELECT o.tenant, o.customer_id, le.id AS legal_entity_id, o.currency, o.total, o.created_at, o.id
FROM orders o
CROSS JOIN LATERAL (VALUES (''), (o.legal_entity_id)) AS le(id)
WHERE o.tenant = $1 AND o.customer_id IS NOT NULL AND le.id IS NOT NULL AND o.status = ANY({counted}){more}
"""
_INSERT_SUMMARIES = """
INSERT INTO purchase_summaries
    (tenant, customer_id, legal_entity_id, currency, order_count, total, first_order_at, last_order_at)
SELECT c.tenant, c.customer_id, c.legal_entity_id, c.currency, count(*), sum(c.total), min(c.created_at),
       max(c.created_at)
FROM counted c GROUP BY c.tenant, c.customer_id, c.legal_entity_id, c.currency"""


def _facts_sql(counted: str, more: str) -> str:
    return (
        f"WITH counted AS MATERIALIZED ({_COUNTED.format(counted=counted, more=more)}),"
        f" summaries AS ({_INSERT_SUMMARIES}) {timeline_store.insert_from('counted')}"
    )


_INSERT_FACTS = _facts_sql(_counted("$3"), " AND o.customer_id = ANY($2::text[])")
_INSERT_TENANT_FACTS = _facts_sql(_counted("$2"), "")
_DELETE_TENANT_SUMMARIES = "DELETE FROM purchase_summaries WHERE tenant = $1"

_SELECT_SETTINGS = """
SELECT counted_statuses, version, modified_at FROM purchase_settings WHERE tenant = $1
"""
_UPSERT_SETTINGS = """
INSERT INTO purchase_settings (tenant, counted_statuses, version, modified_at) VALUES ($1, $2, 1, now())
ON CONFLICT (tenant) DO UPDATE
SET counted_statuses = EXCLUDED.counted_statuses, version = purchase_settings.version + 1, modified_at = now()
"""


async def rebuild(conn: Connection, tenant: str, customer_ids: Sequence[str]) -> None:
    """Make the summaries and timelines of `customer_ids` equal to what their orders say now."""
    await conn.execute(_LOCK_TENANT_SHARED, _TENANT_LOCK, tenant)
    if customer_ids:
        await conn.execute(_LOCK_CUSTOMERS, _CUSTOMER_LOCK, tenant, list(customer_ids))
        await conn.execute(_DELETE_SUMMARIES, tenant, list(customer_ids))
        await conn.execute(timeline_store.DELETE_CUSTOMERS, tenant, list(customer_ids))
        await conn.execute(_INSERT_FACTS, tenant, list(customer_ids), list(DEFAULT_COUNTED))


class Settings(msgspec.Struct, frozen=True):
    counted_statuses: list[str]
    version: int
    modified_at: datetime | None


async def fetch_settings(conn: Connection, tenant: str) -> Settings:
    """The tenant's counted statuses (the default at version 0 when it has set none)."""
    record = await conn.fetchrow(_SELECT_SETTINGS, tenant)
    if record is None:
        return Settings(list(DEFAULT_COUNTED), 0, None)
    return Settings(list(record["counted_statuses"]), record["version"], record["modified_at"])


async def store_settings(conn: Connection, tenant: str, counted_statuses: Sequence[str]) -> None:
    """Store the tenant's counted statuses and rebuild all of its summaries and timelines with them."""
    await conn.execute(_LOCK_TENANT, _TENANT_LOCK, tenant)
    await conn.execute(_UPSERT_SETTINGS, tenant, list(counted_statuses))
    await conn.execute(_DELETE_TENANT_SUMMARIES, tenant)
    await conn.execute(timeline_store.DELETE_TENANT, tenant)
    await conn.execute(_INSERT_TENANT_FACTS, tenant, list(DEFAULT_COUNTED))


async def lock_settings(conn: Connection, tenant: str) -> None:
    await conn.execute(_LOCK_TENANT, _TENANT_LOCK, tenant)


# ------------------------------------------------------------------------------------------------------- reads


class Measures(msgspec.Struct, frozen=True):
    """What a customer's matching purchases add up to: distinct orders, gross total, first and last order time."""

    count: int
    total: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    """Which purchases count: placed since `since`, in `statuses` (None: the tenant's counted ones), on a site, in a
    currency, of a product, of a category's subtree (through the current catalogue)."""

    since: datetime | None = None
    statuses: tuple[str, ...] | None = None
    site_code: str | None = None
    currency: str | None = None
    product_id: str | None = None
    category_id: str | None = None

    @property
    def by_line(self) -> bool:
        return self.product_id is not None or self.category_id is not None

    @property
    def window_only(self) -> bool:
        """Counted statuses, any site and currency, no product or category: the purchase timelines answer it."""
        return self.statuses is None and self.site_code is None and self.currency is None and not self.by_line

    @property
    def all_time(self) -> bool:
        return self.since is None and self.statuses is None and self.site_code is None and not self.by_line


class SummaryRow(msgspec.Struct, frozen=True):
    customer_id: str
    legal_entity_id: str
    currency: str
    order_count: int
    total: Decimal
    first_order_at: datetime
    last_order_at: datetime


def _entry_condition(f: Filter, criteria: Criteria) -> str | None:
    """What an entry `u.product_id` must be to count with a product or category filter (None: every entry counts)."""
    conditions = []
    if f.product_id is not None:
        conditions.append(f"u.product_id = {criteria.bind(f.product_id)}")
    if f.category_id is not None:
        # Uncorrelated: PostgreSQL runs it once and probes a hash of the subtree's products per entry.
        conditions.append(f"u.product_id IN (SELECT ca.product_id {_subtree_products(criteria, f.category_id)})")
    return " AND ".join(conditions) or None


def _subtree_products(criteria: Criteria, category_id: str) -> str:
    category = criteria.bind(category_id)
    return (
        "FROM category_closure cc JOIN category_assignments ca"
        " ON ca.tenant = cc.tenant AND ca.category_id = cc.descendant_id"
        f" WHERE cc.tenant = $1 AND cc.ancestor_id = {category}"
    )


def _where(f: Filter, criteria: Criteria) -> None:
    """The filter's conditions on the orders `p`; an order with a product or category filter must also have a
    matching entry (the GIN index finds the candidates, `m.entries` of `_source` decides)."""
    if f.since is not None:
        criteria.where(f"p.created_at >= {criteria.bind(f.since)}")
    if f.statuses is not None:
        criteria.where(f"p.status = ANY({criteria.bind(list(f.statuses))}::text[])")
    else:
        criteria.where(f"p.status = ANY({_counted(criteria.bind(list(DEFAULT_COUNTED)))})")
    if f.site_code is not None:
        criteria.where(f"p.site_code = {criteria.bind(f.site_code)}")
    if f.currency is not None:
        criteria.where(f"p.currency = {criteria.bind(f.currency)}")
    if f.product_id is not None:
        criteria.where(f"p.product_ids @> ARRAY[{criteria.bind(f.product_id)}::text]")
    if f.category_id is not None:
        criteria.where(
            "p.product_ids && (SELECT coalesce(array_agg(DISTINCT ca.product_id), '{}')"
            f" {_subtree_products(criteria, f.category_id)})"
        )
    if f.by_line:
        criteria.where("m.entries > 0")


def _source(f: Filter, criteria: Criteria) -> str:
    """The orders `p`, with a product or category filter each joined to what its matching entries add up to."""
    condition = _entry_condition(f, criteria)
    if condition is None:
        return "orders p"
    return (
        "orders p CROSS JOIN LATERAL (SELECT count(*) AS entries, coalesce(sum(u.amount), 0) AS amount"
        f" FROM unnest(p.product_ids, p.amounts) AS u(product_id, amount) WHERE {condition}) m"
    )


def _aggregates(f: Filter) -> str:
    """Orders counted once each; the total is the order total, or with a product or category filter what the
    matching entries of the order cost."""
    amount = "m.amount" if f.by_line else "p.total"
    return f"count(*), coalesce(sum({amount}), 0), min(p.created_at), max(p.created_at)"


def _measures(record: asyncpg.Record | None, offset: int = 0) -> Measures:
    assert record is not None  # an aggregate without GROUP BY always returns one row
    return Measures(int(record[offset] or 0), Decimal(record[offset + 1] or 0), record[offset + 2], record[offset + 3])


async def measure(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str | None, f: Filter) -> Measures:
    """One customer's (in a legal entity's context: its orders for that entity) matching purchases: one statement on
    the customer's index range (all-time figures: its summary rows)."""
    if f.all_time:
        criteria = Criteria(tenant, customer_id)
        criteria.where("p.tenant = $1 AND p.customer_id = $2")
        criteria.where(f"p.legal_entity_id = {criteria.bind(legal_entity_id or '')}")
        if f.currency is not None:
            criteria.where(f"p.currency = {criteria.bind(f.currency)}")
        sql = (
            "SELECT coalesce(sum(p.order_count), 0), coalesce(sum(p.total), 0), min(p.first_order_at),"
            f" max(p.last_order_at) FROM purchase_summaries p WHERE {criteria.sql}"
        )
        return _measures(await conn.fetchrow(sql, *criteria.values))
    criteria = Criteria(tenant, customer_id)
    criteria.where("p.tenant = $1 AND p.customer_id = $2")
    if legal_entity_id is not None:
        criteria.where(f"coalesce(p.legal_entity_id, '') = {criteria.bind(legal_entity_id)}")
    source = _source(f, criteria)
    _where(f, criteria)
    sql = f"SELECT {_aggregates(f)} FROM {source} WHERE {criteria.sql}"
    return _measures(await conn.fetchrow(sql, *criteria.values))


async def measure_all(
    conn: Connection, tenant: str, f: Filter, *, per_legal_entity: bool
) -> list[tuple[str, str | None, Measures]]:
    """Every customer with a matching purchase (per legal entity: every customer and legal entity with one), in one
    statement: (customer id, legal entity id or None, measures)."""
    criteria = Criteria(tenant)
    criteria.where("p.tenant = $1 AND p.customer_id IS NOT NULL")
    entity = "p.legal_entity_id"
    if per_legal_entity:
        criteria.where("p.legal_entity_id IS NOT NULL")
    source = _source(f, criteria)
    _where(f, criteria)
    group = f"p.customer_id, {entity}" if per_legal_entity else "p.customer_id"
    select = f"p.customer_id, {entity + ' AS legal_entity_id' if per_legal_entity else 'NULL::text'}"
    sql = f"SELECT {select}, {_aggregates(f)} FROM {source} WHERE {criteria.sql} GROUP BY {group}"
    return [(r[0], r[1], _measures(r, 2)) for r in await conn.fetch(sql, *criteria.values)]


def per_customer_sql(f: Filter, criteria: Criteria, *, per_legal_entity: bool, customers: str | None) -> str:
    """A subquery over the tenant's orders ($1 is the tenant; values bound into `criteria`): one row per customer (per
    customer and legal entity) with a matching purchase, columns `customer_id`[, `legal_entity_id`], `count`,
    `total`, `first_order_at`, `last_order_at`; `customers` (a text[] placeholder) limits it to those customers. Rule
    conditions over purchases join it (rules/compiler.py). A condition of a window alone (or of nothing) reads the
    purchase timelines instead, a row per customer (orders/timeline_store.py)."""
    if f.window_only:
        return timeline_store.aggregate_sql(f.since, criteria, per_legal_entity=per_legal_entity, customers=customers)
    inner = criteria.inner()
    inner.where("p.tenant = $1 AND p.customer_id IS NOT NULL")
    if customers is not None:
        inner.where(f"p.customer_id IN (SELECT unnest({customers}))")
    if per_legal_entity:
        inner.where("p.legal_entity_id IS NOT NULL")
    source = _source(f, inner)
    _where(f, inner)
    keys = "p.customer_id, p.legal_entity_id" if per_legal_entity else "p.customer_id"
    amount = "m.amount" if f.by_line else "p.total"
    return (
        f"SELECT {keys}, count(*) AS count, coalesce(sum({amount}), 0) AS total,"
        f" min(p.created_at) AS first_order_at, max(p.created_at) AS last_order_at"
        f" FROM {source} WHERE {inner.sql} GROUP BY {keys}"
    )


async def summaries(conn: Connection, tenant: str, customer_ids: Sequence[str] | None = None) -> list[SummaryRow]:
    """The stored summary rows (of the customers given, else of the whole tenant), in key order."""
    sql = (
        "SELECT customer_id, legal_entity_id, currency, order_count, total, first_order_at, last_order_at"
        " FROM purchase_summaries WHERE tenant = $1 AND ($2::text[] IS NULL OR customer_id = ANY($2::text[]))"
        " ORDER BY customer_id, legal_entity_id, currency"
    )
    ids = None if customer_ids is None else list(customer_ids)
    return [SummaryRow(*r) for r in await conn.fetch(sql, tenant, ids)]


class OrderFacts(msgspec.Struct, frozen=True):
    """What rules read of one order of a known customer (rules/matcher.py adds them up as `per_customer_sql` does)."""

    customer_id: str
    legal_entity_id: str | None
    status: str
    site_code: str | None
    currency: str
    total: Decimal
    created_at: datetime
    product_ids: list[str | None]
    amounts: list[Decimal | None]


async def orders_of(
    conn: Connection, tenant: str, customer_ids: Sequence[str], limit: int
) -> tuple[list[OrderFacts], list[str]]:
    """The orders of these customers (their index range; at most `limit`), and the statuses the tenant counts, in
    one statement."""
    rows = await conn.fetch(
        f"SELECT {_counted('$3')}, o.customer_id, o.legal_entity_id, o.status, o.site_code, o.currency, o.total,"
        " o.created_at, o.product_ids, o.amounts FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM orders o"
        " WHERE o.tenant = $1 AND o.customer_id = ANY($2::text[]) LIMIT $4) o ON true",
        tenant,
        list(customer_ids),
        list(DEFAULT_COUNTED),
        limit,
    )
    counted = list(rows[0][0])
    return [OrderFacts(*r[1:]) for r in rows if r[1] is not None], counted


async def subtree_products_among(
    conn: Connection, tenant: str, category_ids: Sequence[str], product_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """(category, product) for each of `product_ids` in the subtree of each of `category_ids`."""
    rows = await conn.fetch(
        "SELECT DISTINCT cc.ancestor_id, ca.product_id FROM category_closure cc JOIN category_assignments ca"
        " ON ca.tenant = cc.tenant AND ca.category_id = cc.descendant_id"
        " WHERE cc.tenant = $1 AND cc.ancestor_id = ANY($2::text[]) AND ca.product_id = ANY($3::text[])",
        tenant,
        list(category_ids),
        list(product_ids),
    )
    return [(r[0], r[1]) for r in rows]


def _order_condition(f: Filter, criteria: Criteria) -> str:
    """The filter as one boolean over an order `p` (what `_where` and `_source` ask, with the entry condition as an
    EXISTS over its entries)."""
    inner = criteria.inner()
    _where(Filter(since=f.since, statuses=f.statuses, site_code=f.site_code, currency=f.currency), inner)
    if f.product_id is not None:
        inner.where(f"p.product_ids @> ARRAY[{criteria.bind(f.product_id)}::text]")
    condition = _entry_condition(f, criteria)
    if condition is not None:
        inner.where(f"EXISTS (SELECT 1 FROM unnest(p.product_ids) AS u(product_id) WHERE {condition})")
    return inner.sql


def _products_of(f: Filter, criteria: Criteria) -> str:
    """A text[] of the products a filter with a product or a category names (a category: its subtree's)."""
    if f.category_id is not None:
        return (
            f"(SELECT coalesce(array_agg(DISTINCT ca.product_id), '{{}}') {_subtree_products(criteria, f.category_id)})"
        )
    return f"ARRAY[{criteria.bind(f.product_id)}::text]"


def shared_aggregate_sql(
    filters: Sequence[tuple[Filter, frozenset[str]]], criteria: Criteria, *, per_legal_entity: bool
) -> str:
    """One subquery over the tenant's orders ($1) for many purchase conditions at once: a row per customer (per
    customer and legal entity) with orders, and for the k-th (filter, measures) the columns `n{k}` (matching orders),
    `t{k}` (their total: the order totals, or with a product or category filter what the matching entries cost),
    `f{k}` / `l{k}` (first / last order time) of the measures asked (`count`, `total`, `firstOrderAt`,
    `lastOrderAt`). Each order's conditions are computed once, then its amounts for the conditions it meets, then
    the aggregates FILTER on them (each step fenced by OFFSET 0, so the planner does not copy a condition into every
    aggregate that reads it): one pass over the orders for all conditions, where `per_customer_sql` is one per
    condition. When every filter names a product or a category, only the orders with one of those products are read
    (the GIN index); without them, the columns read are those of the covering index orders_customer_idx. When every
    filter is of a window alone, the purchase timelines answer them all, a row per customer and no aggregate."""
    if filters and all(f.window_only for f, _ in filters):
        windows = [(f.since, measures) for f, measures in filters]
        return timeline_store.shared_sql(windows, criteria, per_legal_entity=per_legal_entity)
    keys = "p.customer_id, p.legal_entity_id" if per_legal_entity else "p.customer_id"
    matched = [keys, "p.created_at", "p.total", "p.product_ids", "p.amounts"]
    amounts = ["q0.*"]
    outer = ["q.customer_id", "q.legal_entity_id"] if per_legal_entity else ["q.customer_id"]
    for k, (f, measures) in enumerate(filters):
        matched.append(f"({_order_condition(f, criteria)}) AS m{k}")
        if "total" in measures:
            condition = _entry_condition(f, criteria)
            amount = (
                "q0.total"
                if condition is None
                else "(SELECT coalesce(sum(u.amount), 0) FROM unnest(q0.product_ids, q0.amounts)"
                f" AS u(product_id, amount) WHERE {condition})"
            )
            amounts.append(f"CASE WHEN q0.m{k} THEN {amount} END AS a{k}")
        aggregates = {
            "count": f"count(*) FILTER (WHERE q.m{k}) AS n{k}",
            "total": f"sum(q.a{k}) AS t{k}",
            "firstOrderAt": f"min(q.created_at) FILTER (WHERE q.m{k}) AS f{k}",
            "lastOrderAt": f"max(q.created_at) FILTER (WHERE q.m{k}) AS l{k}",
        }
        outer += [aggregates[m] for m in ("count", "total", "firstOrderAt", "lastOrderAt") if m in measures]
    where = "p.tenant = $1 AND p.customer_id IS NOT NULL" + (
        " AND p.legal_entity_id IS NOT NULL" if per_legal_entity else ""
    )
    if filters and all(f.by_line for f, _ in filters):
        # Only orders with one of the products can count: the GIN index over the orders' product ids finds them.
        wanted = " || ".join(_products_of(f, criteria) for f, _ in filters)
        where += f" AND p.product_ids && ({wanted})"
    group = "q.customer_id, q.legal_entity_id" if per_legal_entity else "q.customer_id"
    return (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(amounts)} FROM (SELECT {', '.join(matched)}"
        f" FROM orders p WHERE {where} OFFSET 0) q0 OFFSET 0) q GROUP BY {group}"
    )
