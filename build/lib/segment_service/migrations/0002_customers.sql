-- Customer Service: tenant-managed customer profiles and the credentials customers log in with.
-- The customer number and the id are one value (customer.yml shows them equal), so only `id` is stored.

CREATE TABLE customers (
    tenant              text NOT NULL,
    id                  text NOT NULL,
    contact_email       text,
    title               text,
    first_name          text,
    last_name           text,
    company             text,
    preferred_language  text,
    active              boolean NOT NULL DEFAULT true,
    mixins              jsonb,
    metadata_mixins     jsonb,
    -- argon2id hash; NULL until a password is set (by signup, or by the tenant on create).
    password_hash       text,
    -- The password was set by the tenant and not yet changed by the customer (login's `initialPassword`).
    initial_password    boolean NOT NULL DEFAULT false,
    -- Login rate limit: consecutive failed attempts, the last of them, and until when further attempts are refused.
    failed_logins       integer NOT NULL DEFAULT 0,
    last_failed_login   timestamptz,
    locked_until        timestamptz,
    last_login          timestamptz,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    modified_at         timestamptz NOT NULL,
    CONSTRAINT customers_pkey PRIMARY KEY (tenant, id)
);
-- The contact email is unique per tenant regardless of case, and it is what customers log in with.
CREATE UNIQUE INDEX customers_contact_email_key ON customers (tenant, lower(contact_email));
