"""SQL of the outbox side of webhooks: which events a tenant receives, and the outbox rows (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.core.db import Connection

_RECEIVING = """
SELECT s.event_type
FROM webhook_subscriptions s
JOIN webhook_configs c ON c.tenant = s.tenant AND c.code = 'http' AND c.active
WHERE s.tenant = $1 AND s.subscribed AND s.event_type = ANY($2::text[])
"""


async def receiving_types(conn: Connection, tenant: str, event_types: Sequence[str]) -> set[str]:
    """Which of `event_types` the tenant receives now: subscribed, with an active HTTP configuration."""
    rows = await conn.fetch(_RECEIVING, tenant, list(event_types))
    return {row["event_type"] for row in rows}


async def insert_batch(conn: Connection, tenant: str, encoded_events: bytes) -> None:
    """Write one outbox row holding a write's events (a JSON array, encoded by the caller)."""
    await conn.execute("INSERT INTO webhook_outbox (tenant, events) VALUES ($1, $2)", tenant, encoded_events.decode())


async def insert_batch_if_received(
    conn: Connection, tenant: str, event_types: Sequence[str], encoded_events: bytes
) -> None:
    """Write one outbox row holding a bulk write's events when the tenant receives any of `event_types` (one
    statement: the relay drops the events of types it does not receive)."""
    await conn.execute(
        f"INSERT INTO webhook_outbox (tenant, events) SELECT $1, $2 WHERE EXISTS ({_RECEIVING} LIMIT 1)".replace(
            "SELECT s.event_type", "SELECT 1", 1
        ).replace("$2::text[]", "$3::text[]"),
        tenant,
        encoded_events.decode(),
        list(event_types),
    )
