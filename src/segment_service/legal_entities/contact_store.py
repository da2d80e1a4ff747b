"""Contact-assignment SQL (which customer is a contact of which legal entity). Every statement filters on tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest, Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.legal_entities.models import ContactAssignmentFilters
from segment_service.legal_entities.store import (
    _CA_COLUMNS,
    _LE_JOINED_COLUMNS,
    CONTACT_ASSIGNMENT_FIELDS,
    ContactAssignmentContent,
    ContactAssignmentRow,
    Match,
    _contact_assignment,
    match_filters,
)

_SELECT_CONTACT_ASSIGNMENT = f"""
SELECT {_CA_COLUMNS}, {_LE_JOINED_COLUMNS}
FROM contact_assignments ca
JOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id
WHERE ca.tenant = $1 AND ca.id = $2
"""

_INSERT_CONTACT_ASSIGNMENT = """
INSERT INTO contact_assignments (tenant, id, legal_entity_id, customer_id, type, is_primary, mixins, metadata_mixins,
                                 version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, now(), now())
"""

# `previous` reads the row as it was before the statement: a replacement may move the assignment to another customer
# or legal entity, and the pair it leaves may then be no contact any more.
_UPSERT_CONTACT_ASSIGNMENT = """
WITH previous AS (
    SELECT customer_id, legal_entity_id FROM contact_assignments WHERE tenant = $1 AND id = $2
)
INSERT INTO contact_assignments AS ca (tenant, id, legal_entity_id, customer_id, type, is_primary, mixins,
                                       metadata_mixins, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, now(), now())
ON CONFLICT ON CONSTRAINT contact_assignments_pkey DO UPDATE
SET legal_entity_id = excluded.legal_entity_id, customer_id = excluded.customer_id, type = excluded.type,
    is_primary = excluded.is_primary, mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins,
    version = ca.version + 1, modified_at = now()
WHERE $9::integer IS NULL OR ca.version = $9
RETURNING (ca.xmax = 0) AS created, (SELECT customer_id FROM previous) AS previous_customer_id,
          (SELECT legal_entity_id FROM previous) AS previous_legal_entity_id
"""

_DELETE_CONTACT_ASSIGNMENT = """
DELETE FROM contact_assignments
WHERE tenant = $1 AND id = $2
RETURNING customer_id, legal_entity_id
"""

_DELETE_CONTACT_ASSIGNMENTS_OF_CUSTOMER = """
DELETE FROM contact_assignments
WHERE tenant = $1 AND customer_id = $2
"""

# The (customer, legal entity) pairs of the contact assignments of a legal entity and its subsidiaries: whose
# sessions in which context end when the entity is deleted.
_CONTACTS_OF_SUBTREE = """
WITH RECURSIVE subtree (id) AS (
    SELECT id FROM legal_entities WHERE tenant = $1 AND id = $2
    UNION
    SELECT le.id FROM legal_entities le JOIN subtree s ON le.tenant = $1 AND le.parent_id = s.id
)
SELECT DISTINCT ca.customer_id, ca.legal_entity_id
FROM contact_assignments ca JOIN subtree s ON ca.tenant = $1 AND ca.legal_entity_id = s.id
"""

_IS_CONTACT = """
SELECT EXISTS (SELECT 1 FROM contact_assignments WHERE tenant = $1 AND customer_id = $2 AND legal_entity_id = $3)
"""

# Removals of one customer's contacts to one legal entity take turns, so that two removing its last two assignments
# (of two types) at once cannot each see the other's still there and both leave the memberships behind.
_LOCK_CONTACT_PAIR = """
SELECT pg_advisory_xact_lock(hashtextextended('contacts:' || $1 || '/' || $2 || '/' || $3, 0))
"""

# The same question for a write that relies on the answer: the contact rows stay locked until the transaction ends,
# so that a contact removal running at the same time waits and then removes what this write adds.
_IS_CONTACT_LOCKED = """
SELECT 1 FROM contact_assignments WHERE tenant = $1 AND customer_id = $2 AND legal_entity_id = $3 FOR SHARE
"""

_LEGAL_ENTITY_IDS_OF_CUSTOMER = """
SELECT DISTINCT legal_entity_id
FROM contact_assignments
WHERE tenant = $1 AND customer_id = $2
ORDER BY legal_entity_id
"""


def _contact_values(row: ContactAssignmentContent) -> tuple[Any, ...]:
    return (row.legal_entity_id, row.customer_id, row.type, row.is_primary, row.mixins, row.metadata_mixins)


def _contact_conflict(exc: asyncpg.IntegrityConstraintViolationError, row: ContactAssignmentContent) -> Exception:
    """The domain error a constraint violation on a contact-assignment write stands for, or `exc` itself."""
    if exc.constraint_name == "contact_assignments_pkey":
        return Conflict("The resource already exists.", resource_id=row.id)
    if exc.constraint_name == "contact_assignments_contact_key":
        return Conflict(
            f"The customer '{row.customer_id}' is already a {row.type} contact of the legal entity "
            f"'{row.legal_entity_id}'.",
            resource_id=row.id,
        )
    if exc.constraint_name == "contact_assignments_legal_entity_fkey":  # the legal entity was deleted meanwhile
        return BadRequest(
            f"The legal entity '{row.legal_entity_id}' does not exist.",
            field="legalEntity.id",
            type="invalid_reference",
        )
    return exc


async def fetch_contact_assignment(conn: Connection, tenant: str, assignment_id: str) -> ContactAssignmentRow | None:
    """The contact assignment with this id and its legal entity, or None."""
    record = await conn.fetchrow(_SELECT_CONTACT_ASSIGNMENT, tenant, assignment_id)
    return None if record is None else _contact_assignment(record)


async def insert_contact_assignment(conn: Connection, tenant: str, row: ContactAssignmentContent) -> None:
    """Store a new contact assignment at version 1; Conflict when the id or the contact is taken."""
    try:
        await conn.execute(_INSERT_CONTACT_ASSIGNMENT, tenant, row.id, *_contact_values(row))
    except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError) as exc:
        raise _contact_conflict(exc, row) from exc


async def upsert_contact_assignment(
    conn: Connection, tenant: str, row: ContactAssignmentContent, expected_version: int | None
) -> tuple[bool, tuple[str, str] | None] | None:
    """Create or replace a contact assignment: (whether it was created, the (customer, legal entity) it named
    before when replaced); None when its version is not `expected_version`."""
    try:
        record = await conn.fetchrow(
            _UPSERT_CONTACT_ASSIGNMENT, tenant, row.id, *_contact_values(row), expected_version
        )
    except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError) as exc:
        raise _contact_conflict(exc, row) from exc
    if record is None:
        return None
    previous = record["previous_customer_id"], record["previous_legal_entity_id"]
    return bool(record["created"]), None if previous[0] is None else previous


async def delete_contact_assignment(conn: Connection, tenant: str, assignment_id: str) -> tuple[str, str] | None:
    """Delete a contact assignment; the (customer, legal entity) it named, None when there was none."""
    record = await conn.fetchrow(_DELETE_CONTACT_ASSIGNMENT, tenant, assignment_id)
    return None if record is None else (record["customer_id"], record["legal_entity_id"])


async def delete_contact_assignments_of_customer(conn: Connection, tenant: str, customer_id: str) -> int:
    """Delete every contact assignment of a customer; how many there were."""
    status = str(await conn.execute(_DELETE_CONTACT_ASSIGNMENTS_OF_CUSTOMER, tenant, customer_id))
    return int(status.rsplit(" ", 1)[-1])


async def contacts_of_subtree(conn: Connection, tenant: str, legal_entity_id: str) -> list[tuple[str, str]]:
    """The (customer, legal entity) pairs of the contact assignments of a legal entity and its subsidiaries."""
    return [
        (r["customer_id"], r["legal_entity_id"])
        for r in await conn.fetch(_CONTACTS_OF_SUBTREE, tenant, legal_entity_id)
    ]


async def is_contact(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> bool:
    """Whether the customer is a contact (of any type) of the legal entity."""
    return bool(await conn.fetchval(_IS_CONTACT, tenant, customer_id, legal_entity_id))


async def lock_contact_pair(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> None:
    """Wait for other transactions removing contacts of this customer to this legal entity (until this one ends)."""
    await conn.execute(_LOCK_CONTACT_PAIR, tenant, customer_id, legal_entity_id)


async def is_contact_locked(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> bool:
    """`is_contact`, keeping the contact rows locked against removal until the transaction ends."""
    return bool(await conn.fetch(_IS_CONTACT_LOCKED, tenant, customer_id, legal_entity_id))


async def legal_entity_ids_of_customer(conn: Connection, tenant: str, customer_id: str) -> list[str]:
    """The ids of the legal entities the customer is a contact of, sorted."""
    return [r["legal_entity_id"] for r in await conn.fetch(_LEGAL_ENTITY_IDS_OF_CUSTOMER, tenant, customer_id)]


@dataclass(frozen=True, slots=True)
class ContactAssignmentFilter:
    """GET /legal-entities/contact-assignments: the checked `q` and `sort`, and the dedicated filters."""

    search: Search
    filters: ContactAssignmentFilters


_FROM_CONTACT_ASSIGNMENTS = (
    "FROM contact_assignments ca\nJOIN legal_entities le ON le.tenant = ca.tenant AND le.id = ca.legal_entity_id"
)
_CONTACT_ASSIGNMENTS = ListStatement(
    f"{_CA_COLUMNS}, {_LE_JOINED_COLUMNS}",
    _FROM_CONTACT_ASSIGNMENTS,
    "ca.tenant = $1",
    _contact_assignment,
    tiebreak="ca.id",
)


async def list_contact_assignments(
    conn: Connection, tenant: str, contact_assignments: ContactAssignmentFilter, *, page: Page, with_total: bool
) -> tuple[list[ContactAssignmentRow], int | None]:
    """One page of contact assignments (with their legal entities) matching the filter, and the total when asked
    for."""
    criteria = _CONTACT_ASSIGNMENTS.criteria(tenant, query=contact_assignments.search.query)
    filters = contact_assignments.filters
    match_filters(
        criteria,
        CONTACT_ASSIGNMENT_FIELDS,
        (
            ("legalEntity.id", Match.EQUALS, filters.legal_entity_id),
            ("customer.id", Match.EQUALS, filters.customer_id),
            ("type", Match.EQUALS, None if filters.type is None else filters.type.value),
            ("primary", Match.EQUALS, filters.primary),
        ),
    )
    return await fetch_page(
        conn, _CONTACT_ASSIGNMENTS, criteria, contact_assignments.search.ordering, page=page, with_total=with_total
    )


_CONTACT_PAIRS = """
SELECT DISTINCT ca.customer_id, ca.legal_entity_id
FROM contact_assignments ca
JOIN unnest($2::text[], $3::text[]) AS p (customer_id, legal_entity_id)
  ON ca.customer_id = p.customer_id AND ca.legal_entity_id = p.legal_entity_id
WHERE ca.tenant = $1
"""


async def contact_pairs(conn: Connection, tenant: str, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (customer id, legal entity id) pairs are contacts (of any type), in one statement."""
    records = await conn.fetch(_CONTACT_PAIRS, tenant, [c for c, _ in pairs], [le for _, le in pairs])
    return {(r["customer_id"], r["legal_entity_id"]) for r in records}
