"""Segment membership as other services ask about it (a segment-restricted coupon, say): one indexed statement per
question, run on the caller's connection so that it sees the caller's transaction.

A segment counts when it is active (docs/decisions.md#active-segments): `status` ACTIVE and now inside `validity`,
`from` inclusive, `to` exclusive, a missing bound open. Memberships are read in the customer's legal-entity context:
with a legal entity, the assignments for it plus the customer's B2C assignments (`legal_entity_id = ''`); without one,
all of the customer's assignments.
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.core.db import Connection
from segment_service.segments.store import ACTIVE_CONDITION

__all__ = ["is_active_member", "missing_segments"]

# segment_customer_assignments_customer_idx (tenant, customer_id, legal_entity_id, segment_id) finds the customer's
# assignments; the primary key of segments checks each one.
_IS_ACTIVE_MEMBER = f"""
SELECT EXISTS (
    SELECT 1
    FROM segment_customer_assignments a
    JOIN segments s ON s.tenant = a.tenant AND s.id = a.segment_id
    WHERE a.tenant = $1
      AND a.customer_id = $2
      AND ($3::text IS NULL OR a.legal_entity_id IN ('', $3::text))
      AND a.segment_id = ANY($4::text[])
      AND {ACTIVE_CONDITION}
)
"""

_MISSING_SEGMENTS = """
SELECT wanted.id
FROM unnest($2::text[]) WITH ORDINALITY AS wanted (id, position)
WHERE NOT EXISTS (SELECT 1 FROM segments s WHERE s.tenant = $1 AND s.id = wanted.id)
ORDER BY wanted.position
"""


async def is_active_member(
    conn: Connection, tenant: str, customer_id: str, legal_entity_id: str | None, segment_ids: Sequence[str]
) -> bool:
    """Whether the customer is a member of at least one active segment among `segment_ids`, in the legal-entity
    context `legal_entity_id` (None: no context, every assignment of the customer counts)."""
    if not segment_ids:
        return False
    return bool(await conn.fetchval(_IS_ACTIVE_MEMBER, tenant, customer_id, legal_entity_id, list(segment_ids)))


async def missing_segments(conn: Connection, tenant: str, segment_ids: Sequence[str]) -> list[str]:
    """The ids among `segment_ids` that name no segment of the tenant, in the order given."""
    if not segment_ids:
        return []
    return [record["id"] for record in await conn.fetch(_MISSING_SEGMENTS, tenant, list(segment_ids))]
