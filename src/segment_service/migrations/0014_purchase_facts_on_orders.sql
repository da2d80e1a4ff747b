-- Line facts read from the orders' own entry arrays (docs/orders.md#purchase-facts): one row per entry cost an
-- import two thirds of its database time (three index entries per line), and the order row already holds each
-- entry's product id and gross amount. "Which customers bought product P / from category C" is answered by a GIN
-- index over the product ids of known customers' orders; "what did customer X buy" by the customer's order range.
DROP TABLE purchase_lines;
CREATE INDEX orders_products_idx ON orders USING gin (product_ids) WHERE customer_id IS NOT NULL;
