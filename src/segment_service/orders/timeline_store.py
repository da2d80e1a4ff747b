"""Purchase timelines (docs/orders.md#purchase-facts): per customer overall ('') and per legal entity, the times of
its counted orders in order and the running total of their totals (migration 0016). A purchase condition that
filters by nothing but a window ("count / total / first / last of the last D", the tenant's counted statuses, any
site and currency, no product or category) is answered from one row per customer: the orders before the window are
`width_bucket` of its start (a binary search), the rest are in it, and their total is the difference of two running
totals. Kept by orders/facts_store.py with the summaries, in the transaction that changed the orders."""

from __future__ import annotations

from datetime import datetime

from segment_service.core.listing import Criteria

DELETE_CUSTOMERS = "DELETE FROM purchase_timelines WHERE tenant = $1 AND customer_id = ANY($2::text[])"
DELETE_TENANT = "DELETE FROM purchase_timelines WHERE tenant = $1"


def insert_from(counted: str) -> str:
    """The INSERT of the timelines of the counted orders in `counted` (a CTE of tenant, customer_id,
    legal_entity_id, total, created_at, id: each order once for the customer overall and once for its legal entity);
    ties in time are ordered by order id, so that a rebuild makes the same arrays."""
    return f"""
INSERT INTO purchase_timelines (tenant, customer_id, legal_entity_id, order_times, running_totals)
SELECT t.tenant, t.customer_id, t.legal_entity_id, array_agg(t.created_at ORDER BY t.created_at, t.id),
       array_agg(t.running ORDER BY t.created_at, t.id)
FROM (
    SELECT c.tenant, c.customer_id, c.legal_entity_id, c.created_at, c.id,
           sum(c.total) OVER (PARTITION BY c.customer_id, c.legal_entity_id ORDER BY c.created_at, c.id
                              ROWS UNBOUNDED PRECEDING) AS running
    FROM {counted} c
) t
GROUP BY t.tenant, t.customer_id, t.legal_entity_id"""


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
