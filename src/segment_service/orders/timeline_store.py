"""Purchase timelines (docs/orders.md#purchase-facts): per customer overall ('') and per legal entity, the times of
its counted orders in order and the running total of their totals (migration 0016). A purchase condition that
filters by nothing but a window ("count / total / first / last of the last D", the tenant's counted statuses, any
site and currency, no product or category) is answered from one row per customer: the orders before the window are
`width_bucket` of its start (a binary search), the rest are in it, and their total is the difference of two running
totals. Kept by orders/facts_store.py with the summaries, in the transaction that changed the orders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from segment_service.core.db import Connection
from segment_service.core.listing import Criteria

# Each order counts once for the customer overall ('') and once for its legal entity, when it has one; ties in time
# are ordered by id so that a rebuild makes the same arrays.
_SELECT = """
SELECT t.tenant, t.customer_id, t.legal_entity_id, array_agg(t.created_at ORDER BY t.created_at, t.id),
       array_agg(t.running ORDER BY t.created_at, t.id)
FROM (
    SELECT o.tenant, o.customer_id, le.id AS legal_entity_id, o.created_at, o.id,
           sum(o.total) OVER (PARTITION BY o.customer_id, le.id ORDER BY o.created_at, o.id
                              ROWS UNBOUNDED PRECEDING) AS running
    FROM orders o
    CROSS JOIN LATERAL (VALUES (''), (o.legal_entity_id)) AS le(id)
    WHERE o.tenant = $1 AND o.customer_id IS NOT NULL AND le.id IS NOT NULL AND o.status = ANY({counted}){more}
) t
GROUP BY t.tenant, t.customer_id, t.legal_entity_id
"""
_DELETE_CUSTOMERS = "DELETE FROM purchase_timelines WHERE tenant = $1 AND customer_id = ANY($2::text[])"
_INSERT = "INSERT INTO purchase_timelines (tenant, customer_id, legal_entity_id, order_times, running_totals) "


async def rebuild(
    conn: Connection, tenant: str, customer_ids: Sequence[str] | None, counted: str, default: Sequence[str]
) -> None:
    """Make the timelines of `customer_ids` (None: every customer of the tenant) what their orders say now; `counted`
    is the SQL of the tenant's counted statuses with `default` bound as $3 (with customers) or $2 (without)."""
    if customer_ids is None:
        await conn.execute("DELETE FROM purchase_timelines WHERE tenant = $1", tenant)
        await conn.execute(_INSERT + _SELECT.format(counted=counted, more=""), tenant, list(default))
        return
    ids = list(customer_ids)
    await conn.execute(_DELETE_CUSTOMERS, tenant, ids)
    more = " AND o.customer_id = ANY($2::text[])"
    await conn.execute(_INSERT + _SELECT.format(counted=counted, more=more), tenant, ids, list(default))


def aggregate_sql(since: datetime | None, criteria: Criteria, *, per_legal_entity: bool, customers: str | None) -> str:
    """A subquery over the tenant's timelines ($1) with the columns of orders/facts_store.py `per_customer_sql`
    (`customer_id`[, `legal_entity_id`], `count`, `total`, `first_order_at`, `last_order_at`): one row per customer
    (per customer and legal entity) with a counted order since `since` (None: ever)."""
    # Orders before `since` are those at or before the microsecond before it (timestamps have microseconds).
    start = None if since is None else f"{criteria.bind(since)}::timestamptz - interval '1 microsecond'"
    before = "0" if start is None else f"width_bucket({start}, t.order_times)"
    where = ["t.tenant = $1", "t.legal_entity_id <> ''" if per_legal_entity else "t.legal_entity_id = ''"]
    if customers is not None:
        where.append(f"t.customer_id IN (SELECT unnest({customers}))")
    keys = "t.customer_id, t.legal_entity_id" if per_legal_entity else "t.customer_id"
    # Not fenced (OFFSET 0 would narrow what a join sorts after it, but keep a rule explained for one customer from
    # reaching its row by the primary key).
    return (
        f"SELECT {keys}, cardinality(t.order_times) - b.k AS count,"
        " t.running_totals[cardinality(t.order_times)] - coalesce(t.running_totals[b.k], 0) AS total,"
        " t.order_times[b.k + 1] AS first_order_at, t.order_times[cardinality(t.order_times)] AS last_order_at"
        f" FROM purchase_timelines t CROSS JOIN LATERAL (SELECT {before} AS k) b"
        f" WHERE {' AND '.join(where)} AND cardinality(t.order_times) > b.k"
    )
