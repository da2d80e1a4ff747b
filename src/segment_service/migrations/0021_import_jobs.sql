-- Import jobs (docs/operations.md#import-over-http): a file uploaded to POST /import/{tenant}/jobs is imported by a
-- background task of the process that took it, which writes its counts here after its batches, so that any process
-- answers GET /import/{tenant}/jobs/{id} alike. `heartbeat_at` is moved on every few seconds while the task runs: a
-- RUNNING job whose heartbeat is old has lost its process, and is reported FAILED (transfer/jobs.py).
CREATE TABLE import_jobs (
    tenant text NOT NULL,
    id text NOT NULL,
    kind text NOT NULL,
    format text NOT NULL,
    file_name text,
    state text NOT NULL DEFAULT 'RUNNING',
    row_count integer NOT NULL,
    processed integer NOT NULL DEFAULT 0,
    created integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    -- The first errors by line ({line, status, message}); `failed` counts them all.
    errors jsonb NOT NULL DEFAULT '[]',
    message text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT import_jobs_pkey PRIMARY KEY (tenant, id),
    CONSTRAINT import_jobs_state CHECK (state IN ('RUNNING', 'DONE', 'FAILED')),
    CONSTRAINT import_jobs_format CHECK (format IN ('csv', 'ndjson'))
);

-- The list, newest first.
CREATE INDEX import_jobs_recent ON import_jobs (tenant, created_at DESC, id DESC);
