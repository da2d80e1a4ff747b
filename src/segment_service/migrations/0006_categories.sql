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
