"""Segment item assignment SQL (operations 24-30 of customer-segment.yml). Every statement filters on tenant; the only
SQL built at run time comes from `core.query`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind
from segment_service.core.timefmt import iso_sql

#: The public field paths of an item assignment for `q` and `sort`, with the column each one reads.
ITEM_ASSIGNMENT_FIELDS: dict[str, Field] = {
    "type": Field("a.item_type", FieldKind.TEXT),
    "item.id": Field("a.item_id", FieldKind.TEXT),
    "segmentId": Field("a.segment_id", FieldKind.TEXT),
    "mixins": Field("a.mixins", FieldKind.JSON),
    "metadata.version": Field("a.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("a.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("a.modified_at", FieldKind.DATETIME),
    "metadataCreatedAt": Field("a.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("a.modified_at", FieldKind.DATETIME),
}

#: Pages are stable: the primary key's order ends every sort.
TIEBREAK = "a.item_type ASC, a.item_id"

# The read path joins the item's code and name in the same statement as the assignments (never one lookup per row).
# This reads the products and categories tables directly: an allowed exception to "call the other service's
# service.py" for this read path only, so that a page of assignments stays one indexed statement.
# A LATERAL UNION ALL rather than two LEFT JOINs: each branch's item_type test only reads the outer row, so
# PostgreSQL runs it as a one-time filter and probes only the table the item is in (two joins probed both).
FROM = """
FROM segment_item_assignments a
LEFT JOIN LATERAL (
    SELECT p.code, p.name FROM products p
    WHERE a.item_type = 'PRODUCT' AND p.tenant = a.tenant AND p.id = a.item_id
    UNION ALL
    SELECT c.code, c.localized_name FROM categories c
    WHERE a.item_type = 'CATEGORY' AND c.tenant = a.tenant AND c.id = a.item_id
) item ON TRUE
"""

COLUMNS = (
    "a.segment_id, a.item_type, a.item_id, a.mixins, a.metadata_mixins, a.version, "
    "item.code AS item_code, item.name AS item_name, "
    + ", ".join(iso_sql(c) for c in ("a.created_at", "a.modified_at"))
)


class ItemAssignmentRow(msgspec.Struct, kw_only=True):
    """A stored assignment with its item's code and name; date-times are `2024-05-14T12:00:00.000Z` strings."""

    segment_id: str
    item_type: str
    item_id: str
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None
    version: int
    item_code: str | None
    item_name: dict[str, str] | None
    created_at: str
    modified_at: str


def row(record: asyncpg.Record) -> ItemAssignmentRow:
    """A fetched record (holding `COLUMNS`) as an ItemAssignmentRow."""
    return ItemAssignmentRow(**record)


_SELECT_ONE = f"""
SELECT {COLUMNS}
{FROM}
WHERE a.tenant = $1 AND a.segment_id = $2 AND a.item_type = $3 AND a.item_id = $4
"""

_SEGMENT_EXISTS = """
SELECT EXISTS (SELECT 1 FROM segments WHERE tenant = $1 AND id = $2)
"""

# The segment row is share-locked so that a concurrent segment delete waits for this write (and then sees it).
_LOCK_SEGMENT = """
SELECT 1 FROM segments WHERE tenant = $1 AND id = $2 FOR KEY SHARE
"""

# One statement: insert, or replace when the stored version is the one the client saw ($7 NULL: no lock).
# Concurrent upserts of one assignment meet in ON CONFLICT, never as duplicates. No row back means a stale version;
# xmax = 0 tells a fresh insert from an update.
_UPSERT = """
INSERT INTO segment_item_assignments AS a (tenant, segment_id, item_type, item_id, mixins, metadata_mixins, version,
                                           created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, 1, now(), now())
ON CONFLICT ON CONSTRAINT segment_item_assignments_pkey DO UPDATE
SET mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins, version = a.version + 1,
    modified_at = now()
WHERE $7::integer IS NULL OR a.version = $7
RETURNING (a.xmax = 0) AS created
"""

# A whole bulk in one statement (items without an expected version, each item id once): unnest the parallel arrays,
# insert or replace, and report per item whether it was created. 25x fewer round trips than a savepoint per item.
# Rows are written in item-id order, so two overlapping bulks lock them in the same order and cannot deadlock.
_UPSERT_MANY = """
INSERT INTO segment_item_assignments AS a (tenant, segment_id, item_type, item_id, mixins, metadata_mixins, version,
                                           created_at, modified_at)
SELECT $1, $2, $3, i.item_id, i.mixins::jsonb, i.metadata_mixins::jsonb, 1, now(), now()
FROM unnest($4::text[], $5::text[], $6::text[]) AS i (item_id, mixins, metadata_mixins)
ORDER BY i.item_id
ON CONFLICT ON CONSTRAINT segment_item_assignments_pkey DO UPDATE
SET mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins, version = a.version + 1,
    modified_at = now()
RETURNING a.item_id, (a.xmax = 0) AS created
"""

_DELETE = """
DELETE FROM segment_item_assignments
WHERE tenant = $1 AND segment_id = $2 AND item_type = $3 AND item_id = $4
"""

# Uses segment_item_assignments_item_idx (tenant, item_type, item_id, segment_id).
_DELETE_OF_ITEMS = """
DELETE FROM segment_item_assignments
WHERE tenant = $1 AND item_type = $2 AND item_id = ANY($3::text[])
RETURNING segment_id, item_id
"""


async def segment_exists(conn: Connection, tenant: str, segment_id: str) -> bool:
    return bool(await conn.fetchval(_SEGMENT_EXISTS, tenant, segment_id))


async def lock_segment(conn: Connection, tenant: str, segment_id: str) -> bool:
    """Whether the segment exists; it stays key-share locked until the transaction ends."""
    return await conn.fetchval(_LOCK_SEGMENT, tenant, segment_id) is not None


async def fetch_assignment(
    conn: Connection, tenant: str, segment_id: str, item_type: str, item_id: str
) -> ItemAssignmentRow | None:
    record = await conn.fetchrow(_SELECT_ONE, tenant, segment_id, item_type, item_id)
    return None if record is None else row(record)


async def upsert_assignment(
    conn: Connection,
    tenant: str,
    segment_id: str,
    item_type: str,
    item_id: str,
    *,
    mixins: dict[str, Any] | None,
    metadata_mixins: dict[str, Any] | None,
    expected_version: int | None,
) -> bool | None:
    """True when created, False when replaced, None when the stored version is not `expected_version`."""
    record = await conn.fetchrow(
        _UPSERT, tenant, segment_id, item_type, item_id, mixins, metadata_mixins, expected_version
    )
    return None if record is None else bool(record["created"])


Mixins = dict[str, Any] | None


async def upsert_assignments(
    conn: Connection, tenant: str, segment_id: str, item_type: str, items: Sequence[tuple[str, Mixins, Mixins]]
) -> dict[str, bool]:
    """Create or replace the (item id, mixins, metadata mixins) assignments at once; item id -> whether created."""
    encode = msgspec.json.encode
    records = await conn.fetch(
        _UPSERT_MANY,
        tenant,
        segment_id,
        item_type,
        [i for i, _, _ in items],
        [None if m is None else encode(m).decode() for _, m, _ in items],
        [None if m is None else encode(m).decode() for _, _, m in items],
    )
    return {r["item_id"]: bool(r["created"]) for r in records}


async def delete_assignment(conn: Connection, tenant: str, segment_id: str, item_type: str, item_id: str) -> bool:
    """Whether there was such an assignment."""
    return str(await conn.execute(_DELETE, tenant, segment_id, item_type, item_id)) != "DELETE 0"


async def delete_assignments_of_items(
    conn: Connection, tenant: str, item_type: str, item_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """Remove these items from every segment; the removed (segment id, item id) pairs."""
    records = await conn.fetch(_DELETE_OF_ITEMS, tenant, item_type, list(item_ids))
    return [(r["segment_id"], r["item_id"]) for r in records]


_ASSIGNMENTS = ListStatement(
    COLUMNS,
    FROM,
    "a.tenant = $1 AND a.segment_id = $2",
    row,
    tiebreak=TIEBREAK,
    count_source="FROM segment_item_assignments a",
)


async def list_assignments(
    conn: Connection, tenant: str, segment_id: str, search: Search, *, page: Page, with_total: bool
) -> tuple[list[ItemAssignmentRow], int | None]:
    """One page of a segment's item assignments matching `search`, and the total when asked for."""
    criteria = _ASSIGNMENTS.criteria(tenant, segment_id, query=search.query)
    return await fetch_page(conn, _ASSIGNMENTS, criteria, search.ordering, page=page, with_total=with_total)


# The keys drive the join: each probes the primary key (a row-value IN over unnest was planned as a hash join over
# every assignment of the tenant).
_SELECT_KEYS = f"SELECT {COLUMNS}" + FROM.replace(
    "FROM segment_item_assignments a",
    "FROM unnest($2::text[], $3::text[], $4::text[]) AS k (segment_id, item_type, item_id)\n"
    "JOIN segment_item_assignments a ON a.tenant = $1 AND a.segment_id = k.segment_id"
    " AND a.item_type = k.item_type AND a.item_id = k.item_id",
)


async def fetch_assignments(
    conn: Connection, tenant: str, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], ItemAssignmentRow]:
    """The assignments of these (segment id, item type, item id) keys that exist, with their items' code and name
    (one statement; the webhook payloads of a batch)."""
    records = await conn.fetch(
        _SELECT_KEYS,
        tenant,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r["segment_id"], r["item_type"], r["item_id"]): row(r) for r in records}


async def delete_of_segment(conn: Connection, tenant: str, segment_id: str) -> list[tuple[str, str]]:
    """Remove every item assignment of a segment that is being deleted: (item type, item id) each."""
    records = await conn.fetch(
        "DELETE FROM segment_item_assignments WHERE tenant = $1 AND segment_id = $2 RETURNING item_type, item_id",
        tenant,
        segment_id,
    )
    return [(r["item_type"], r["item_id"]) for r in records]
