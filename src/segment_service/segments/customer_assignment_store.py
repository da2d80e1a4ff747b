"""Segment customer-assignment SQL. Every statement filters on tenant; run-time SQL comes only from `core.query`.

The read path joins the `customers` and `legal_entities` tables (owned by the Customer and Legal Entity services)
so that an assignment and the names it shows come back in ONE statement, never one lookup per row. This is the only
place this store reads another service's tables, and only for reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind
from segment_service.core.timefmt import iso_sql

#: The public field paths of an assignment for `q` and `sort`.
ASSIGNMENT_FIELDS: dict[str, Field] = {
    "customer.id": Field("a.customer_id", FieldKind.TEXT),
    "customer.firstName": Field("c.first_name", FieldKind.TEXT),
    "customer.lastName": Field("c.last_name", FieldKind.TEXT),
    "customer.email": Field("c.contact_email", FieldKind.TEXT),
    # B2C assignments have no legal entity: '' in the table, NULL to q (`legalEntity.id:null`).
    "legalEntity.id": Field("NULLIF(a.legal_entity_id, '')", FieldKind.TEXT),
    "legalEntity.name": Field("le.name", FieldKind.TEXT),
    "assignmentType": Field("a.assignment_type", FieldKind.TEXT),
    "mixins": Field("a.mixins", FieldKind.JSON),
    "metadata.version": Field("a.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("a.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("a.modified_at", FieldKind.DATETIME),
    "metadataCreatedAt": Field("a.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("a.modified_at", FieldKind.DATETIME),
}

#: Tie-break of every list: the assignment's key within its segment.
TIEBREAK = "a.customer_id ASC, a.legal_entity_id"

_COLUMNS = (
    "a.customer_id, a.legal_entity_id, a.assignment_type, a.mixins, a.metadata_mixins, a.version, "
    + iso_sql("a.created_at")
    + ", "
    + iso_sql("a.modified_at")
    + ", c.first_name, c.last_name, c.contact_email AS email, le.name AS legal_entity_name"
)

# Customer and legal-entity names joined in the same statement (see the module docstring).
_FROM = """
FROM segment_customer_assignments a
LEFT JOIN customers c ON c.tenant = a.tenant AND c.id = a.customer_id
LEFT JOIN legal_entities le ON le.tenant = a.tenant AND le.id = a.legal_entity_id AND a.legal_entity_id <> ''
"""


class AssignmentRow(msgspec.Struct, kw_only=True):
    """A stored assignment as the API shows it, with its customer's and legal entity's names."""

    customer_id: str
    legal_entity_id: str
    assignment_type: str
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None
    version: int
    created_at: str
    modified_at: str
    first_name: str | None
    last_name: str | None
    email: str | None
    legal_entity_name: str | None


def _row(record: asyncpg.Record) -> AssignmentRow:
    return AssignmentRow(**record)


_SELECT_ASSIGNMENT = f"""
SELECT {_COLUMNS}{_FROM}WHERE a.tenant = $1 AND a.segment_id = $2 AND a.customer_id = $3 AND a.legal_entity_id = $4
"""

_SEGMENT_EXISTS = """
SELECT EXISTS (SELECT 1 FROM segments WHERE tenant = $1 AND id = $2)
"""

# One statement: insert, or replace when the stored version is the one the client saw ($7 NULL: no lock). Concurrent
# upserts of one assignment serialise on its primary key, so there is never a duplicate and every change adds one to
# the version. No row back: the version did not match; xmax = 0 tells an insert from an update.
_UPSERT_ASSIGNMENT = """
INSERT INTO segment_customer_assignments AS a (tenant, segment_id, customer_id, legal_entity_id, assignment_type,
                                               mixins, metadata_mixins, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, 'MANUAL', $5, $6, 1, now(), now())
ON CONFLICT ON CONSTRAINT segment_customer_assignments_pkey DO UPDATE
SET assignment_type = 'MANUAL', mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins,
    version = a.version + 1, modified_at = now()
WHERE $7::integer IS NULL OR a.version = $7
RETURNING (a.xmax = 0) AS created
"""

# A rule's (AUTOMATIC) membership is not deleted here: its rule keeps it (docs/rules.md#manual-overrides).
_DELETE_ASSIGNMENT = """
WITH gone AS (
    DELETE FROM segment_customer_assignments
    WHERE tenant = $1 AND segment_id = $2 AND customer_id = $3 AND legal_entity_id = $4
      AND assignment_type = 'MANUAL'
    RETURNING 'MANUAL'::text AS assignment_type
)
SELECT assignment_type, true AS deleted FROM gone
UNION ALL
SELECT assignment_type, false FROM segment_customer_assignments
WHERE tenant = $1 AND segment_id = $2 AND customer_id = $3 AND legal_entity_id = $4 AND assignment_type = 'AUTOMATIC'
"""

# The deletes that other services' changes cause return what they removed, for the events they emit.
_DELETE_OF_CUSTOMER = """
DELETE FROM segment_customer_assignments
WHERE tenant = $1 AND customer_id = $2
RETURNING segment_id, customer_id, legal_entity_id
"""

_DELETE_OF_LEGAL_ENTITY = """
DELETE FROM segment_customer_assignments
WHERE tenant = $1 AND legal_entity_id = $2 AND legal_entity_id <> ''
RETURNING segment_id, customer_id, legal_entity_id
"""

_DELETE_OF_CONTACT = """
DELETE FROM segment_customer_assignments
WHERE tenant = $1 AND customer_id = $2 AND legal_entity_id = $3
RETURNING segment_id, customer_id, legal_entity_id
"""

#: (segment id, customer id, legal entity id or '') of a removed assignment.
RemovedAssignment = tuple[str, str, str]


def _removed(records: list[asyncpg.Record]) -> list[RemovedAssignment]:
    return [(r["segment_id"], r["customer_id"], r["legal_entity_id"]) for r in records]


async def delete_of_contact(
    conn: Connection, tenant: str, customer_id: str, legal_entity_id: str
) -> list[RemovedAssignment]:
    """Delete the customer's assignments in the context of one legal entity; the removed assignments."""
    return _removed(await conn.fetch(_DELETE_OF_CONTACT, tenant, customer_id, legal_entity_id))


async def segment_exists(conn: Connection, tenant: str, segment_id: str) -> bool:
    return bool(await conn.fetchval(_SEGMENT_EXISTS, tenant, segment_id))


async def fetch_assignment(
    conn: Connection, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str
) -> AssignmentRow | None:
    """One assignment ('' legal entity: B2C) with its names, or None."""
    record = await conn.fetchrow(_SELECT_ASSIGNMENT, tenant, segment_id, customer_id, legal_entity_id)
    return None if record is None else _row(record)


async def upsert_assignment(
    conn: Connection,
    tenant: str,
    segment_id: str,
    customer_id: str,
    legal_entity_id: str,
    mixins: dict[str, Any] | None,
    metadata_mixins: dict[str, Any] | None,
    expected_version: int | None,
) -> bool | None:
    """Create or replace an assignment: True when created, False when replaced, None on a version mismatch."""
    record = await conn.fetchrow(
        _UPSERT_ASSIGNMENT, tenant, segment_id, customer_id, legal_entity_id, mixins, metadata_mixins, expected_version
    )
    return None if record is None else bool(record["created"])


async def delete_assignment(
    conn: Connection, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str
) -> str | None:
    """Delete one manual assignment: "MANUAL" when it was deleted, "AUTOMATIC" when the assignment is a rule's (and
    stays), None when there is none."""
    record = await conn.fetchrow(_DELETE_ASSIGNMENT, tenant, segment_id, customer_id, legal_entity_id)
    return None if record is None else str(record["assignment_type"])


async def delete_of_customer(conn: Connection, tenant: str, customer_id: str) -> list[RemovedAssignment]:
    """Delete every assignment of a customer; the removed assignments."""
    return _removed(await conn.fetch(_DELETE_OF_CUSTOMER, tenant, customer_id))


async def delete_of_legal_entity(conn: Connection, tenant: str, legal_entity_id: str) -> list[RemovedAssignment]:
    """Delete every assignment in the context of one legal entity; the removed assignments."""
    return _removed(await conn.fetch(_DELETE_OF_LEGAL_ENTITY, tenant, legal_entity_id))


@dataclass(frozen=True, slots=True)
class AssignmentFilter:
    """GET /segments/{segmentId}/customers: the checked `q` and `sort`; `customer_id` limits the list to one
    customer's assignments (a `segment_read_own` caller), `nothing` to none."""

    search: Search
    customer_id: str | None = None
    nothing: bool = False


_ASSIGNMENTS = ListStatement(_COLUMNS, _FROM, "a.tenant = $1 AND a.segment_id = $2", _row, tiebreak=TIEBREAK)


async def list_assignments(
    conn: Connection, tenant: str, segment_id: str, assignments: AssignmentFilter, *, page: Page, with_total: bool
) -> tuple[list[AssignmentRow], int | None]:
    """One page of the segment's assignments matching the filter, and the total when asked for."""
    criteria = _ASSIGNMENTS.criteria(tenant, segment_id, query=assignments.search.query)
    if assignments.nothing:
        criteria.where("FALSE")
    elif assignments.customer_id is not None:
        criteria.where(f"a.customer_id = {criteria.bind(assignments.customer_id)}")
    return await fetch_page(conn, _ASSIGNMENTS, criteria, assignments.search.ordering, page=page, with_total=with_total)


async def fetch_assignments(
    conn: Connection, tenant: str, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], AssignmentRow]:
    """The assignments of these (segment id, customer id, legal entity id or '') keys that exist, with their names
    (one statement; the webhook payloads of a batch)."""
    records = await conn.fetch(
        f"SELECT a.segment_id, {_COLUMNS}"
        + _FROM.replace(
            "FROM segment_customer_assignments a",
            "FROM unnest($2::text[], $3::text[], $4::text[]) AS k (segment_id, customer_id, legal_entity_id)\n"
            "JOIN segment_customer_assignments a ON a.tenant = $1 AND a.segment_id = k.segment_id"
            " AND a.customer_id = k.customer_id AND a.legal_entity_id = k.legal_entity_id",
        ),
        tenant,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    found = {}
    for record in records:
        values = dict(record)
        segment_id = values.pop("segment_id")
        found[(segment_id, values["customer_id"], values["legal_entity_id"])] = AssignmentRow(**values)
    return found


async def delete_of_segment(conn: Connection, tenant: str, segment_id: str) -> list[RemovedAssignment]:
    """Remove every membership of a segment that is being deleted, for the deletions it announces."""
    return _removed(
        await conn.fetch(
            "DELETE FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2"
            " RETURNING segment_id, customer_id, legal_entity_id",
            tenant,
            segment_id,
        )
    )
