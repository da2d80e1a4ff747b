-- Purchase timelines (docs/orders.md#purchase-facts): per customer overall ('') and per legal entity, the times of
-- its counted orders in order and the running total of their totals. "How many / how much / first / last within the
-- last D" is then a binary search in one row (width_bucket), where the orders themselves are one index entry each:
-- a preview of a windowed purchase rule reads a row per customer instead of every order of the tenant. Rebuilt with
-- the purchase summaries, from the orders, in the same transaction as the write that changed them.
CREATE TABLE purchase_timelines (
    tenant           text NOT NULL,
    customer_id      text NOT NULL,
    legal_entity_id  text NOT NULL,
    order_times      timestamptz[] NOT NULL,
    running_totals   numeric[] NOT NULL,
    CONSTRAINT purchase_timelines_pkey PRIMARY KEY (tenant, customer_id, legal_entity_id)
);

INSERT INTO purchase_timelines (tenant, customer_id, legal_entity_id, order_times, running_totals)
SELECT t.tenant, t.customer_id, t.legal_entity_id, array_agg(t.created_at ORDER BY t.created_at, t.id),
       array_agg(t.running ORDER BY t.created_at, t.id)
FROM (
    SELECT o.tenant, o.customer_id, le.id AS legal_entity_id, o.created_at, o.id,
           sum(o.total) OVER (PARTITION BY o.tenant, o.customer_id, le.id ORDER BY o.created_at, o.id
                              ROWS UNBOUNDED PRECEDING) AS running
    FROM orders o
    CROSS JOIN LATERAL (VALUES (''), (o.legal_entity_id)) AS le(id)
    WHERE o.customer_id IS NOT NULL AND le.id IS NOT NULL
      AND o.status = ANY(coalesce((SELECT s.counted_statuses FROM purchase_settings s WHERE s.tenant = o.tenant),
                                  ARRAY['IN_CHECKOUT', 'CREATED', 'CONFIRMED', 'SHIPPED', 'COMPLETED']))
) t
GROUP BY t.tenant, t.customer_id, t.legal_entity_id;

-- A segment's manual members, so that a preview reads a segment's members from its primary key alone and tells the
-- manual ones by this small index (most members of a rule's segment are AUTOMATIC).
CREATE INDEX segment_customer_assignments_manual_idx
    ON segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id) WHERE assignment_type = 'MANUAL';
