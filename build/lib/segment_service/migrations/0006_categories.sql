-- Categories and their hierarchy (category.yml). The closure table holds every (ancestor, descendant) pair,
-- depth 0 for a category itself, so that subtree and ancestor questions are one indexed query at any depth.

CREATE TABLE categories (
    tenant                 text NOT NULL,
    id                     text NOT NULL,
    parent_id              text,
    type                   text NOT NULL DEFAULT 'STANDARD' CHECK (type IN ('STANDARD', 'CLASSIFICATION')),
    code                   text,
    localized_name         jsonb NOT NULL,
    localized_description  jsonb,
    localized_slug         jsonb,
    ecn                    text[] NOT NULL DEFAULT '{}',
    valid_from             timestamptz,
    valid_to               timestamptz,
    position               integer,
    published              boolean NOT NULL,
    mixins                 jsonb,
    metadata_mixins        jsonb,
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    modified_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_pkey PRIMARY KEY (tenant, id),
    CONSTRAINT categories_parent_fkey FOREIGN KEY (tenant, parent_id) REFERENCES categories (tenant, id),
    CONSTRAINT categories_not_own_parent CHECK (parent_id IS DISTINCT FROM id)
);
-- Children of a category in tree order (position, then id).
CREATE INDEX categories_children_idx ON categories (tenant, parent_id, position, id);

CREATE TABLE category_closure (
    tenant         text NOT NULL,
    ancestor_id    text NOT NULL,
    descendant_id  text NOT NULL,
    depth          integer NOT NULL CHECK (depth >= 0),
    CONSTRAINT category_closure_pkey PRIMARY KEY (tenant, ancestor_id, descendant_id),
    CONSTRAINT category_closure_ancestor_fkey FOREIGN KEY (tenant, ancestor_id)
        REFERENCES categories (tenant, id) ON DELETE CASCADE,
    CONSTRAINT category_closure_descendant_fkey FOREIGN KEY (tenant, descendant_id)
        REFERENCES categories (tenant, id) ON DELETE CASCADE
);
-- The ancestors of a category, nearest first.
CREATE INDEX category_closure_descendant_idx ON category_closure (tenant, descendant_id, depth);

-- The descendants of a category by depth (subcategories with `depth`); the primary key already serves "all
-- descendants of X", this one keeps depth-bounded reads on the index.
CREATE INDEX category_closure_ancestor_depth_idx ON category_closure (tenant, ancestor_id, depth);

-- Codes are unique per tenant regardless of case, because the `code` list filter matches case-insensitively.
CREATE UNIQUE INDEX categories_code_key ON categories (tenant, lower(code)) WHERE code IS NOT NULL;
-- Root categories (`showRoots=true`, category trees).
CREATE INDEX categories_roots_idx ON categories (tenant, id) WHERE parent_id IS NULL;

-- Each external category number belongs to at most one category of a tenant. `categories.ecn` keeps the list in the
-- client's order for reads; this table enforces the uniqueness and serves the `ecn` filter.
CREATE TABLE category_ecns (
    tenant       text NOT NULL,
    ecn          text NOT NULL,
    category_id  text NOT NULL,
    CONSTRAINT category_ecns_pkey PRIMARY KEY (tenant, ecn),
    CONSTRAINT category_ecns_category_fkey FOREIGN KEY (tenant, category_id)
        REFERENCES categories (tenant, id) ON DELETE CASCADE
);
CREATE INDEX category_ecns_category_idx ON category_ecns (tenant, category_id);
