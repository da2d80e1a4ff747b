"""Legal-entity rules and transactions (Customer Management, legal-entity.yml); no HTTP here. Contact assignments
are in `contacts.py`.

Other services call the functions under "For other services" inside their own transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from segment_service.core import events
from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, NotFound, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.listing import Search, parse_ordering, parse_query
from segment_service.core.models import UNSET, UnsetType, to_builtins
from segment_service.core.paging import Page
from segment_service.core.timefmt import as_utc, iso
from segment_service.legal_entities import contact_store, store
from segment_service.legal_entities.models import (
    LegalEntityCreate,
    LegalEntityFields,
    LegalEntityFilters,
    LegalEntityUpdate,
    LegalInfo,
    MetadataCreate,
    MetadataUpdate,
)
from segment_service.legal_entities.store import LegalEntityRow

__all__ = [
    "LegalEntityRow",
    "create_legal_entity",
    "delete_contact_assignments_of_customer",
    "delete_legal_entity",
    "expected_version",
    "fetch_legal_entities",
    "get_legal_entity",
    "is_contact",
    "legal_entity_document",
    "legal_entity_exists",
    "legal_entity_ids_of_customer",
    "list_legal_entities",
    "metadata_document",
    "metadata_mixins",
    "not_found",
    "upsert_legal_entity",
]

#: `/legal-entities/search` is a path of its own, so `search` cannot be a legal entity's id.
RESERVED_IDS = frozenset({"search"})


# ------------------------------------------------------------------------------------------------ documents
# jsonb keeps keys in its own order; documents show them in the spec's.
_LEGAL_INFO_KEYS = (
    "legalName",
    "registrationDate",
    "taxRegistrationNumber",
    "registrationAgency",
    "countryOfRegistration",
    "registrationId",
)
_ACCOUNT_LIMIT_KEYS = ("currency", "value")
_CUSTOMER_GROUP_KEYS = ("id", "name", "role")


def _ordered(value: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: value[key] for key in keys if key in value}


def legal_entity_document(row: LegalEntityRow) -> dict[str, Any]:
    """The `legalEntity` of a stored row, with the spec's field names and order."""
    doc: dict[str, Any] = {"id": row.id, "name": row.name, "type": row.type}
    if row.parent_id is not None:
        doc["parentId"] = row.parent_id
    if row.account_limit is not None:
        doc["accountLimit"] = _ordered(row.account_limit, _ACCOUNT_LIMIT_KEYS)
    if row.legal_info is not None:
        doc["legalInfo"] = _ordered(row.legal_info, _LEGAL_INFO_KEYS)
    if row.customer_groups is not None:
        doc["customerGroups"] = [_ordered(group, _CUSTOMER_GROUP_KEYS) for group in row.customer_groups]
    if row.restrictions is not None:
        doc["restrictions"] = row.restrictions
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    doc["metadata"] = metadata_document(row.version, row.created_at, row.modified_at, row.metadata_mixins)
    return doc


def metadata_document(version: int, created_at: str, modified_at: str, mixins: dict[str, Any] | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"createdAt": created_at, "modifiedAt": modified_at, "version": version}
    if mixins is not None:
        metadata["mixins"] = mixins
    return metadata


def metadata_mixins(metadata: MetadataCreate | MetadataUpdate | UnsetType | None) -> dict[str, Any] | None:
    if metadata is UNSET or metadata is None or metadata.mixins is UNSET:
        return None
    return metadata.mixins


def expected_version(metadata: MetadataUpdate | UnsetType | None) -> int | None:
    if metadata is UNSET or metadata is None or metadata.version is UNSET:
        return None
    return metadata.version


def not_found(kind: str, resource_id: str) -> NotFound:
    return NotFound(f"The {kind} with id '{resource_id}' does not exist.", resource_id=resource_id)


# ------------------------------------------------------------------------------------------------ legal entities
def _legal_info(info: LegalInfo | UnsetType | None) -> dict[str, Any] | None:
    if info is UNSET or info is None:
        return None
    doc: dict[str, Any] = to_builtins(info)
    if info.registration_date is not UNSET and info.registration_date is not None:
        doc["registrationDate"] = iso(as_utc(info.registration_date, field="legalInfo.registrationDate"))
    doc = {k: v for k, v in doc.items() if v is not None}
    return doc or None


def _legal_entity_content(
    legal_entity_id: str,
    body: LegalEntityFields,
    entity_type: str,
    metadata: MetadataCreate | MetadataUpdate | UnsetType | None,
) -> store.LegalEntityContent:
    """A legal-entity row from a create or replace body."""
    parent_id = None if body.parent_id is UNSET else body.parent_id
    account_limit = None
    if body.account_limit is not UNSET and body.account_limit is not None:
        account_limit = {k: v for k, v in to_builtins(body.account_limit).items() if v is not None} or None
    return store.LegalEntityContent(
        id=legal_entity_id,
        name=body.name,
        type=entity_type,
        parent_id=parent_id,
        legal_info=_legal_info(body.legal_info),
        account_limit=account_limit,
        customer_groups=(
            None if body.customer_groups is UNSET or body.customer_groups is None else to_builtins(body.customer_groups)
        ),
        restrictions=None if body.restrictions is UNSET else body.restrictions,
        mixins=None if body.mixins is UNSET else body.mixins,
        metadata_mixins=metadata_mixins(metadata),
    )


async def _check_parent(conn: Connection, tenant: str, legal_entity_id: str, parent_id: str | None) -> None:
    """The parent must be a legal entity of the tenant and must not lie below the entity (no cycles)."""
    if parent_id is None:
        return
    if parent_id == legal_entity_id:
        raise BadRequest(
            f"Invalid parentId '{parent_id}': a legal entity cannot be its own parent.",
            field="parentId",
            type="invalid_reference",
        )
    await store.lock_hierarchy(conn, tenant)
    exists, cycle = await store.check_parent(conn, tenant, legal_entity_id, parent_id)
    if not exists:
        raise BadRequest(
            f"The parent legal entity '{parent_id}' does not exist.", field="parentId", type="invalid_reference"
        )
    if cycle:
        raise BadRequest(
            f"Invalid parentId '{parent_id}': it is a subsidiary of '{legal_entity_id}' (directly or "
            "further down), so the hierarchy would become a cycle.",
            field="parentId",
            type="invalid_reference",
        )


async def create_legal_entity(db: Database, caller: Caller, body: LegalEntityCreate) -> str:
    """Create a legal entity; its id (generated unless the body names one)."""
    legal_entity_id = new_id() if body.id is UNSET else check_custom_id(body.id, reserved=RESERVED_IDS)
    content = _legal_entity_content(legal_entity_id, body, body.type.value, body.metadata)
    async with db.transaction() as conn:
        await _check_parent(conn, caller.tenant, legal_entity_id, content.parent_id)
        await store.insert_legal_entity(conn, caller.tenant, content)
        await events.emit(conn, events.LegalEntityCreated(tenant=caller.tenant, legal_entity_id=legal_entity_id))
    return legal_entity_id


async def upsert_legal_entity(db: Database, caller: Caller, legal_entity_id: str, body: LegalEntityUpdate) -> bool:
    """Replace or create the legal entity `legal_entity_id`; whether it was created. A sent `metadata.version` must
    match the stored one (409)."""
    check_custom_id(legal_entity_id, reserved=RESERVED_IDS)
    content = _legal_entity_content(legal_entity_id, body, body.type.value, body.metadata)
    async with db.transaction() as conn:
        await _check_parent(conn, caller.tenant, legal_entity_id, content.parent_id)
        created = await store.upsert_legal_entity(conn, caller.tenant, content, expected_version(body.metadata))
        if created is None:
            raise VersionConflict(resource_id=legal_entity_id)
        event = events.LegalEntityCreated if created else events.LegalEntityUpdated
        await events.emit(conn, event(tenant=caller.tenant, legal_entity_id=legal_entity_id))
    return created


async def delete_legal_entity(db: Database, caller: Caller, legal_entity_id: str) -> None:
    """Delete a legal entity with everything subordinated to it: its subsidiaries (the whole subtree) and their
    contact assignments (legal-entity.yml, DELETE). 404 when it does not exist.

    The contacts of the subtree are no longer contacts (ContactRemoved each: their memberships and sessions in its
    context end), then each entity announces its deletion (LegalEntityDeleted: memberships in its context end)."""
    async with db.transaction() as conn:
        contacts = await contact_store.contacts_of_subtree(conn, caller.tenant, legal_entity_id)
        deleted = await store.delete_legal_entity(conn, caller.tenant, legal_entity_id)
        if not deleted:
            raise not_found("legal entity", legal_entity_id)
        for customer_id, contact_of in contacts:
            await events.emit(
                conn, events.ContactRemoved(tenant=caller.tenant, customer_id=customer_id, legal_entity_id=contact_of)
            )
        for gone in deleted:
            await events.emit(conn, events.LegalEntityDeleted(tenant=caller.tenant, legal_entity_id=gone))


async def get_legal_entity(db: Database, caller: Caller, legal_entity_id: str) -> dict[str, Any]:
    """One legal entity of the tenant; 404 otherwise."""
    async with db.connection() as conn:
        row = await store.fetch_legal_entity(conn, caller.tenant, legal_entity_id)
    if row is None:
        raise not_found("legal entity", legal_entity_id)
    return legal_entity_document(row)


def _registration_date(value: str) -> tuple[datetime, datetime | None]:
    """The range [start, end) a `legalInfo.registrationDate` filter asks for: the UTC day of a bare date, else the
    millisecond of the date-time (dates are stored to the millisecond). No end: unbounded (the year 9999)."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"Invalid legalInfo.registrationDate '{value[:40]}': expected an ISO 8601 date-time such as "
            "2022-03-31T13:18:02.379Z or a date such as 2022-03-31.",
            field="legalInfo.registrationDate",
            type="invalid_query_parameter",
        ) from None
    start = as_utc(moment, field="legalInfo.registrationDate")
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    bare_date = "T" not in text.upper() and " " not in text
    try:
        return start, start + (timedelta(days=1) if bare_date else timedelta(milliseconds=1))
    except OverflowError:
        return start, None


async def list_legal_entities(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    filters: LegalEntityFilters,
    page: Page,
    sort: str | None,
    with_total: bool,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the legal entities the caller may see that match `q` and the filters, and the total when asked.
    With only `legalentity_read_own`, the caller sees the legal entities its customer is a contact of
    (legal-entity.yml, GET /legal-entities)."""
    query = parse_query(q, store.LEGAL_ENTITY_FIELDS)
    registered = None if filters.registration_date is None else _registration_date(filters.registration_date)
    reader = caller.has_any((Scope.LEGAL_ENTITY_READ,))
    legal_entities = store.LegalEntityFilter(
        Search(query, parse_ordering(sort, store.LEGAL_ENTITY_FIELDS)),
        filters,
        registered,
        contact_of=None if reader else caller.customer_id,
        nothing=not reader and caller.customer_id is None,
    )
    rows, total = await db.read(
        caller.read_key,
        lambda conn: store.list_legal_entities(conn, caller.tenant, legal_entities, page=page, with_total=with_total),
    )
    return [legal_entity_document(r) for r in rows], total


# ------------------------------------------------------------------------------------------------ for other services
async def is_contact(
    conn: Connection, tenant: str, customer_id: str, legal_entity_id: str, *, for_write: bool = False
) -> bool:
    """Whether the customer is a contact (of any type) of the legal entity: one index probe. `for_write` keeps the
    contact from being removed until the caller's transaction ends (for a write that needs the contact)."""
    if for_write:
        return await contact_store.is_contact_locked(conn, tenant, customer_id, legal_entity_id)
    return await contact_store.is_contact(conn, tenant, customer_id, legal_entity_id)


async def contact_pairs(conn: Connection, tenant: str, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (customer id, legal entity id) pairs are contacts (of any type): one query for a whole batch."""
    return await contact_store.contact_pairs(conn, tenant, list(pairs)) if pairs else set()


async def legal_entity_ids_of_customer(conn: Connection, tenant: str, customer_id: str) -> list[str]:
    """The ids of the legal entities the customer is a contact of, sorted."""
    return await contact_store.legal_entity_ids_of_customer(conn, tenant, customer_id)


async def fetch_legal_entities(conn: Connection, tenant: str, ids: Sequence[str]) -> dict[str, LegalEntityRow]:
    """The legal entities among `ids` that exist in the tenant, by id (one query)."""
    return await store.fetch_legal_entities(conn, tenant, ids)


async def legal_entity_exists(conn: Connection, tenant: str, legal_entity_id: str) -> bool:
    """Whether the legal entity exists in the tenant."""
    return await store.legal_entity_exists(conn, tenant, legal_entity_id)


async def delete_contact_assignments_of_customer(conn: Connection, tenant: str, customer_id: str) -> int:
    """Remove a customer from every legal entity it is a contact of (when the customer is deleted:
    legal_entities/reactions.py); how many assignments there were."""
    return await contact_store.delete_contact_assignments_of_customer(conn, tenant, customer_id)
