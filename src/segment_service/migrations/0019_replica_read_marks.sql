-- Read replicas (docs/operations.md#read-replicas): each caller's last write position, so that a read of that caller
-- goes to a replica only when the replica has replayed it (core/dbreplicas.py).
--
-- UNLOGGED: a mark is written after every write transaction of a caller while replicas are configured, and writing
-- WAL for it would cost as much as a small write of its own; nothing on the replicas reads it. A crash of the primary
-- empties the table; the floor row (tenant '' and caller '', which no tenant or caller id can be) is then missing,
-- and the service writes a new floor at the primary's current position before it trusts the table again, so the
-- marks lost with the crash are covered by it.
CREATE UNLOGGED TABLE replica_read_marks (
    tenant text NOT NULL,
    caller text NOT NULL,
    lsn pg_lsn NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT replica_read_marks_pkey PRIMARY KEY (tenant, caller)
);
