-- Webhooks (docs/webhooks.md): the HTTP configuration, the event subscriptions, the transactional outbox and the
-- delivery log.

-- A tenant's webhook configuration; this service delivers over HTTP only, so `code` is always 'http'.
CREATE TABLE webhook_configs (
    tenant          text NOT NULL,
    code            text NOT NULL,
    active          boolean NOT NULL,
    destination_url text,
    secret_key      text,
    headers         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, code)
);

-- The configuration's `eventsConfiguration` entries, in the order they were given. NULL columns inherit from the
-- configuration (destination, secret, headers) or from the event subscription (excluded fields).
CREATE TABLE webhook_endpoints (
    tenant          text NOT NULL,
    code            text NOT NULL,
    id              uuid NOT NULL,
    position        integer NOT NULL,
    event_type      text NOT NULL,
    name            text,
    destination_url text,
    secret_key      text,
    headers         jsonb,
    filter          text,
    excluded_fields text[],
    active          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, code) REFERENCES webhook_configs (tenant, code) ON DELETE CASCADE
);
CREATE INDEX webhook_endpoints_by_type ON webhook_endpoints (tenant, event_type);

-- Event subscriptions: which catalogue events the tenant receives, and which top-level fields it left out.
CREATE TABLE webhook_subscriptions (
    tenant          text NOT NULL,
    event_type      text NOT NULL,
    subscribed      boolean NOT NULL,
    excluded_fields text[] NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, event_type)
);

-- The outbox: one row per write that published events (a bulk write's events together), written in the write's
-- transaction: the change events themselves as JSON text (the writer's cost stays that of one short insert; only
-- the relay reads it), with the payloads a small write rendered; the relay renders the others, writes every event to
-- webhook_events and removes the row (docs/webhooks.md#the-outbox).
CREATE TABLE webhook_outbox (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant          text NOT NULL,
    events          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Published events with their rendered payloads, kept with their delivery log for the retention period.
CREATE TABLE webhook_events (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    tenant          text NOT NULL,
    event_type      text NOT NULL,
    ordering_key    text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    dispatched_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

-- One row per event and destination: the delivery log. `body` is the exact JSON sent (after filter and excluded
-- fields); the signature is computed over it at each attempt.
CREATE TABLE webhook_deliveries (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    tenant          text NOT NULL,
    event_seq       bigint NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    endpoint        text NOT NULL,
    ordering_key    text NOT NULL,
    destination_url text NOT NULL,
    headers         jsonb NOT NULL DEFAULT '{}',
    secret_key      text,
    body            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED', 'CANCELLED')),
    attempts        integer NOT NULL DEFAULT 0,
    -- Made due again by POST .../retry: one more attempt, not the retry schedule.
    replay          boolean NOT NULL DEFAULT false,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    leased_until    timestamptz,
    last_status_code integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (tenant, endpoint, ordering_key, seq)
    WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant, created_at DESC, seq DESC);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;

-- Every attempt of a delivery: when, how it ended, how long it took, what the receiver said (an excerpt).
CREATE TABLE webhook_attempts (
    delivery_seq     bigint NOT NULL REFERENCES webhook_deliveries (seq) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    started_at       timestamptz NOT NULL,
    status_code      integer,
    duration_ms      double precision NOT NULL,
    response_excerpt text,
    error            text,
    PRIMARY KEY (delivery_seq, attempt)
);

-- Events delivered successfully, per tenant, month (YYYY-MM, UTC) and event type (GET /webhook/{tenant}/statistics).
CREATE TABLE webhook_statistics (
    tenant      text NOT NULL,
    month       text NOT NULL,
    event_type  text NOT NULL,
    delivered   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, month, event_type)
);
