-- Product assignments of categories (category.yml, "Category Assignment Resources"; docs/categories.md).
-- A product is assigned to a category at most once; an assignment goes with its category (ON DELETE CASCADE) and
-- with its product (categories/assignments.py: delete_assignments_of_product, called by the product delete).

CREATE TABLE category_assignments (
    tenant       text NOT NULL,
    id           text NOT NULL,
    category_id  text NOT NULL,
    ref_type     text NOT NULL DEFAULT 'PRODUCT',
    product_id   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    modified_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT category_assignments_pkey PRIMARY KEY (tenant, id),
    -- The spec's `ref.type` enum holds only PRODUCT.
    CONSTRAINT category_assignments_ref_type_check CHECK (ref_type = 'PRODUCT'),
    -- One assignment per (category, product). Its index is also the paging order of "the assignments of these
    -- categories" (category, then product id): the subtree query walks category_closure in descendant order and
    -- reads each category's assignments from here already sorted, so ORDER BY ... LIMIT stops after one page.
    -- INCLUDE (id) makes that an index-only scan.
    CONSTRAINT category_assignments_product_key UNIQUE (tenant, category_id, product_id) INCLUDE (id),
    CONSTRAINT category_assignments_category_fkey FOREIGN KEY (tenant, category_id)
        REFERENCES categories (tenant, id) ON DELETE CASCADE
);
-- The categories of a product (GET/DELETE /assignments/references/{referenceId}, product deletion).
CREATE INDEX category_assignments_product_idx ON category_assignments (tenant, product_id, category_id);
