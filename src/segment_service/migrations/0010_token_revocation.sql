-- Signing keys by id: tokens name theirs in a `kid` header, so that a key can be rotated while the tokens it signed
-- keep working until they expire (segment-service keys rotate; docs/operations.md).

CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The key kept so far becomes the first one; tokens without a kid are checked against every key.
INSERT INTO signing_keys (kid, secret, created_at)
SELECT 'initial', secret, created_at FROM service_keys WHERE name = 'token-signing';
DELETE FROM service_keys WHERE name = 'token-signing';

-- Password checks of an account that are under way: they hold back further attempts while they run, so that
-- parallel requests get no more guesses than the limit, yet only wrong passwords count as failures. A check that
-- never finished (its process died) stops counting 30 seconds after the last one started.
ALTER TABLE customers ADD COLUMN logins_in_flight integer NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN login_started_at timestamptz;
