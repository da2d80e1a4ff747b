"""Segment item assignment rules and transactions (operations 24-30 of customer-segment.yml); no HTTP here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from segment_service.categories import service as categories_service
from segment_service.core import events
from segment_service.core.auth import Caller, Scope
from segment_service.core.bulk import (
    BulkResult,
    check_bulk_size,
    error_result,
    item_id,
    lock_key_of,
    run_bulk,
    status_text,
)
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, NotFound, ServiceError, VersionConflict
from segment_service.core.listing import parse_search
from segment_service.core.models import UNSET, body_mixins
from segment_service.core.paging import Page
from segment_service.products import service as products_service
from segment_service.segments import item_assignment_store as store
from segment_service.segments import service as segments_service
from segment_service.segments.item_assignment_models import ItemAssignmentUpsert, ItemAssignmentUpsertBulk

ITEM_TYPES = ("PRODUCT", "CATEGORY")
#: `bulk` is a path under /items/{type}, so it is not a valid item id (docs/decisions.md#ids-and-reserved-words).
RESERVED_ITEM_IDS = frozenset({"bulk"})


def item_type_of(raw: str) -> str:
    """`{type}` of the path: PRODUCT or CATEGORY in any case, upper-cased; anything else 400."""
    value = raw.upper()
    if value not in ITEM_TYPES:
        raise BadRequest(
            f"Invalid type '{raw[:40]}': expected PRODUCT or CATEGORY.", field="type", type="invalid_value"
        )
    return value


def _kind(item_type: str) -> str:
    return "product" if item_type == "PRODUCT" else "category"


def _missing_item(item_type: str, item_id_: str) -> BadRequest:
    return BadRequest(
        f"The {_kind(item_type)} {item_id_} does not exist in this tenant.",
        field="id",
        type="invalid_reference",
        resource_id=item_id_,
    )


def _assignment_not_found(segment_id: str, item_type: str, item_id_: str) -> NotFound:
    return NotFound(f"The {_kind(item_type)} {item_id_} is not assigned to segment {segment_id}.", resource_id=item_id_)


def assignment_document(row: store.ItemAssignmentRow) -> dict[str, Any]:
    """The `ItemAssignmentResponse` of a stored assignment, with the spec's field names and order."""
    item: dict[str, Any] = {"id": row.item_id}
    if row.item_code is not None:
        item["code"] = row.item_code
    if row.item_name is not None:
        item["name"] = row.item_name
    doc: dict[str, Any] = {"segmentId": row.segment_id, "item": item, "type": row.item_type}
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    metadata: dict[str, Any] = {"createdAt": row.created_at, "modifiedAt": row.modified_at, "version": row.version}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    return doc


# --- reads -----------------------------------------------------------------------------------------------------------


async def _check_visible(db: Database, caller: Caller, segment_id: str, legal_entity_id: str | None) -> None:
    """segment_read_own callers read only the assignments of segments they see (an active membership): else 404,
    exactly as GET /segments/{id} answers them."""
    if not caller.has_any((Scope.SEGMENT_READ,)):
        await segments_service.get_segment(db, caller, segment_id, legal_entity_id=legal_entity_id)


async def list_assignments(
    db: Database,
    caller: Caller,
    segment_id: str,
    *,
    q: str | None,
    page: Page,
    sort: str | None,
    with_total: bool,
    legal_entity_id: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the segment's item assignments matching `q`; 404 when the caller cannot see the segment."""
    search = parse_search(q, sort, store.ITEM_ASSIGNMENT_FIELDS)
    await _check_visible(db, caller, segment_id, legal_entity_id)
    async with db.connection() as conn:
        rows, total = await store.list_assignments(
            conn, caller.tenant, segment_id, search, page=page, with_total=with_total
        )
        if (
            not rows
            and caller.has_any((Scope.SEGMENT_READ,))
            and not await store.segment_exists(conn, caller.tenant, segment_id)
        ):
            raise segments_service.segment_not_found(segment_id)
    return [assignment_document(r) for r in rows], total


async def get_assignment(
    db: Database, caller: Caller, segment_id: str, raw_type: str, item_id_: str, *, legal_entity_id: str | None = None
) -> dict[str, Any]:
    """One assignment; 404 when there is none or the caller cannot see the segment."""
    item_type = item_type_of(raw_type)
    await _check_visible(db, caller, segment_id, legal_entity_id)
    async with db.connection() as conn:
        row = await store.fetch_assignment(conn, caller.tenant, segment_id, item_type, item_id_)
        if row is None:
            if not await store.segment_exists(conn, caller.tenant, segment_id):
                raise segments_service.segment_not_found(segment_id)
            raise _assignment_not_found(segment_id, item_type, item_id_)
    return assignment_document(row)


# --- writes ----------------------------------------------------------------------------------------------------------


def _expected_version(body: ItemAssignmentUpsert) -> int | None:
    if body.metadata is UNSET or body.metadata is None or body.metadata.version is UNSET:
        return None
    return body.metadata.version


def _contents(body: ItemAssignmentUpsert) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    return body_mixins(body.mixins, body.metadata)


def _check_item_id(item_id_: str) -> None:
    if not item_id_:
        raise BadRequest("Invalid item id: it must not be empty.", field="id", type="invalid_value")
    if item_id_ in RESERVED_ITEM_IDS:
        raise BadRequest(
            f"Invalid item id '{item_id_}': it is a reserved word.",
            field="itemId",
            type="invalid_value",
            resource_id=item_id_,
        )


async def _write(
    conn: Connection, caller: Caller, segment_id: str, item_type: str, item_id_: str, body: ItemAssignmentUpsert
) -> bool:
    """Upsert one assignment whose item is known to exist; whether it was created. 409 on a stale version."""
    mixins, metadata_mixins = _contents(body)
    created = await store.upsert_assignment(
        conn,
        caller.tenant,
        segment_id,
        item_type,
        item_id_,
        mixins=mixins,
        metadata_mixins=metadata_mixins,
        expected_version=_expected_version(body),
    )
    if created is None:
        raise VersionConflict(resource_id=item_id_)
    await _emit_written(conn, caller.tenant, segment_id, item_type, item_id_, created=created)
    return created


async def _emit_written(
    conn: Connection, tenant: str, segment_id: str, item_type: str, item_id_: str, *, created: bool
) -> None:
    event = events.ItemAssignmentCreated if created else events.ItemAssignmentUpdated
    await events.emit(conn, event(tenant=tenant, segment_id=segment_id, item_type=item_type, item_id=item_id_))


async def _delete(conn: Connection, tenant: str, segment_id: str, item_type: str, item_id_: str) -> None:
    """Delete one assignment if it exists, and announce it when it did."""
    if await store.delete_assignment(conn, tenant, segment_id, item_type, item_id_):
        event = events.ItemAssignmentDeleted(
            tenant=tenant, segment_id=segment_id, item_type=item_type, item_id=item_id_
        )
        await events.emit(conn, event)


async def _item_exists(conn: Connection, tenant: str, item_type: str, item_id_: str) -> bool:
    """Whether the item exists, kept from being deleted until the transaction ends (the assignment names it)."""
    if item_type == "PRODUCT":
        return await products_service.product_exists(conn, tenant, item_id_, for_write=True)
    return await categories_service.category_exists(conn, tenant, item_id_, for_write=True)


async def _existing_items(db: Database, tenant: str, item_type: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` name an item of the tenant: one query for the whole batch."""
    if item_type == "PRODUCT":
        return set(await products_service.fetch_products(db, tenant, ids))
    return set(await categories_service.fetch_categories(db, tenant, ids))


async def upsert_assignment(
    db: Database, caller: Caller, segment_id: str, raw_type: str, item_id_: str, body: ItemAssignmentUpsert
) -> bool:
    """Create or replace one assignment; whether it was created."""
    item_type = item_type_of(raw_type)
    _check_item_id(item_id_)
    async with db.transaction() as conn:
        if not await store.lock_segment(conn, caller.tenant, segment_id):
            raise segments_service.segment_not_found(segment_id)
        if not await _item_exists(conn, caller.tenant, item_type, item_id_):
            raise _missing_item(item_type, item_id_)
        return await _write(conn, caller, segment_id, item_type, item_id_, body)


async def delete_assignment(db: Database, caller: Caller, segment_id: str, raw_type: str, item_id_: str) -> None:
    """Remove one assignment; removing one that does not exist is fine (idempotent)."""
    item_type = item_type_of(raw_type)
    async with db.transaction() as conn:
        await _delete(conn, caller.tenant, segment_id, item_type, item_id_)


def _decode(item: Any) -> ItemAssignmentUpsertBulk:
    """One bulk item decoded on its own, so that a malformed item fails alone."""
    try:
        return msgspec.convert(item, type=ItemAssignmentUpsertBulk, str_keys=True, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(
            f"Validation problem with request body: {exc}.", type="invalid_value", resource_id=item_id(item)
        ) from exc


async def bulk_upsert_assignments(
    db: Database, caller: Caller, segment_id: str, raw_type: str, items: list[Any]
) -> list[BulkResult]:
    """Upsert each assignment independently (201 created, 204 updated); the items' references are checked with one
    query for the whole batch."""
    item_type = item_type_of(raw_type)
    named = [i for i in (item_id(item) for item in items if isinstance(item, dict)) if i is not None]
    existing = await _existing_items(db, caller.tenant, item_type, sorted(set(named))) if len(items) <= 200 else set()
    fast = await _bulk_upsert_at_once(db, caller, segment_id, item_type, items, existing)
    if fast is not None:
        return fast
    locked: list[bool] = []

    async def upsert_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        body = _decode(item)
        _check_item_id(body.id)
        if body.id not in existing:
            raise _missing_item(item_type, body.id)
        if not locked and not await store.lock_segment(conn, caller.tenant, segment_id):
            raise segments_service.segment_not_found(segment_id)
        created = await _write(conn, caller, segment_id, item_type, body.id, body)
        # The segment lock of a committed savepoint lasts until the bulk's one transaction ends; a failed item's
        # savepoint releases it, so only a success spares the next items the lock.
        locked.append(True)
        return (201 if created else 204), body.id

    return await run_bulk(db, items, upsert_one, lock_key=lock_key_of, with_ids=False)


async def _bulk_upsert_at_once(
    db: Database, caller: Caller, segment_id: str, item_type: str, items: list[Any], existing: set[str]
) -> list[BulkResult] | None:
    """The common bulk — no item names an expected version, no item id twice — as one statement, with the same
    per-item results as item-by-item upserts. None when the request needs the item-by-item path (which then also
    gives a data error to the one item that caused it)."""
    check_bulk_size(items)
    results: list[BulkResult | None] = [None] * len(items)
    valid: list[tuple[int, str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for index, item in enumerate(items):
        try:
            body = _decode(item)
            _check_item_id(body.id)
            if _expected_version(body) is not None:
                return None
            if body.id not in existing:
                raise _missing_item(item_type, body.id)
            valid.append((index, body.id, *_contents(body)))
        except ServiceError as error:
            results[index] = error_result(index, error)
    if len({item_id_ for _, item_id_, _, _ in valid}) != len(valid):
        return None
    try:
        async with db.transaction() as conn:
            if valid and not await store.lock_segment(conn, caller.tenant, segment_id):
                for index, _, _, _ in valid:
                    results[index] = error_result(index, segments_service.segment_not_found(segment_id))
                valid = []
            created = (
                await store.upsert_assignments(
                    conn, caller.tenant, segment_id, item_type, [(i, m, mm) for _, i, m, mm in valid]
                )
                if valid
                else {}
            )
            if events.wanted(events.ItemAssignmentCreated, events.ItemAssignmentUpdated):
                await events.emit_many(
                    conn,
                    [
                        (events.ItemAssignmentCreated if created[item_id_] else events.ItemAssignmentUpdated)(
                            tenant=caller.tenant, segment_id=segment_id, item_type=item_type, item_id=item_id_
                        )
                        for _, item_id_, _, _ in valid
                    ],
                )
    except (asyncpg.DataError, asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
        return None  # the item-by-item path finds the item at fault, or retries under contention
    for index, item_id_, _, _ in valid:
        code = 201 if created[item_id_] else 204
        results[index] = BulkResult(index=index, code=code, status=status_text(code))
    return [r for r in results if r is not None]


async def bulk_delete_assignments(
    db: Database, caller: Caller, segment_id: str, raw_type: str, items: list[Any]
) -> list[BulkResult]:
    """Remove each assignment named by an item id string; 204 each, whether it existed or not."""
    item_type = item_type_of(raw_type)

    async def delete_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        if not isinstance(item, str):
            raise BadRequest("Each item of a bulk delete must be an item id string.", type="invalid_value")
        await _delete(conn, caller.tenant, segment_id, item_type, item)
        return 204, item

    return await run_bulk(db, items, delete_one, lock_key=lock_key_of, with_ids=False)
