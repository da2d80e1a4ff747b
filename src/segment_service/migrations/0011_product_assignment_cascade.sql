-- A category assignment goes with its product as it already goes with its category: the database removes it
-- (ON DELETE CASCADE) instead of the product delete calling into the Category service (docs/events.md).
--
-- Assignments whose product is gone cannot exist through the API (assignments check the product, the product delete
-- removed them); rows written around it are removed here so that the constraint validates. The existing
-- category_assignments_product_idx (tenant, product_id, category_id) serves the cascade's lookups.
DELETE FROM category_assignments a
WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.tenant = a.tenant AND p.id = a.product_id);

ALTER TABLE category_assignments
    ADD CONSTRAINT category_assignments_product_fkey FOREIGN KEY (tenant, product_id)
        REFERENCES products (tenant, id) ON DELETE CASCADE;
