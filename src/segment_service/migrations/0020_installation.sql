-- The database's own identity (docs/answers.md#versions-kept-on-the-host): every service process that writes to or
-- reads from this database finds the same id here, whatever URL it was given (a pooler, another host name), and so
-- the same file of shared versions on its host. A copy of the database keeps the id; processes of two copies on one
-- host then share a file, which only makes each invalidate the other's remembered versions more often.
CREATE TABLE service_installation (
    id text NOT NULL,
    singleton boolean NOT NULL DEFAULT true,
    CONSTRAINT service_installation_pkey PRIMARY KEY (singleton),
    CONSTRAINT service_installation_singleton CHECK (singleton)
);
INSERT INTO service_installation (id) VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));
