-- Foundation: signing keys, API clients, segments and the assignment tables that segment deletion checks.
-- Every primary key starts with tenant (architecture: tables can be distributed by tenant without query changes).

CREATE TABLE service_keys (
    name        text PRIMARY KEY,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_clients (
    client_id    text PRIMARY KEY,
    tenant       text NOT NULL,
    name         text NOT NULL DEFAULT '',
    secret_hash  text NOT NULL,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_clients_tenant_idx ON api_clients (tenant);

CREATE TABLE segments (
    tenant           text NOT NULL,
    id               text NOT NULL,
    name             jsonb NOT NULL,
    description      jsonb,
    status           text NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    site_code        text NOT NULL,
    valid_from       timestamptz,
    valid_to         timestamptz,
    mixins           jsonb,
    metadata_mixins  jsonb,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT segments_pkey PRIMARY KEY (tenant, id)
);
-- Storefront and admin lists filter by site and status.
CREATE INDEX segments_site_status_idx ON segments (tenant, site_code, status, id);

-- legal_entity_id is '' for a B2C assignment so that it can take part in the primary key.
CREATE TABLE segment_customer_assignments (
    tenant           text NOT NULL,
    segment_id       text NOT NULL,
    customer_id      text NOT NULL,
    legal_entity_id  text NOT NULL DEFAULT '',
    assignment_type  text NOT NULL DEFAULT 'MANUAL' CHECK (assignment_type IN ('MANUAL', 'AUTOMATIC')),
    mixins           jsonb,
    metadata_mixins  jsonb,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT segment_customer_assignments_pkey PRIMARY KEY (tenant, segment_id, customer_id, legal_entity_id),
    CONSTRAINT segment_customer_assignments_segment_fkey FOREIGN KEY (tenant, segment_id)
        REFERENCES segments (tenant, id) ON DELETE CASCADE
);
CREATE INDEX segment_customer_assignments_customer_idx
    ON segment_customer_assignments (tenant, customer_id, legal_entity_id, segment_id);

CREATE TABLE segment_item_assignments (
    tenant           text NOT NULL,
    segment_id       text NOT NULL,
    item_type        text NOT NULL CHECK (item_type IN ('PRODUCT', 'CATEGORY')),
    item_id          text NOT NULL,
    mixins           jsonb,
    metadata_mixins  jsonb,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT segment_item_assignments_pkey PRIMARY KEY (tenant, segment_id, item_type, item_id),
    CONSTRAINT segment_item_assignments_segment_fkey FOREIGN KEY (tenant, segment_id)
        REFERENCES segments (tenant, id) ON DELETE CASCADE
);
CREATE INDEX segment_item_assignments_item_idx ON segment_item_assignments (tenant, item_type, item_id, segment_id);
