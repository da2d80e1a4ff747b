"""SQL of the outbox side of webhooks: which events a tenant receives, and the outbox rows (docs/webhooks.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from segment_service.core.db import Connection

_RECEIVING = """
SELECT s.event_type
FROM webhook_subscriptions s
JOIN webhook_configs c ON c.tenant = s.tenant AND c.code = 'http' AND c.active
WHERE s.tenant = $1 AND s.subscribed AND s.event_type = ANY($2::text[])
"""

_INSERT = """
INSERT INTO webhook_events (id, tenant, event_type, ordering_key, payload)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
"""


async def receiving_types(conn: Connection, tenant: str, event_types: Sequence[str]) -> set[str]:
    """Which of `event_types` the tenant receives now: subscribed, with an active HTTP configuration."""
    rows = await conn.fetch(_RECEIVING, tenant, list(event_types))
    return {row["event_type"] for row in rows}


async def insert_events(
    conn: Connection, tenant: str, events: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[uuid.UUID]:
    """Write one outbox row per (event type, ordering key, payload), in order; their new event ids."""
    ids = [uuid.uuid4() for _ in events]
    await conn.execute(
        _INSERT,
        ids,
        [tenant] * len(events),
        [event_type for event_type, _, _ in events],
        [key for _, key, _ in events],
        [payload for _, _, payload in events],
    )
    return ids
