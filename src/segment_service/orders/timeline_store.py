"""Purchase timelines (docs/orders.md#purchase-facts): per customer overall ('') and per legal entity, the times of
its counted orders in order and the running total of their totals (migration 0016). A purchase condition that
filters by nothing but a window ("count / total / first / last of the last D", the tenant's counted statuses, any
site and currency, no product or category) is answered from one row per customer: the orders before the window are
`width_bucket` of its start (a binary search), the rest are in it, and their total is the difference of two running
totals. Kept by orders/facts_store.py with the summaries, in the transaction that changed the orders."""

from __future__ import annotations

from collections.abc import Sequence
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


def _before(since: datetime | None, criteria: Criteria) -> str:
    """How many of a timeline `t`'s orders are before `since` (None: none): those at or before the microsecond before
    it (timestamps have microseconds), found by binary search."""
    if since is None:
        return "0"
    return f"width_bucket({criteria.bind(since)}::timestamptz - interval '1 microsecond', t.order_times)"


def aggregate_sql(since: datetime | None, criteria: Criteria, *, per_legal_entity: bool, customers: str | None) -> str:
    """A subquery over the tenant's timelines ($1) with the columns of orders/facts_store.py `per_customer_sql`
    (`customer_id`[, `legal_entity_id`], `count`, `total`, `first_order_at`, `last_order_at`): one row per customer
    (per customer and legal entity) with a counted order since `since` (None: ever)."""
    before = _before(since, criteria)
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


def shared_sql(
    windows: Sequence[tuple[datetime | None, frozenset[str]]], criteria: Criteria, *, per_legal_entity: bool
) -> str:
    """Many window-only purchase conditions at once, over the tenant's timelines ($1): a row per customer (per
    customer and legal entity) with counted orders, and for the k-th (since, measures) the columns of
    orders/facts_store.py `shared_aggregate_sql` (`n{k}`, `t{k}`, `f{k}`, `l{k}` of the measures asked). A row whose
    window holds no order has count and total 0 and no first or last time, as an aggregate without rows has."""
    keys = "t.customer_id, t.legal_entity_id" if per_legal_entity else "t.customer_id"
    inner = [keys, "t.order_times", "t.running_totals", "cardinality(t.order_times) AS c"]
    outer = ["q.customer_id, q.legal_entity_id" if per_legal_entity else "q.customer_id"]
    for k, (since, measures) in enumerate(windows):
        inner.append(f"{_before(since, criteria)} AS k{k}")
        columns = {
            "count": f"q.c - q.k{k} AS n{k}",
            "total": f"q.running_totals[q.c] - coalesce(q.running_totals[q.k{k}], 0) AS t{k}",
            "firstOrderAt": f"q.order_times[q.k{k} + 1] AS f{k}",
            "lastOrderAt": f"CASE WHEN q.c > q.k{k} THEN q.order_times[q.c] END AS l{k}",
        }
        outer += [columns[m] for m in ("count", "total", "firstOrderAt", "lastOrderAt") if m in measures]
    where = "t.tenant = $1 AND " + ("t.legal_entity_id <> ''" if per_legal_entity else "t.legal_entity_id = ''")
    # Each window's start is searched once per row (fenced, so that the planner does not copy the search into every
    # column that reads it).
    rows = f"SELECT {', '.join(inner)} FROM purchase_timelines t WHERE {where} OFFSET 0"
    return f"SELECT {', '.join(outer)} FROM ({rows}) q"
