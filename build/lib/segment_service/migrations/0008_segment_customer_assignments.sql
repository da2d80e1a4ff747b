-- Deleting a legal entity deletes its segment customer assignments: find them by legal entity (B2C rows have '').
CREATE INDEX segment_customer_assignments_legal_entity_idx
    ON segment_customer_assignments (tenant, legal_entity_id) WHERE legal_entity_id <> '';
