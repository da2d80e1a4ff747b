-- Rule-based segments (docs/rules.md): one rule per segment, its evaluation state, and exclusions (a manual "never").
-- A rule's memberships are rows of segment_customer_assignments with assignment_type 'AUTOMATIC', so every read
-- that knows memberships (lists, storefront, coupons, events) knows them without a second source.
CREATE TABLE segment_rules (
    tenant         text NOT NULL,
    segment_id     text NOT NULL,
    subject        text NOT NULL CHECK (subject IN ('CUSTOMER', 'CONTACT')),
    condition      jsonb NOT NULL,
    -- The segments the condition names with inSegment (for cycles and for re-evaluating dependents).
    depends_on     text[] NOT NULL DEFAULT '{}',
    -- Whether the condition reads the clock (withinLast, olderThan, order windows): the sweeper moves these.
    time_relative  boolean NOT NULL DEFAULT false,
    -- Whether the condition reads a category subtree (a catalogue change re-evaluates it).
    uses_categories boolean NOT NULL DEFAULT false,
    uses_orders    boolean NOT NULL DEFAULT false,
    state          text NOT NULL DEFAULT 'EVALUATING' CHECK (state IN ('EVALUATING', 'READY', 'FAILED')),
    -- When a full evaluation was last asked for (saved, or a change that can move anyone): an evaluation that began
    -- before it leaves the rule queued when it ends, so a change made while it ran is never lost.
    queued_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    evaluated_at   timestamptz,
    -- The rule clock's time up to which time-relative conditions have been moved.
    swept_at       timestamptz,
    member_count   integer,
    error          text,
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL,
    modified_at    timestamptz NOT NULL,
    CONSTRAINT segment_rules_pkey PRIMARY KEY (tenant, segment_id),
    CONSTRAINT segment_rules_segment_fkey FOREIGN KEY (tenant, segment_id)
        REFERENCES segments (tenant, id) ON DELETE CASCADE
);
-- The evaluator's queue: rules waiting for a full evaluation.
CREATE INDEX segment_rules_evaluating_idx ON segment_rules (modified_at) WHERE state = 'EVALUATING';

CREATE TABLE segment_exclusions (
    tenant           text NOT NULL,
    segment_id       text NOT NULL,
    customer_id      text NOT NULL,
    -- '' excludes the customer in every context (B2C and each legal entity); an id only that contact membership.
    legal_entity_id  text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    CONSTRAINT segment_exclusions_pkey PRIMARY KEY (tenant, segment_id, customer_id, legal_entity_id),
    CONSTRAINT segment_exclusions_segment_fkey FOREIGN KEY (tenant, segment_id)
        REFERENCES segments (tenant, id) ON DELETE CASCADE
);

-- A text that may not be a timestamp (a mixin's value): NULL instead of an error, so a rule never fails on data.
CREATE FUNCTION segment_rule_timestamp(value text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF value IS NULL OR value !~ '^\d{4}-\d{2}-\d{2}' THEN
        RETURN NULL;
    END IF;
    RETURN value::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;
