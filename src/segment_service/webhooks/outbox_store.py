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
