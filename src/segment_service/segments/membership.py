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

__all__ = ["active_member_until", "is_active_member", "missing_segments"]

# segment_customer_assignments_customer_idx (tenant, customer_id, legal_entity_id, segment_id) finds the customer's
# assignments; the primary key of segments checks each one.
_ACTIVE_MEMBERSHIP = f"""EXISTS (
    SELECT 1
    FROM segment_customer_assignments a
    JOIN segments s ON s.tenant = a.tenant AND s.id = a.segment_id
    WHERE a.tenant = $1
      AND a.customer_id = $2
      AND ($3::text IS NULL OR a.legal_entity_id IN ('', $3::text))
      AND a.segment_id = ANY($4::text[])
      AND {ACTIVE_CONDITION}
)"""
_IS_ACTIVE_MEMBER = f"SELECT {_ACTIVE_MEMBERSHIP}"

# The same question, with the seconds from the database's clock as the statement runs (not now(): in a transaction
# that is its start, and the time left would be counted from too early) to the first validity bound of the named
# segments still ahead (NULL: none), member or not, active or not: until then the answer stays as read unless a write
# changes it.
_ACTIVE_MEMBER_UNTIL = f"""
SELECT {_ACTIVE_MEMBERSHIP},
    (SELECT extract(epoch FROM min(b.at) - clock_timestamp())::float8
     FROM segments s CROSS JOIN LATERAL (VALUES (s.valid_from), (s.valid_to)) AS b(at)
     WHERE s.tenant = $1 AND s.id = ANY($4::text[]) AND b.at > now())
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


async def active_member_until(
    conn: Connection, tenant: str, customer_id: str, legal_entity_id: str | None, segment_ids: Sequence[str]
) -> tuple[bool, float | None]:
    """`is_active_member`, and the seconds until the first validity window of `segment_ids` opens or closes (None:
    none will), counted from when the statement ran: a remembered answer holds no longer (coupons/validation_memo.py).
    """
    if not segment_ids:
        return False, None
    record = await conn.fetchrow(_ACTIVE_MEMBER_UNTIL, tenant, customer_id, legal_entity_id, list(segment_ids))
    assert record is not None
    return bool(record[0]), record[1]


async def missing_segments(conn: Connection, tenant: str, segment_ids: Sequence[str]) -> list[str]:
    """The ids among `segment_ids` that name no segment of the tenant, in the order given."""
    if not segment_ids:
        return []
    return [record["id"] for record in await conn.fetch(_MISSING_SEGMENTS, tenant, list(segment_ids))]
