"""Legal-entity SQL, and the row shapes contact_store.py shares. Every statement filters on tenant; the only SQL
built at run time is what `core.query` compiles from the field registries and the fixed filter conditions below."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest, Conflict
from segment_service.core.listing import Criteria, ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind, spec_only
from segment_service.core.timefmt import iso_sql
from segment_service.legal_entities.models import LegalEntityFilters

# ------------------------------------------------------------------------------------------------ field registries
_REGISTRATION_DATE = "(le.legal_info ->> 'registrationDate')::timestamptz"

#: The public field paths of a legal entity for `q` and `sort`, with the SQL each one reads.
LEGAL_ENTITY_FIELDS: dict[str, Field] = {
    "id": Field("le.id", FieldKind.TEXT),
    "name": Field("le.name", FieldKind.TEXT),
    "type": Field("le.type", FieldKind.TEXT),
    "parentId": Field("le.parent_id", FieldKind.TEXT),
    "legalInfo.legalName": Field("le.legal_info ->> 'legalName'", FieldKind.TEXT),
    # Stored as a normalised UTC string (`…Z`), so the cast can never fail.
    "legalInfo.registrationDate": Field(_REGISTRATION_DATE, FieldKind.DATETIME),
    "legalInfo.taxRegistrationNumber": Field("le.legal_info ->> 'taxRegistrationNumber'", FieldKind.TEXT),
    "legalInfo.registrationAgency": Field("le.legal_info ->> 'registrationAgency'", FieldKind.TEXT),
    "legalInfo.countryOfRegistration": Field("le.legal_info ->> 'countryOfRegistration'", FieldKind.TEXT),
    "legalInfo.registrationId": Field("le.legal_info ->> 'registrationId'", FieldKind.TEXT),
    "accountLimit.currency": Field("le.account_limit ->> 'currency'", FieldKind.TEXT),
    "accountLimit.value": Field("(le.account_limit ->> 'value')::numeric", FieldKind.NUMBER),
    "metadata.version": Field("le.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("le.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("le.modified_at", FieldKind.DATETIME),
    # The flat spellings used in Emporix's own q examples (docs/decisions.md#the-q-language).
    "metadataCreatedAt": Field("le.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("le.modified_at", FieldKind.DATETIME),
    "mixins": Field("le.mixins", FieldKind.JSON),
    # Fields of legal-entity.yml the service does not store (core/query FieldKind.ABSENT).
    **spec_only(
        "approvalGroup",
        "entitiesAddresses",
    ),
}

#: The public field paths of a contact assignment for `q` and `sort`.
CONTACT_ASSIGNMENT_FIELDS: dict[str, Field] = {
    "id": Field("ca.id", FieldKind.TEXT),
    "legalEntity.id": Field("ca.legal_entity_id", FieldKind.TEXT),
    "legalEntity.name": Field("le.name", FieldKind.TEXT),
    "customer.id": Field("ca.customer_id", FieldKind.TEXT),
    "type": Field("ca.type", FieldKind.TEXT),
    "primary": Field("ca.is_primary", FieldKind.BOOLEAN),
    "metadata.version": Field("ca.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("ca.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("ca.modified_at", FieldKind.DATETIME),
    "metadataCreatedAt": Field("ca.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("ca.modified_at", FieldKind.DATETIME),
    "mixins": Field("ca.mixins", FieldKind.JSON),
}

# ------------------------------------------------------------------------------------------------ rows
_LE_PLAIN = (
    "id",
    "name",
    "type",
    "parent_id",
    "legal_info",
    "account_limit",
    "customer_groups",
    "restrictions",
    "mixins",
    "metadata_mixins",
    "version",
)
_LE_TIMES = ("created_at", "modified_at")
#: Every column of a legal entity as the service reads it, date-times already in the wire format.
_LE_COLUMNS = ", ".join([*(f"le.{c}" for c in _LE_PLAIN), *(iso_sql(f"le.{c}") for c in _LE_TIMES)])
#: The same, named `le_…`, for statements that read a contact assignment together with its legal entity.
_LE_JOINED_COLUMNS = ", ".join(
    [*(f"le.{c} AS le_{c}" for c in _LE_PLAIN), *(iso_sql(f"le.{c}", f"le_{c}") for c in _LE_TIMES)]
)
_CA_COLUMNS = (
    "ca.id, ca.legal_entity_id, ca.customer_id, ca.type, ca.is_primary, ca.mixins, ca.metadata_mixins, ca.version, "
    + ", ".join(iso_sql(f"ca.{c}") for c in ("created_at", "modified_at"))
)


class LegalEntityContent(msgspec.Struct, kw_only=True):
    """What a client writes of a legal entity; the database keeps the version and the timestamps."""

    id: str
    name: str
    type: str
    parent_id: str | None
    legal_info: dict[str, Any] | None
    account_limit: dict[str, Any] | None
    customer_groups: list[dict[str, Any]] | None
    restrictions: list[str] | None
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class LegalEntityRow(LegalEntityContent, kw_only=True):
    """A stored legal entity as the API shows it: date-times are `2024-05-14T12:00:00.000Z` strings."""

    version: int
    created_at: str
    modified_at: str


class ContactAssignmentContent(msgspec.Struct, kw_only=True):
    """What a client writes of a contact assignment."""

    id: str
    legal_entity_id: str
    customer_id: str
    type: str
    is_primary: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class ContactAssignmentRow(ContactAssignmentContent, kw_only=True):
    """A stored contact assignment with its legal entity."""

    version: int
    created_at: str
    modified_at: str
    legal_entity: LegalEntityRow


_LE_NAMES = (*_LE_PLAIN, *_LE_TIMES)


def _legal_entity(record: asyncpg.Record) -> LegalEntityRow:
    return LegalEntityRow(**record)


def _contact_assignment(record: asyncpg.Record) -> ContactAssignmentRow:
    fields = dict(record)
    legal_entity = LegalEntityRow(**{name: fields.pop(f"le_{name}") for name in _LE_NAMES})
    return ContactAssignmentRow(**fields, legal_entity=legal_entity)


# ------------------------------------------------------------------------------------------------ legal entities
_SELECT_LEGAL_ENTITY = f"""
SELECT {_LE_COLUMNS}
FROM legal_entities le
WHERE le.tenant = $1 AND le.id = $2
"""

_SELECT_LEGAL_ENTITIES = f"""
SELECT {_LE_COLUMNS}
FROM legal_entities le
WHERE le.tenant = $1 AND le.id = ANY($2::text[])
"""

_LEGAL_ENTITY_EXISTS = """
SELECT EXISTS (SELECT 1 FROM legal_entities WHERE tenant = $1 AND id = $2)
"""

_INSERT_LEGAL_ENTITY = """
INSERT INTO legal_entities (tenant, id, name, type, parent_id, legal_info, account_limit, customer_groups,
                            restrictions, mixins, metadata_mixins, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, now(), now())
"""

# One statement for PUT: insert, or replace when the stored version is the one the client saw ($12 NULL: no lock).
# No row back means the version did not match; xmax = 0 tells a fresh insert from an update.
_UPSERT_LEGAL_ENTITY = """
INSERT INTO legal_entities AS le (tenant, id, name, type, parent_id, legal_info, account_limit, customer_groups,
                                  restrictions, mixins, metadata_mixins, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, now(), now())
ON CONFLICT ON CONSTRAINT legal_entities_pkey DO UPDATE
SET name = excluded.name, type = excluded.type, parent_id = excluded.parent_id, legal_info = excluded.legal_info,
    account_limit = excluded.account_limit, customer_groups = excluded.customer_groups,
    restrictions = excluded.restrictions, mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins,
    version = le.version + 1, modified_at = now()
WHERE $12::integer IS NULL OR le.version = $12
RETURNING (le.xmax = 0) AS created
"""

# Removes the subsidiaries below it and every contact assignment of them through the foreign keys.
# The subtree is read in the statement's snapshot, before the delete (and its cascade to the subsidiaries) runs.
_DELETE_LEGAL_ENTITY = """
WITH RECURSIVE subtree (id, depth) AS (
    SELECT id, 0 FROM legal_entities WHERE tenant = $1 AND id = $2
    UNION
    SELECT le.id, s.depth + 1 FROM legal_entities le JOIN subtree s ON le.tenant = $1 AND le.parent_id = s.id
), deleted AS (
    DELETE FROM legal_entities WHERE tenant = $1 AND id = $2 RETURNING id
)
SELECT s.id FROM subtree s WHERE EXISTS (SELECT 1 FROM deleted) ORDER BY s.depth, s.id
"""

# Hierarchy changes of one tenant run one at a time, so that two concurrent writes cannot close a cycle that
# neither of them sees alone.
_LOCK_HIERARCHY = """
SELECT pg_advisory_xact_lock(hashtextextended('legal_entities:' || $1, 0))
"""

# The proposed parent ($2) and its ancestors: whether it exists, and whether the entity ($3) is among them. UNION
# (not UNION ALL) ends the walk even if a cycle were ever stored.
_PARENT_CHAIN = """
WITH RECURSIVE chain (id, parent_id) AS (
    SELECT id, parent_id FROM legal_entities WHERE tenant = $1 AND id = $2
    UNION
    SELECT le.id, le.parent_id
    FROM legal_entities le
    JOIN chain c ON le.tenant = $1 AND le.id = c.parent_id
)
SELECT count(*) > 0 AS parent_exists, coalesce(bool_or(id = $3), false) AS cycle
FROM chain
"""


def _legal_entity_values(row: LegalEntityContent) -> tuple[Any, ...]:
    return (
        row.name,
        row.type,
        row.parent_id,
        row.legal_info,
        row.account_limit,
        row.customer_groups,
        row.restrictions,
        row.mixins,
        row.metadata_mixins,
    )


def _parent_missing(parent_id: str | None) -> BadRequest:
    return BadRequest(
        f"The parent legal entity '{parent_id}' does not exist.", field="parentId", type="invalid_reference"
    )


async def fetch_legal_entity(conn: Connection, tenant: str, legal_entity_id: str) -> LegalEntityRow | None:
    """The legal entity with this id, or None."""
    record = await conn.fetchrow(_SELECT_LEGAL_ENTITY, tenant, legal_entity_id)
    return None if record is None else _legal_entity(record)


async def fetch_legal_entities(conn: Connection, tenant: str, ids: Sequence[str]) -> dict[str, LegalEntityRow]:
    """The legal entities among `ids` that exist, by id."""
    records = await conn.fetch(_SELECT_LEGAL_ENTITIES, tenant, list(ids))
    return {r["id"]: _legal_entity(r) for r in records}


async def legal_entity_exists(conn: Connection, tenant: str, legal_entity_id: str) -> bool:
    """Whether the legal entity exists."""
    return bool(await conn.fetchval(_LEGAL_ENTITY_EXISTS, tenant, legal_entity_id))


async def lock_hierarchy(conn: Connection, tenant: str) -> None:
    """Serialise parent changes of the tenant until the transaction ends."""
    await conn.execute(_LOCK_HIERARCHY, tenant)


async def check_parent(conn: Connection, tenant: str, legal_entity_id: str, parent_id: str) -> tuple[bool, bool]:
    """(whether `parent_id` exists, whether `legal_entity_id` is `parent_id` or one of its ancestors)."""
    record = await conn.fetchrow(_PARENT_CHAIN, tenant, parent_id, legal_entity_id)
    assert record is not None
    return bool(record["parent_exists"]), bool(record["cycle"])


async def insert_legal_entity(conn: Connection, tenant: str, row: LegalEntityContent) -> None:
    """Store a new legal entity at version 1; Conflict when the id is taken."""
    try:
        await conn.execute(_INSERT_LEGAL_ENTITY, tenant, row.id, *_legal_entity_values(row))
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "legal_entities_pkey":
            raise Conflict("The resource already exists.", resource_id=row.id) from exc
        raise
    except asyncpg.ForeignKeyViolationError as exc:
        if exc.constraint_name == "legal_entities_parent_fkey":
            raise _parent_missing(row.parent_id) from exc  # the parent was deleted meanwhile
        raise


async def upsert_legal_entity(
    conn: Connection, tenant: str, row: LegalEntityContent, expected_version: int | None
) -> bool | None:
    """Create or replace a legal entity: True when created, False when replaced, None when its version is not
    `expected_version`."""
    try:
        record = await conn.fetchrow(_UPSERT_LEGAL_ENTITY, tenant, row.id, *_legal_entity_values(row), expected_version)
    except asyncpg.ForeignKeyViolationError as exc:
        if exc.constraint_name == "legal_entities_parent_fkey":
            raise _parent_missing(row.parent_id) from exc
        raise
    return None if record is None else bool(record["created"])


async def delete_legal_entity(conn: Connection, tenant: str, legal_entity_id: str) -> list[str]:
    """Delete a legal entity with its subsidiaries and their contact assignments; the ids of the deleted entities,
    the requested one first (none when it did not exist)."""
    return [r["id"] for r in await conn.fetch(_DELETE_LEGAL_ENTITY, tenant, legal_entity_id)]


@dataclass(frozen=True, slots=True)
class LegalEntityFilter:
    """GET /legal-entities: the checked `q` and `sort`, the dedicated filters, the registration window
    `[start, end)` (no end: from start on) and what the caller may see: with `contact_of`, only the legal entities
    that customer is a contact of; with `nothing`, none."""

    search: Search
    filters: LegalEntityFilters
    registered: tuple[datetime, datetime | None] | None = None
    contact_of: str | None = None
    nothing: bool = False


_LEGAL_ENTITIES = ListStatement(
    _LE_COLUMNS, "FROM legal_entities le", "le.tenant = $1", _legal_entity, tiebreak="le.id"
)


async def list_legal_entities(
    conn: Connection, tenant: str, legal_entities: LegalEntityFilter, *, page: Page, with_total: bool
) -> tuple[list[LegalEntityRow], int | None]:
    """One page of the legal entities matching the filter that the caller may see, and the total when asked for."""
    criteria = _LEGAL_ENTITIES.criteria(tenant, query=legal_entities.search.query)
    filters = legal_entities.filters
    match_filters(
        criteria,
        LEGAL_ENTITY_FIELDS,
        (
            ("id", Match.EQUALS_IGNORE_CASE, filters.id),
            ("name", Match.CONTAINS_IGNORE_CASE, filters.name),
            ("type", Match.EQUALS, None if filters.type is None else filters.type.value),
            ("parentId", Match.EQUALS, filters.parent_id),
            ("legalInfo.legalName", Match.CONTAINS_IGNORE_CASE, filters.legal_name),
            ("legalInfo.taxRegistrationNumber", Match.EQUALS, filters.tax_registration_number),
            ("legalInfo.registrationAgency", Match.CONTAINS_IGNORE_CASE, filters.registration_agency),
            ("legalInfo.countryOfRegistration", Match.CONTAINS_IGNORE_CASE, filters.country_of_registration),
            ("legalInfo.registrationId", Match.EQUALS, filters.registration_id),
        ),
    )
    if legal_entities.registered is not None:
        start, end = legal_entities.registered
        criteria.where(f"{_REGISTRATION_DATE} >= {criteria.bind(start)}::timestamptz")
        if end is not None:
            criteria.where(f"{_REGISTRATION_DATE} < {criteria.bind(end)}::timestamptz")
    if legal_entities.nothing:
        criteria.where("FALSE")
    elif legal_entities.contact_of is not None:
        criteria.where(
            "EXISTS (SELECT 1 FROM contact_assignments ca WHERE ca.tenant = le.tenant"
            f" AND ca.customer_id = {criteria.bind(legal_entities.contact_of)}::text AND ca.legal_entity_id = le.id)"
        )
    return await fetch_page(
        conn, _LEGAL_ENTITIES, criteria, legal_entities.search.ordering, page=page, with_total=with_total
    )


class Match(StrEnum):
    """How a dedicated filter parameter compares (legal-entity.yml names the operator of each)."""

    EQUALS = "equals"
    EQUALS_IGNORE_CASE = "equals, case-insensitive"
    CONTAINS_IGNORE_CASE = "contains, case-insensitive"


_CASTS = {FieldKind.TEXT: "text", FieldKind.BOOLEAN: "boolean"}


def match_filters(
    criteria: Criteria, registry: dict[str, Field], filters: Iterable[tuple[str, Match, object | None]]
) -> None:
    """AND the filter parameters given as (registry path, match, value) into `criteria`; a None value is no filter.
    `contains` uses strpos, so the value's `%` and `_` are plain characters."""
    for path, match, value in filters:
        if value is None:
            continue
        field = registry[path]
        param = f"{criteria.bind(value)}::{_CASTS[field.kind]}"
        if match is Match.EQUALS:
            criteria.where(f"({field.sql}) = {param}")
        elif match is Match.EQUALS_IGNORE_CASE:
            criteria.where(f"lower({field.sql}) = lower({param})")
        else:
            criteria.where(f"strpos(lower({field.sql}), lower({param})) > 0")
