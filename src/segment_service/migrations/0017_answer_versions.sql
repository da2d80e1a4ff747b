-- Versions of what the storefront's cached answers are made of (docs/answers.md): one row per segment (scope = its
-- id) and one per tenant's catalogue (scope = '': categories, their closure, category assignments, products). Every
-- write that can change such an answer adds 1 to the version of what it changed, in its own transaction; a cached
-- answer is used only while the versions it was made from are still the ones the database holds. A scope without a
-- row has version 0. Rows are small and updated in place (HOT), hence the fillfactor.
CREATE TABLE answer_versions (
    tenant   text NOT NULL,
    scope    text NOT NULL,
    version  bigint NOT NULL,
    CONSTRAINT answer_versions_pkey PRIMARY KEY (tenant, scope)
) WITH (fillfactor = 50);
