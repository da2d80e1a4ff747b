"""Segment SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query` and the
visibility rule below (placeholders only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import Criteria, ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind
from segment_service.core.timefmt import iso_sql

#: The public field paths of a segment for `q` and `sort`, with the column each one reads.
SEGMENT_FIELDS: dict[str, Field] = {
    "id": Field("s.id", FieldKind.TEXT),
    "name": Field("s.name", FieldKind.LOCALIZED),
    "description": Field("s.description", FieldKind.LOCALIZED),
    "status": Field("s.status", FieldKind.TEXT),
    "siteCode": Field("s.site_code", FieldKind.TEXT),
    "validity.from": Field("s.valid_from", FieldKind.DATETIME),
    "validity.to": Field("s.valid_to", FieldKind.DATETIME),
    "metadata.version": Field("s.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("s.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("s.modified_at", FieldKind.DATETIME),
    # The flat spellings used in Emporix's own q examples (docs/decisions.md#the-q-language).
    "metadataCreatedAt": Field("s.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("s.modified_at", FieldKind.DATETIME),
    "mixins": Field("s.mixins", FieldKind.JSON),
}

#: Every column of a segment as the service reads it, date-times already in the wire format.
_COLUMNS = "s.id, s.name, s.description, s.status, s.site_code, s.mixins, s.metadata_mixins, s.version, " + ", ".join(
    iso_sql(c) for c in ("s.valid_from", "s.valid_to", "s.created_at", "s.modified_at")
)


class SegmentContent(msgspec.Struct, kw_only=True):
    """What a client writes of a segment; the database keeps the version and the timestamps."""

    id: str
    name: dict[str, str]
    description: dict[str, str] | None
    status: str
    site_code: str
    valid_from: datetime | None
    valid_to: datetime | None
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class SegmentRow(msgspec.Struct, kw_only=True):
    """A stored segment as the API shows it: date-times are `2024-05-14T12:00:00.000Z` strings."""

    id: str
    name: dict[str, str]
    description: dict[str, str] | None
    status: str
    site_code: str
    valid_from: str | None
    valid_to: str | None
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None
    version: int
    created_at: str
    modified_at: str


def _row(record: asyncpg.Record) -> SegmentRow:
    return SegmentRow(**record)


_SELECT_SEGMENT = f"""
SELECT {_COLUMNS}
FROM segments s
WHERE s.tenant = $1 AND s.id = $2
"""

_INSERT_SEGMENT = f"""
INSERT INTO segments AS s (tenant, id, name, description, status, site_code, valid_from, valid_to, mixins,
                           metadata_mixins, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, now(), now())
RETURNING {_COLUMNS}
"""

# Replace only when the stored version is the one the client saw ($11 NULL: no optimistic lock).
_UPDATE_SEGMENT = f"""
UPDATE segments AS s
SET name = $3, description = $4, status = $5, site_code = $6, valid_from = $7, valid_to = $8, mixins = $9,
    metadata_mixins = $10, version = s.version + 1, modified_at = now()
WHERE s.tenant = $1 AND s.id = $2 AND ($11::integer IS NULL OR s.version = $11)
RETURNING {_COLUMNS}
"""

# One statement for PUT: insert, or replace when the stored version is the one the client saw ($11 NULL: no lock).
# No row back means the version did not match; xmax = 0 tells a fresh insert from an update.
_UPSERT_SEGMENT = """
INSERT INTO segments AS s (tenant, id, name, description, status, site_code, valid_from, valid_to, mixins,
                           metadata_mixins, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, now(), now())
ON CONFLICT ON CONSTRAINT segments_pkey DO UPDATE
SET name = excluded.name, description = excluded.description, status = excluded.status,
    site_code = excluded.site_code, valid_from = excluded.valid_from, valid_to = excluded.valid_to,
    mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins, version = s.version + 1,
    modified_at = now()
WHERE $11::integer IS NULL OR s.version = $11
RETURNING (s.xmax = 0) AS created
"""

_DELETE_SEGMENT = """
DELETE FROM segments
WHERE tenant = $1 AND id = $2
"""

_HAS_ASSIGNMENTS = """
SELECT EXISTS (SELECT 1 FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2)
    OR EXISTS (SELECT 1 FROM segment_item_assignments WHERE tenant = $1 AND segment_id = $2)
"""


def _values(row: SegmentContent) -> tuple[Any, ...]:
    return (
        row.name,
        row.description,
        row.status,
        row.site_code,
        row.valid_from,
        row.valid_to,
        row.mixins,
        row.metadata_mixins,
    )


async def fetch_segment(conn: Connection, tenant: str, segment_id: str) -> SegmentRow | None:
    """The segment with this id, or None."""
    record = await conn.fetchrow(_SELECT_SEGMENT, tenant, segment_id)
    return None if record is None else _row(record)


async def fetch_segment_for_update(conn: Connection, tenant: str, segment_id: str) -> SegmentRow | None:
    """The segment with this id, locked until the transaction ends."""
    record = await conn.fetchrow(_SELECT_SEGMENT + "FOR UPDATE", tenant, segment_id)
    return None if record is None else _row(record)


async def insert_segment(conn: Connection, tenant: str, row: SegmentContent) -> SegmentRow:
    """Store a new segment at version 1; Conflict when the id is taken."""
    try:
        record = await conn.fetchrow(_INSERT_SEGMENT, tenant, row.id, *_values(row))
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "segments_pkey":
            raise Conflict("The resource already exists.", resource_id=row.id) from exc
        raise
    assert record is not None
    return _row(record)


async def update_segment(
    conn: Connection, tenant: str, row: SegmentContent, expected_version: int | None
) -> SegmentRow | None:
    """Replace a segment's content; None when it does not exist or its version is not `expected_version`."""
    record = await conn.fetchrow(_UPDATE_SEGMENT, tenant, row.id, *_values(row), expected_version)
    return None if record is None else _row(record)


async def upsert_segment(
    conn: Connection, tenant: str, row: SegmentContent, expected_version: int | None
) -> bool | None:
    """Create or replace a segment: True when created, False when replaced, None when its version is not
    `expected_version`."""
    record = await conn.fetchrow(_UPSERT_SEGMENT, tenant, row.id, *_values(row), expected_version)
    return None if record is None else bool(record["created"])


async def delete_segment(conn: Connection, tenant: str, segment_id: str) -> bool:
    """Delete a segment and, through the foreign keys, its assignments; whether it existed."""
    return str(await conn.execute(_DELETE_SEGMENT, tenant, segment_id)) != "DELETE 0"


async def has_assignments(conn: Connection, tenant: str, segment_id: str) -> bool:
    """Whether any customer or item is still assigned to the segment."""
    return bool(await conn.fetchval(_HAS_ASSIGNMENTS, tenant, segment_id))


@dataclass(frozen=True, slots=True)
class SegmentVisibility:
    """Which segments a caller may read, as the service decides it: every one, none, or those `member` belongs to
    (in the `legal_entity_id` context), and with `active_only` only the active ones."""

    nothing: bool = False
    member: str | None = None
    legal_entity_id: str | None = None
    active_only: bool = False


@dataclass(frozen=True, slots=True)
class SegmentFilter:
    """GET /segments: the checked `q` and `sort`, and what the caller may see."""

    search: Search
    visibility: SegmentVisibility


def restrict_to_visible(criteria: Criteria, visibility: SegmentVisibility) -> None:
    """AND the caller's visibility into `criteria` (conditions on `segments s`; $1 is the tenant)."""
    if visibility.nothing:
        criteria.where("FALSE")
        return
    if visibility.member is not None:
        member = criteria.bind(visibility.member)
        context = ""
        if visibility.legal_entity_id is not None:
            context = f" AND a.legal_entity_id IN ('', {criteria.bind(visibility.legal_entity_id)})"
        criteria.where(
            "EXISTS (SELECT 1 FROM segment_customer_assignments a"
            f" WHERE a.tenant = s.tenant AND a.segment_id = s.id AND a.customer_id = {member}{context})"
        )
    if visibility.active_only:
        criteria.where(ACTIVE_CONDITION)


_SEGMENTS = ListStatement(_COLUMNS, "FROM segments s", "s.tenant = $1", _row, tiebreak="s.id")


async def list_segments(
    conn: Connection, tenant: str, segments: SegmentFilter, *, page: Page, with_total: bool
) -> tuple[list[SegmentRow], int | None]:
    """One page of the visible segments matching the filter, and the total when asked for."""
    criteria = _SEGMENTS.criteria(tenant, query=segments.search.query)
    restrict_to_visible(criteria, segments.visibility)
    return await fetch_page(conn, _SEGMENTS, criteria, segments.search.ordering, page=page, with_total=with_total)


async def fetch_visible_segment(
    conn: Connection, tenant: str, segment_id: str, visibility: SegmentVisibility
) -> SegmentRow | None:
    """The segment with this id if the caller may see it."""
    criteria = Criteria(tenant, segment_id)
    restrict_to_visible(criteria, visibility)
    sql = f"SELECT {_COLUMNS}\nFROM segments s\nWHERE s.tenant = $1 AND s.id = $2 AND {criteria.sql}"
    record = await conn.fetchrow(sql, *criteria.values)
    return None if record is None else _row(record)


#: An active segment: status ACTIVE and now inside its validity (`from` inclusive, `to` exclusive, a missing bound
#: open); on `segments s`.
ACTIVE_CONDITION = (
    "s.status = 'ACTIVE' AND (s.valid_from IS NULL OR s.valid_from <= now())"
    " AND (s.valid_to IS NULL OR now() < s.valid_to)"
)


async def fetch_segments(conn: Connection, tenant: str, segment_ids: Sequence[str]) -> dict[str, SegmentRow]:
    """The segments with these ids that exist, by id (one statement; the webhook payloads of a batch)."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM segments s WHERE s.tenant = $1 AND s.id = ANY($2::text[])", tenant, list(segment_ids)
    )
    return {record["id"]: _row(record) for record in records}
