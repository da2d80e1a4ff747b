-- Products: the subset of Emporix's Product Service that segments and categories refer to (docs/products.md).
-- The primary key starts with tenant, like every table's (architecture: distributable by tenant).

CREATE TABLE products (
    tenant           text NOT NULL,
    id               text NOT NULL,
    code             text NOT NULL,
    name             jsonb NOT NULL,
    description      jsonb,
    published        boolean NOT NULL DEFAULT false,
    mixins           jsonb,
    metadata_mixins  jsonb,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT products_pkey PRIMARY KEY (tenant, id),
    -- "Product with given code already exists" is a 409 (product.yml, common_response_Conflict_409).
    CONSTRAINT products_code_key UNIQUE (tenant, code)
);
-- Readers without product.product_read_unpublished (storefronts) list only published products, in id order.
CREATE INDEX products_published_idx ON products (tenant, id) WHERE published;
