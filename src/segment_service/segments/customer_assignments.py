"""Segment customer assignments (operations 12-21 of customer-segment.yml): rules and transactions, no HTTP.

B2C assignments have no legal entity ('' in the table); B2B ones name one the customer is a contact of
(docs/decisions.md#the-legal-entity-context).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from segment_service.core import events, membership_lock
from segment_service.core.auth import Caller, Scope
from segment_service.core.bulk import BulkResult, check_bulk_size, run_bulk
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, NotFound, VersionConflict
from segment_service.core.listing import parse_search
from segment_service.core.models import UNSET, body_mixins
from segment_service.core.paging import Page
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.segments import customer_assignment_store as store
from segment_service.segments import service as segments_service
from segment_service.segments.customer_assignment_models import (
    CustomerAssignmentDelete,
    CustomerAssignmentUpsert,
    CustomerAssignmentUpsertBulk,
)

#: `bulk` is a path under /customers, so it is not a customer id (docs/decisions.md#ids-and-reserved-words).
RESERVED_CUSTOMER_IDS = frozenset({"bulk"})
B2C = ""


def assignment_document(row: store.AssignmentRow) -> dict[str, Any]:
    """`CustomerAssignmentResponse` (B2B) or `CustomerAssignmentB2CResponse` of a stored assignment."""
    customer: dict[str, Any] = {"id": row.customer_id}
    for key, value in (("firstName", row.first_name), ("lastName", row.last_name), ("email", row.email)):
        if value is not None:
            customer[key] = value
    doc: dict[str, Any] = {"customer": customer}
    if row.legal_entity_id != B2C:
        legal_entity: dict[str, Any] = {"id": row.legal_entity_id}
        if row.legal_entity_name is not None:
            legal_entity["name"] = row.legal_entity_name
        doc["legalEntity"] = legal_entity
    doc["assignmentType"] = row.assignment_type
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    metadata: dict[str, Any] = {"createdAt": row.created_at, "modifiedAt": row.modified_at, "version": row.version}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    return doc


def _describe(customer_id: str, legal_entity_id: str) -> str:
    if legal_entity_id == B2C:
        return f"customer {customer_id}"
    return f"customer {customer_id} with legal entity {legal_entity_id}"


async def _require_segment(conn: Connection, tenant: str, segment_id: str) -> None:
    if not await store.segment_exists(conn, tenant, segment_id):
        raise segments_service.segment_not_found(segment_id)


def _check_customer_id(customer_id: str, *, field: str = "customerId") -> None:
    if not customer_id:
        raise BadRequest(
            f"Validation problem with request body: {field} is required.", field=field, type="missing_value"
        )
    if customer_id in RESERVED_CUSTOMER_IDS:
        raise BadRequest(
            f"'{customer_id}' is not a valid customer id.", field=field, type="invalid_value", resource_id=customer_id
        )


def _missing_customer(customer_id: str) -> BadRequest:
    return BadRequest(
        f"The customer {customer_id} does not exist.",
        field="customerId",
        type="missing_reference",
        resource_id=customer_id,
    )


def _missing_legal_entity(legal_entity_id: str) -> BadRequest:
    return BadRequest(
        f"The legal entity {legal_entity_id} does not exist.",
        field="legalEntityId",
        type="missing_reference",
        resource_id=legal_entity_id,
    )


def _not_a_contact(customer_id: str, legal_entity_id: str) -> BadRequest:
    return BadRequest(
        f"The customer {customer_id} is not a contact of the legal entity {legal_entity_id}.",
        field="legalEntityId",
        type="missing_reference",
        resource_id=customer_id,
    )


async def _check_references(conn: Connection, tenant: str, customer_id: str, legal_entity_id: str) -> None:
    """400 naming the missing reference: the customer, the legal entity, or the contact between them."""
    if not await customers_service.customer_exists(conn, tenant, customer_id, for_write=True):
        raise _missing_customer(customer_id)
    if legal_entity_id == B2C:
        return
    if not await legal_entities_service.legal_entity_exists(conn, tenant, legal_entity_id):
        raise _missing_legal_entity(legal_entity_id)
    if not await legal_entities_service.is_contact(conn, tenant, customer_id, legal_entity_id, for_write=True):
        raise _not_a_contact(customer_id, legal_entity_id)


def _content(body: CustomerAssignmentUpsert) -> tuple[dict[str, Any] | None, dict[str, Any] | None, int | None]:
    """(mixins, metadata mixins, expected version) of an upsert body."""
    mixins, metadata_mixins = body_mixins(body.mixins, body.metadata)
    version: int | None = None
    if body.metadata is not UNSET and body.metadata is not None and body.metadata.version is not UNSET:
        version = body.metadata.version
    return mixins, metadata_mixins, version


async def _write(
    conn: Connection,
    tenant: str,
    segment_id: str,
    customer_id: str,
    legal_entity_id: str,
    body: CustomerAssignmentUpsert,
) -> bool:
    """The upsert itself, references already checked; whether it created the assignment."""
    await membership_lock.share(conn, tenant)
    mixins, metadata_mixins, version = _content(body)
    created = await store.upsert_assignment(
        conn, tenant, segment_id, customer_id, legal_entity_id, mixins, metadata_mixins, version
    )
    if created is None:
        raise VersionConflict(resource_id=customer_id)
    event = events.CustomerAssignmentCreated if created else events.CustomerAssignmentUpdated
    await events.emit(
        conn,
        event(tenant=tenant, segment_id=segment_id, customer_id=customer_id, legal_entity_id=legal_entity_id or None),
    )
    return created


async def _delete(conn: Connection, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str) -> None:
    """Delete one assignment ('' legal entity: B2C) if it exists, and announce it when it did. A rule's membership
    cannot be deleted: it would come back at the rule's next look; an exclusion is what removes it."""
    await membership_lock.share(conn, tenant)
    deleted = await store.delete_assignment(conn, tenant, segment_id, customer_id, legal_entity_id)
    if deleted == "AUTOMATIC":
        raise BadRequest(
            f"The {_describe(customer_id, legal_entity_id)} is a member of the segment {segment_id} through its rule"
            " (assignmentType AUTOMATIC) and cannot be unassigned; exclude it with PUT"
            f" /customer-segment/{tenant}/segments/{segment_id}/exclusions/{customer_id}"
            + (f"/{legal_entity_id}" if legal_entity_id else "")
            + " instead.",
            type="automatic_assignment",
            resource_id=customer_id,
        )
    if deleted == "MANUAL":
        event = events.CustomerAssignmentDeleted(
            tenant=tenant, segment_id=segment_id, customer_id=customer_id, legal_entity_id=legal_entity_id or None
        )
        await events.emit(conn, event)


# ------------------------------------------------------------------------------------------------------- single


async def upsert_assignment(
    db: Database,
    caller: Caller,
    segment_id: str,
    customer_id: str,
    legal_entity_id: str | None,
    body: CustomerAssignmentUpsert,
) -> bool:
    """Assign the customer (B2C when `legal_entity_id` is None) to the segment, or replace the assignment's mixins;
    whether it was created. A sent `metadata.version` must match (409)."""
    _check_customer_id(customer_id)
    le = legal_entity_id or B2C
    async with db.transaction() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        await _check_references(conn, caller.tenant, customer_id, le)
        return await _write(conn, caller.tenant, segment_id, customer_id, le, body)


async def get_assignment(
    db: Database, caller: Caller, segment_id: str, customer_id: str, legal_entity_id: str | None
) -> dict[str, Any]:
    """One assignment with its customer (and legal entity); 404 when the segment or the assignment is missing."""
    le = legal_entity_id or B2C
    async with db.connection() as conn:
        row = await store.fetch_assignment(conn, caller.tenant, segment_id, customer_id, le)
        if row is None:
            await _require_segment(conn, caller.tenant, segment_id)
            raise NotFound(
                f"The {_describe(customer_id, le)} is not assigned to the segment {segment_id}.",
                resource_id=customer_id,
            )
    return assignment_document(row)


async def delete_assignment(
    db: Database, caller: Caller, segment_id: str, customer_id: str, legal_entity_id: str | None
) -> None:
    """Remove an assignment; removing one that does not exist is fine (docs/decisions.md#deletes-are-idempotent)."""
    async with db.transaction() as conn:
        await _delete(conn, caller.tenant, segment_id, customer_id, legal_entity_id or B2C)


# --------------------------------------------------------------------------------------------------------- list


async def list_assignments(
    db: Database, caller: Caller, segment_id: str, *, q: str | None, page: Page, sort: str | None, with_total: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the segment's assignments matching `q`. A `segment_read_own` caller sees only its own."""
    search = parse_search(q, sort, store.ASSIGNMENT_FIELDS)
    reader = caller.has_any((Scope.SEGMENT_READ,))
    assignments = store.AssignmentFilter(
        search,
        customer_id=None if reader else caller.customer_id,
        nothing=not reader and caller.customer_id is None,
    )

    async def read_page(conn: Connection) -> tuple[list[dict[str, Any]], int | None]:
        rows, total = await store.list_assignments(
            conn, caller.tenant, segment_id, assignments, page=page, with_total=with_total
        )
        if not rows:  # rows prove the segment exists; only an empty page needs the extra check
            await _require_segment(conn, caller.tenant, segment_id)
        return [assignment_document(r) for r in rows], total

    return await db.read(caller.read_key, read_page)


# --------------------------------------------------------------------------------------------------------- bulk


def _decode(item: Any, model: type[Any]) -> Any:
    try:
        return msgspec.convert(item, type=model, str_keys=True, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Validation problem with request body: {exc}.", type="invalid_value") from exc


def _key(item: Any) -> tuple[str, str] | None:
    """(customerId, legalEntityId or '') an item names, when it names them as strings."""
    if not isinstance(item, dict) or not isinstance(item.get("customerId"), str):
        return None
    le = item.get("legalEntityId")
    return item["customerId"], le if isinstance(le, str) else B2C


def _lock_key(item: Any) -> str:
    key = _key(item)
    return "" if key is None else f"{key[0]}\x00{key[1]}"


async def bulk_upsert_assignments(
    db: Database, caller: Caller, segment_id: str, items: Sequence[Any]
) -> list[BulkResult]:
    """Upsert each assignment on its own (201 created, 204 updated, else that item's error). The references of all
    items are read up front in batched queries: one for the customers, one for the legal entities."""
    check_bulk_size(items)
    keys = [k for k in map(_key, items) if k is not None]
    async with db.connection() as conn:
        await _require_segment(conn, caller.tenant, segment_id)
        customers = await customers_service.fetch_customers(conn, caller.tenant, sorted({c for c, _ in keys}))
        le_ids = sorted({le for _, le in keys if le != B2C})
        legal_entities = (
            await legal_entities_service.fetch_legal_entities(conn, caller.tenant, le_ids) if le_ids else {}
        )

    async def upsert_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        body: CustomerAssignmentUpsertBulk = _decode(item, CustomerAssignmentUpsertBulk)
        customer_id = "" if body.customer_id is UNSET else body.customer_id
        _check_customer_id(customer_id)
        le = body.legal_entity_id if isinstance(body.legal_entity_id, str) else B2C
        # The batched read tells a missing customer without a statement; the lock keeps an existing one until the write
        # commits (a delete in between would leave the assignment behind).
        if customer_id not in customers or not await customers_service.customer_exists(
            conn, caller.tenant, customer_id, for_write=True
        ):
            raise _missing_customer(customer_id)
        if le != B2C:
            if le not in legal_entities:
                raise _missing_legal_entity(le)
            # No batched contact lookup exists in the Legal Entity service: one index probe per B2B item.
            if not await legal_entities_service.is_contact(conn, caller.tenant, customer_id, le, for_write=True):
                raise _not_a_contact(customer_id, le)
        return (201 if await _write(conn, caller.tenant, segment_id, customer_id, le, body) else 204), None

    return await run_bulk(db, items, upsert_one, with_ids=False, lock_key=_lock_key)


async def bulk_delete_assignments(
    db: Database, caller: Caller, segment_id: str, items: Sequence[Any]
) -> list[BulkResult]:
    """Delete each named assignment on its own (204 whether or not it existed)."""

    async def delete_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        body: CustomerAssignmentDelete = _decode(item, CustomerAssignmentDelete)
        customer_id = "" if body.customer_id is UNSET else body.customer_id
        _check_customer_id(customer_id)
        le = body.legal_entity_id if isinstance(body.legal_entity_id, str) else B2C
        await _delete(conn, caller.tenant, segment_id, customer_id, le)
        return 204, None

    return await run_bulk(db, items, delete_one, with_ids=False, lock_key=_lock_key)
