-- Storefront sessions: anonymous and customer tokens belong to a session, which refresh keeps and logout ends.
-- Storefront API clients are public: a client_id without a secret.

ALTER TABLE api_clients ADD COLUMN kind text NOT NULL DEFAULT 'service'
    CONSTRAINT api_clients_kind_check CHECK (kind IN ('service', 'storefront'));
ALTER TABLE api_clients ALTER COLUMN secret_hash DROP NOT NULL;

CREATE TABLE token_sessions (
    tenant              text NOT NULL,
    id                  text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('anonymous', 'customer')),
    client_id           text,
    customer_id         text,
    legal_entity_id     text,
    context             jsonb,
    refresh_hash        text NOT NULL,
    refresh_expires_at  timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    ended_at            timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT token_sessions_pkey PRIMARY KEY (tenant, id)
);
-- Refresh requests name only the refresh token.
CREATE UNIQUE INDEX token_sessions_refresh_key ON token_sessions (refresh_hash);
-- A password change or a deletion ends all of a customer's sessions.
CREATE INDEX token_sessions_customer_idx ON token_sessions (tenant, customer_id) WHERE customer_id IS NOT NULL;
-- Ended sessions are purged a few at a time.
CREATE INDEX token_sessions_expires_idx ON token_sessions (expires_at);
