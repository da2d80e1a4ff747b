-- Customer Management: legal entities (companies and their subsidiaries) and contact assignments (which customer is
-- a contact of which legal entity). Every primary key starts with tenant.

CREATE TABLE legal_entities (
    tenant           text NOT NULL,
    id               text NOT NULL,
    name             text NOT NULL,
    type             text NOT NULL CHECK (type IN ('COMPANY', 'SUBSIDIARY')),
    parent_id        text,
    -- legalInfo, accountLimit and customerGroups as the API shows them (registrationDate already normalised to UTC).
    legal_info       jsonb,
    account_limit    jsonb,
    customer_groups  jsonb,
    restrictions     jsonb,
    mixins           jsonb,
    metadata_mixins  jsonb,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT legal_entities_pkey PRIMARY KEY (tenant, id),
    -- The parent must exist; deleting a legal entity removes its subsidiaries with it (legal-entity.yml, DELETE:
    -- "removal of all other entities exclusively subordinated to the requested legal entity").
    CONSTRAINT legal_entities_parent_fkey FOREIGN KEY (tenant, parent_id)
        REFERENCES legal_entities (tenant, id) ON DELETE CASCADE,
    CONSTRAINT legal_entities_not_own_parent CHECK (parent_id IS DISTINCT FROM id)
);
-- The children of a legal entity: the cascade above and `parentId` filters.
CREATE INDEX legal_entities_parent_idx ON legal_entities (tenant, parent_id, id);

CREATE TABLE contact_assignments (
    tenant           text NOT NULL,
    id               text NOT NULL,
    legal_entity_id  text NOT NULL,
    customer_id      text NOT NULL,
    type             text NOT NULL CHECK (type IN ('PRIMARY', 'BILLING', 'LOGISTICS', 'CONTACT')),
    is_primary       boolean NOT NULL DEFAULT false,
    mixins           jsonb,
    metadata_mixins  jsonb,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT contact_assignments_pkey PRIMARY KEY (tenant, id),
    CONSTRAINT contact_assignments_legal_entity_fkey FOREIGN KEY (tenant, legal_entity_id)
        REFERENCES legal_entities (tenant, id) ON DELETE CASCADE,
    -- A customer holds each contact type of a legal entity once; it also serves "the contacts of a legal entity".
    CONSTRAINT contact_assignments_contact_key UNIQUE (tenant, legal_entity_id, customer_id, type)
);
-- "Is this customer a contact of that legal entity" and "the legal entities of this customer": one index probe.
CREATE INDEX contact_assignments_customer_idx ON contact_assignments (tenant, customer_id, legal_entity_id);
