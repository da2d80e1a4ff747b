"""SQL of the set-based assignment upserts that `segment-service import` uses: a whole batch of rows, across
segments, in one statement each. Every statement filters on tenant."""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.core.db import Connection

#: (segment id, item type or customer id, item id or legal entity id, mixins JSON, metadata mixins JSON)
AssignmentValues = tuple[str, str, str, str | None, str | None]

# Key-share locks, as the single upserts take them, so that a concurrent segment delete waits for the batch.
_LOCK_SEGMENTS = """
SELECT id FROM segments WHERE tenant = $1 AND id = ANY($2::text[]) ORDER BY id FOR KEY SHARE
"""

# Only the keys of created rows come back (a replace sends none). Rows are written in key order, so that two
# overlapping imports lock them in the same order and cannot deadlock.
_UPSERT_ITEMS = """
WITH written AS (
INSERT INTO segment_item_assignments AS a (tenant, segment_id, item_type, item_id, mixins, metadata_mixins, version,
                                           created_at, modified_at)
SELECT $1, i.segment_id, i.item_type, i.item_id, i.mixins::jsonb, i.metadata_mixins::jsonb, 1, now(), now()
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS i (segment_id, item_type, item_id, mixins, metadata_mixins)
ORDER BY i.segment_id, i.item_type, i.item_id
ON CONFLICT ON CONSTRAINT segment_item_assignments_pkey DO UPDATE
SET mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins, version = a.version + 1,
    modified_at = now()
RETURNING a.segment_id, a.item_type, a.item_id, (a.xmax = 0) AS created
)
SELECT segment_id, item_type, item_id FROM written WHERE created
"""

_UPSERT_CUSTOMERS = """
WITH written AS (
INSERT INTO segment_customer_assignments AS a (tenant, segment_id, customer_id, legal_entity_id, assignment_type,
                                               mixins, metadata_mixins, version, created_at, modified_at)
SELECT $1, i.segment_id, i.customer_id, i.legal_entity_id, 'MANUAL', i.mixins::jsonb, i.metadata_mixins::jsonb, 1,
       now(), now()
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS i (segment_id, customer_id, legal_entity_id, mixins, metadata_mixins)
ORDER BY i.segment_id, i.customer_id, i.legal_entity_id
ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO UPDATE
SET assignment_type = 'MANUAL', mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins,
    version = a.version + 1, modified_at = now()
RETURNING a.segment_id, a.customer_id, a.legal_entity_id, (a.xmax = 0) AS created
)
SELECT segment_id, customer_id, legal_entity_id FROM written WHERE created
"""


async def lock_segments(conn: Connection, tenant: str, segment_ids: Sequence[str]) -> set[str]:
    """The existing segments among `segment_ids`; they stay key-share locked until the transaction ends."""
    return {r["id"] for r in await conn.fetch(_LOCK_SEGMENTS, tenant, list(segment_ids))}


async def upsert_item_assignments(
    conn: Connection, tenant: str, rows: Sequence[AssignmentValues]
) -> set[tuple[str, str, str]]:
    """Create or replace (segment id, item type, item id, mixins JSON, metadata mixins JSON) assignments, each key
    once; the keys of those created."""
    records = await conn.fetch(_UPSERT_ITEMS, tenant, *(list(column) for column in zip(*rows, strict=True)))
    return {(r["segment_id"], r["item_type"], r["item_id"]) for r in records}


async def upsert_customer_assignments(
    conn: Connection, tenant: str, rows: Sequence[AssignmentValues]
) -> set[tuple[str, str, str]]:
    """Create or replace (segment id, customer id, legal entity id or '', mixins JSON, metadata mixins JSON)
    assignments, each key once; the keys of those created."""
    records = await conn.fetch(_UPSERT_CUSTOMERS, tenant, *(list(column) for column in zip(*rows, strict=True)))
    return {(r["segment_id"], r["customer_id"], r["legal_entity_id"]) for r in records}
