"""SQL of the delivery log and replay (GET /webhook/{tenant}/deliveries, POST .../{id}/retry; docs/webhooks.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segment_service.core.db import Connection


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    event_type: str | None = None
    status: str | None = None
    endpoint: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


_COLUMNS = """
    d.seq, d.id, d.event_id, d.event_type, d.endpoint, d.destination_url, d.status, d.attempts, d.created_at,
    d.next_attempt_at, d.finished_at, d.last_status_code, d.last_error, d.body
"""
_FILTER = """
    d.tenant = $1
    AND ($2::text IS NULL OR d.event_type = $2)
    AND ($3::text IS NULL OR d.status = $3)
    AND ($4::text IS NULL OR d.endpoint = $4)
    AND ($5::timestamptz IS NULL OR d.created_at >= $5)
    AND ($6::timestamptz IS NULL OR d.created_at < $6)
"""


def _arguments(tenant: str, where: DeliveryFilter) -> list[Any]:
    return [tenant, where.event_type, where.status, where.endpoint, where.created_from, where.created_to]


async def list_deliveries(
    conn: Connection, tenant: str, where: DeliveryFilter, *, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of the tenant's deliveries, newest first, each with its attempts."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhook_deliveries d WHERE {_FILTER}"
        " ORDER BY d.created_at DESC, d.seq DESC OFFSET $7 LIMIT $8",
        *_arguments(tenant, where),
        offset,
        limit,
    )
    return await _with_attempts(conn, [dict(r) for r in rows])


async def count_deliveries(conn: Connection, tenant: str, where: DeliveryFilter) -> int:
    return int(
        await conn.fetchval(f"SELECT count(*) FROM webhook_deliveries d WHERE {_FILTER}", *_arguments(tenant, where))
    )


async def get_delivery(conn: Connection, tenant: str, delivery_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM webhook_deliveries d WHERE d.tenant = $1 AND d.id = $2", tenant, delivery_id
    )
    if row is None:
        return None
    return (await _with_attempts(conn, [dict(row)]))[0]


async def _with_attempts(conn: Connection, deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not deliveries:
        return deliveries
    rows = await conn.fetch(
        """
        SELECT delivery_seq, attempt, started_at, status_code, duration_ms, response_excerpt, error
        FROM webhook_attempts WHERE delivery_seq = ANY($1::bigint[]) ORDER BY delivery_seq, attempt
        """,
        [d["seq"] for d in deliveries],
    )
    by_delivery: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_delivery.setdefault(row["delivery_seq"], []).append(dict(row))
    for delivery in deliveries:
        delivery["attempt_log"] = by_delivery.get(delivery["seq"], [])
    return deliveries


async def retry(conn: Connection, tenant: str, delivery_id: uuid.UUID) -> str | None:
    """Make a finished delivery pending again, due now (its event id stays); the status it had, "PENDING" when it
    was pending already (nothing changes), None when the tenant has no such delivery."""
    row = await conn.fetchrow(
        "SELECT seq, status FROM webhook_deliveries WHERE tenant = $1 AND id = $2 FOR UPDATE", tenant, delivery_id
    )
    if row is None:
        return None
    if row["status"] != "PENDING":
        await conn.execute(
            """
            UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = clock_timestamp(), leased_until = NULL,
                   finished_at = NULL, replay = true
            WHERE seq = $1
            """,
            row["seq"],
        )
    return str(row["status"])
