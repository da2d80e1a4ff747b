"""The SQL of import jobs (migration 0021): one row per job, written by the task that runs it, read by any process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segment_service.core.db import Connection
from segment_service.core.timefmt import iso_sql


@dataclass(frozen=True, slots=True)
class NewJob:
    tenant: str
    id: str
    kind: str
    format: str
    file_name: str | None
    row_count: int
    created_by: str


@dataclass(frozen=True, slots=True)
class Progress:
    """What a job's task has counted so far; `errors` None leaves the stored errors as they are."""

    processed: int
    created: int
    updated: int
    failed: int
    errors: list[dict[str, Any]] | None


_COLUMNS = (
    "id, kind, format, file_name, state, row_count, processed, created, updated, failed, message, "
    f"{iso_sql('created_at')}, {iso_sql('finished_at')}, {iso_sql('heartbeat_at')}, "
    # A RUNNING job whose task has not moved its heartbeat on for $2 seconds has lost its process.
    "(state = 'RUNNING' AND heartbeat_at < now() - make_interval(secs => $2)) AS stale"
)

#: Jobs older than this are deleted when the tenant starts a new one.
RETENTION = "30 days"


async def insert_job(conn: Connection, job: NewJob) -> None:
    """Store a new RUNNING job, and drop the tenant's jobs past the retention."""
    await conn.execute(
        f"DELETE FROM import_jobs WHERE tenant = $1 AND created_at < now() - interval '{RETENTION}'", job.tenant
    )
    await conn.execute(
        "INSERT INTO import_jobs (tenant, id, kind, format, file_name, row_count, created_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        job.tenant,
        job.id,
        job.kind,
        job.format,
        job.file_name,
        job.row_count,
        job.created_by,
    )


async def write_progress(conn: Connection, tenant: str, job_id: str, progress: Progress) -> None:
    """The job's counts (and its first errors when given), and a new heartbeat."""
    await conn.execute(
        "UPDATE import_jobs SET processed = $3, created = $4, updated = $5, failed = $6,"
        " errors = coalesce($7::jsonb, errors), heartbeat_at = now() WHERE tenant = $1 AND id = $2",
        tenant,
        job_id,
        progress.processed,
        progress.created,
        progress.updated,
        progress.failed,
        progress.errors,
    )


async def beat(conn: Connection, tenant: str, job_id: str) -> None:
    """The job's task is alive."""
    await conn.execute(
        "UPDATE import_jobs SET heartbeat_at = now() WHERE tenant = $1 AND id = $2 AND state = 'RUNNING'",
        tenant,
        job_id,
    )


async def finish(
    conn: Connection, tenant: str, job_id: str, progress: Progress, state: str, message: str | None
) -> None:
    """The job's last counts and errors, and how it ended (DONE or FAILED)."""
    await conn.execute(
        "UPDATE import_jobs SET processed = $3, created = $4, updated = $5, failed = $6,"
        " errors = coalesce($7::jsonb, errors), state = $8, message = $9, finished_at = now(), heartbeat_at = now()"
        " WHERE tenant = $1 AND id = $2",
        tenant,
        job_id,
        progress.processed,
        progress.created,
        progress.updated,
        progress.failed,
        progress.errors,
        state,
        message,
    )


async def fetch_job(conn: Connection, tenant: str, job_id: str, stale_seconds: float) -> dict[str, Any] | None:
    """One job with its stored errors, and whether it is `stale`."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, errors FROM import_jobs WHERE tenant = $1 AND id = $3", tenant, stale_seconds, job_id
    )
    return None if row is None else dict(row)


async def list_jobs(
    conn: Connection, tenant: str, kinds: Sequence[str], stale_seconds: float, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of the tenant's jobs of `kinds`, newest first, without their errors."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM import_jobs WHERE tenant = $1 AND kind = ANY($3::text[])"
        " ORDER BY created_at DESC, id DESC OFFSET $4 LIMIT $5",
        tenant,
        stale_seconds,
        list(kinds),
        offset,
        limit,
    )
    return [dict(r) for r in rows]


async def count_jobs(conn: Connection, tenant: str, kinds: Sequence[str]) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM import_jobs WHERE tenant = $1 AND kind = ANY($2::text[])", tenant, list(kinds)
        )
    )
