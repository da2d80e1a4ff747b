-- Sales orders (order.yml) and the purchase facts kept from them (docs/orders.md).
--
-- An order keeps the body it was written with (`document`) beside the columns the service reads: who, where, when,
-- how much, and its entries' product ids, quantities and gross amounts as parallel arrays. customer_id is NULL for a
-- guest order (customer id ANONYMOUS) and for an order whose customer was deleted (anonymised).

CREATE TABLE orders (
    tenant              text NOT NULL,
    id                  text NOT NULL,
    customer_id         text,
    legal_entity_id     text,
    status              text NOT NULL CHECK (status IN ('IN_CHECKOUT', 'CREATED', 'CONFIRMED', 'DECLINED', 'SHIPPED',
                                                         'COMPLETED')),
    site_code           text,
    currency            text NOT NULL,
    total               numeric NOT NULL,
    product_ids         text[] NOT NULL,
    quantities          numeric[] NOT NULL,
    amounts             numeric[] NOT NULL,
    -- [{"status": ..., "timestamp": ...}], oldest first; the first entry is the status the order was created with.
    transitions         jsonb NOT NULL,
    document            jsonb NOT NULL,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    modified_at         timestamptz NOT NULL,
    last_status_change  timestamptz NOT NULL,
    completed_at        timestamptz,
    CONSTRAINT orders_pkey PRIMARY KEY (tenant, id)
);
-- A customer's orders by date (the storefront's history, and the order-level purchase facts: an index-only read).
CREATE INDEX orders_customer_idx ON orders (tenant, customer_id, created_at)
    INCLUDE (status, site_code, currency, total, legal_entity_id) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_legal_entity_idx ON orders (tenant, legal_entity_id, created_at) WHERE legal_entity_id IS NOT NULL;
CREATE INDEX orders_created_idx ON orders (tenant, created_at);

-- One row per entry of an order of a known customer: what was bought, when, where and for how much.
-- legal_entity_id is '' for an order placed outside a legal entity.
CREATE TABLE purchase_lines (
    tenant           text NOT NULL,
    order_id         text NOT NULL,
    line_no          integer NOT NULL,
    customer_id      text NOT NULL,
    legal_entity_id  text NOT NULL,
    ordered_at       timestamptz NOT NULL,
    status           text NOT NULL,
    site_code        text,
    currency         text NOT NULL,
    product_id       text NOT NULL,
    quantity         numeric NOT NULL,
    amount           numeric NOT NULL,
    CONSTRAINT purchase_lines_pkey PRIMARY KEY (tenant, order_id, line_no)
);
CREATE INDEX purchase_lines_customer_idx ON purchase_lines (tenant, customer_id, ordered_at);
CREATE INDEX purchase_lines_product_idx ON purchase_lines (tenant, product_id, ordered_at);

-- A customer's purchases of all time in one currency, over the statuses the tenant counts: legal_entity_id '' sums
-- every order of the customer, any other value the orders placed for that legal entity.
CREATE TABLE purchase_summaries (
    tenant           text NOT NULL,
    customer_id      text NOT NULL,
    legal_entity_id  text NOT NULL,
    currency         text NOT NULL,
    order_count      bigint NOT NULL,
    total            numeric NOT NULL,
    first_order_at   timestamptz NOT NULL,
    last_order_at    timestamptz NOT NULL,
    CONSTRAINT purchase_summaries_pkey PRIMARY KEY (tenant, customer_id, legal_entity_id, currency)
);

-- Which statuses count as a purchase, per tenant; a tenant without a row counts every status but DECLINED.
CREATE TABLE purchase_settings (
    tenant            text NOT NULL,
    counted_statuses  text[] NOT NULL,
    version           integer NOT NULL DEFAULT 1,
    modified_at       timestamptz NOT NULL,
    CONSTRAINT purchase_settings_pkey PRIMARY KEY (tenant)
);
