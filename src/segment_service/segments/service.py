"""Segment rules and transactions (operations 1-10 of customer-segment.yml); no HTTP here."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import msgspec

from segment_service.answers import service as answers
from segment_service.core import events, membership_lock
from segment_service.core.answer_cache import Answer
from segment_service.core.auth import Caller, Scope
from segment_service.core.bulk import BulkResult, item_id, lock_key_of, run_bulk
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.languages import WriteLanguage
from segment_service.core.listing import Search, parse_ordering, parse_query
from segment_service.core.models import UNSET, body_mixins
from segment_service.core.paging import Page
from segment_service.core.patch import PatchOperation, apply_patch, as_operations
from segment_service.core.timefmt import as_utc
from segment_service.legal_entities import service as legal_entities_service
from segment_service.segments import customer_assignment_store, item_assignment_store, store
from segment_service.segments.models import SegmentCreation, SegmentUpdate, SegmentUpdateBulk

#: Words that are paths under /segments, so they cannot be segment ids (docs/decisions.md#ids-and-reserved-words).
RESERVED_IDS = frozenset({"items", "search", "bulk", "match"})
LOCALIZED_FIELDS = ("name", "description")


def segment_document(row: store.SegmentRow) -> dict[str, Any]:
    """The `SegmentResponse` of a stored segment, with the spec's field names and order."""
    doc: dict[str, Any] = {"id": row.id, "name": row.name}
    if row.description is not None:
        doc["description"] = row.description
    if row.valid_from is not None or row.valid_to is not None:
        validity: dict[str, str] = {}
        if row.valid_from is not None:
            validity["from"] = row.valid_from
        if row.valid_to is not None:
            validity["to"] = row.valid_to
        doc["validity"] = validity
    doc["status"] = row.status
    doc["siteCode"] = row.site_code
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    metadata: dict[str, Any] = {"createdAt": row.created_at, "modifiedAt": row.modified_at, "version": row.version}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    return doc


def _content_from_body(segment_id: str, body: SegmentUpdate, language: WriteLanguage) -> store.SegmentContent:
    """A segment row from a create or replace body, checked against the rules the schema cannot express."""
    name = language.required(body.name, field="name")
    description = None
    if body.description is not UNSET and body.description is not None:
        description = language.localized(body.description, field="description")
    valid_from = valid_to = None
    if body.validity is not UNSET and body.validity is not None:
        if body.validity.from_ is not UNSET and body.validity.from_ is not None:
            valid_from = as_utc(body.validity.from_, field="validity.from")
        if body.validity.to is not UNSET and body.validity.to is not None:
            valid_to = as_utc(body.validity.to, field="validity.to")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise BadRequest(
            "Validation problem with request body: validity.to must be later than validity.from.",
            field="validity",
            type="invalid_value",
        )
    mixins, metadata_mixins = body_mixins(body.mixins, body.metadata)
    return store.SegmentContent(
        id=segment_id,
        name=name,
        description=description,
        status=body.status.value,
        site_code=body.site_code,
        valid_from=valid_from,
        valid_to=valid_to,
        mixins=mixins,
        metadata_mixins=metadata_mixins,
    )


def _expected_version(body: SegmentUpdate) -> int | None:
    if body.metadata is UNSET or body.metadata is None or body.metadata.version is UNSET:
        return None
    return body.metadata.version


async def _create(conn: Connection, caller: Caller, body: SegmentCreation, language: WriteLanguage) -> str:
    segment_id = new_id() if body.id is UNSET else check_custom_id(body.id, reserved=RESERVED_IDS)
    row = await store.insert_segment(conn, caller.tenant, _content_from_body(segment_id, body, language))
    await events.emit(conn, events.SegmentCreated(tenant=caller.tenant, segment_id=row.id))
    return row.id


async def _upsert(
    conn: Connection, caller: Caller, segment_id: str, body: SegmentUpdate, language: WriteLanguage
) -> bool:
    """Replace the segment or create it; whether it was created. A sent `metadata.version` must match (409)."""
    check_custom_id(segment_id, reserved=RESERVED_IDS)
    content = _content_from_body(segment_id, body, language)
    created = await store.upsert_segment(conn, caller.tenant, content, _expected_version(body))
    if created is None:
        raise VersionConflict(resource_id=segment_id)
    event = events.SegmentCreated if created else events.SegmentUpdated
    await events.emit(conn, event(tenant=caller.tenant, segment_id=segment_id))
    return created


async def create_segment(db: Database, caller: Caller, body: SegmentCreation, *, language: WriteLanguage) -> str:
    """Create a segment; its id (generated unless the body names one)."""
    async with db.transaction() as conn:
        return await _create(conn, caller, body, language)


async def upsert_segment(
    db: Database, caller: Caller, segment_id: str, body: SegmentUpdate, *, language: WriteLanguage
) -> bool:
    """Replace or create the segment `segment_id`; whether it was created."""
    async with db.transaction() as conn:
        return await _upsert(conn, caller, segment_id, body, language)


async def patch_segment(
    db: Database, caller: Caller, segment_id: str, operations: list[PatchOperation], *, language: WriteLanguage
) -> None:
    """Apply an RFC 6902 patch, then store the result as a full replacement would."""
    async with db.transaction() as conn:
        current = await store.fetch_segment_for_update(conn, caller.tenant, segment_id)
        if current is None:
            raise segment_not_found(segment_id)
        document = segment_document(current)
        document["metadata"] = {k: v for k, v in document["metadata"].items() if k in ("version", "mixins")}
        patched = apply_patch(document, as_operations(operations))
        if not isinstance(patched, dict) or patched.get("id") != segment_id:
            raise BadRequest("The patch must not change the segment's id.", field="id", type="invalid_value")
        try:
            body = msgspec.convert(patched, type=SegmentUpdate, str_keys=True, strict=False)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"Validation problem with the patched segment: {exc}.", type="invalid_value") from exc
        expected = _expected_version(body)
        if expected is not None and expected != current.version:
            raise VersionConflict(resource_id=segment_id)
        await store.update_segment(conn, caller.tenant, _content_from_body(segment_id, body, language), current.version)
        await events.emit(
            conn, events.SegmentUpdated(tenant=caller.tenant, segment_id=segment_id, previous_status=current.status)
        )


async def delete_segment(db: Database, caller: Caller, segment_id: str, *, force: bool) -> None:
    """Delete a segment; without `force` it must have no assignments left. Deleting nothing is fine (idempotent)."""
    async with db.transaction() as conn:
        await _delete(conn, caller, segment_id, force=force)


async def _delete(conn: Connection, caller: Caller, segment_id: str, *, force: bool) -> bool:
    await membership_lock.share(conn, caller.tenant)  # not in the middle of a rule's full evaluation
    # The row lock makes a concurrent assignment wait, so none slips in between the check and the delete.
    if await store.fetch_segment_for_update(conn, caller.tenant, segment_id) is None:
        return False
    if not force and await store.has_assignments(conn, caller.tenant, segment_id):
        raise BadRequest(
            f"The segment {segment_id} still has customer or item assignments; "
            "delete them first or use forceDelete=true to delete them with the segment.",
            resource_id=segment_id,
            type="segment_has_assignments",
        )
    removed: list[events.ChangeEvent] = []
    if force:  # each assignment the deletion takes is announced, before the segment's own deletion
        for _, customer_id, legal_entity_id in await customer_assignment_store.delete_of_segment(
            conn, caller.tenant, segment_id
        ):
            removed.append(
                events.CustomerAssignmentDeleted(
                    tenant=caller.tenant,
                    segment_id=segment_id,
                    customer_id=customer_id,
                    legal_entity_id=legal_entity_id or None,
                )
            )
        for item_type, item_id in await item_assignment_store.delete_of_segment(conn, caller.tenant, segment_id):
            removed.append(
                events.ItemAssignmentDeleted(
                    tenant=caller.tenant, segment_id=segment_id, item_type=item_type, item_id=item_id
                )
            )
    deleted = await store.delete_segment(conn, caller.tenant, segment_id)
    if deleted:
        await events.emit_many(conn, [*removed, events.SegmentDeleted(tenant=caller.tenant, segment_id=segment_id)])
    return deleted


async def check_legal_entity_context(conn: Connection, caller: Caller, legal_entity_id: str | None) -> None:
    """A customer may name only a legal entity it is a contact of as its context
    (docs/decisions.md#the-legal-entity-context)."""
    if legal_entity_id is None or caller.has_any((Scope.SEGMENT_READ,)) or caller.customer_id is None:
        return
    if not await legal_entities_service.is_contact(conn, caller.tenant, caller.customer_id, legal_entity_id):
        raise Forbidden(f"The customer is not a contact of legal entity {legal_entity_id}.")


def visibility(caller: Caller, *, customer_id: str | None, legal_entity_id: str | None) -> store.SegmentVisibility:
    """Which segments the caller may read (docs/decisions.md#who-sees-which-segments)."""
    if caller.has_any((Scope.SEGMENT_READ,)):
        if customer_id is None:
            return store.SegmentVisibility()
        return store.SegmentVisibility(member=customer_id, legal_entity_id=legal_entity_id)
    # segment_read_own: only the caller's own segments, and only active ones.
    if customer_id is not None and customer_id != caller.customer_id:
        raise Forbidden("The customerId parameter can only be used with the customersegment.segment_read scope.")
    if caller.customer_id is None:
        return store.SegmentVisibility(nothing=True)
    context = legal_entity_id or caller.legal_entity_id
    return store.SegmentVisibility(member=caller.customer_id, legal_entity_id=context, active_only=True)


async def list_segments(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    page: Page,
    sort: str | None,
    with_total: bool,
    customer_id: str | None = None,
    legal_entity_id: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the segments the caller may see that match `q`, and the total when asked for."""
    query = parse_query(q, store.SEGMENT_FIELDS)
    visible = visibility(caller, customer_id=customer_id, legal_entity_id=legal_entity_id)
    segments = store.SegmentFilter(Search(query, parse_ordering(sort, store.SEGMENT_FIELDS)), visible)

    async def read_page(conn: Connection) -> tuple[list[dict[str, Any]], int | None]:
        await check_legal_entity_context(conn, caller, legal_entity_id)
        rows, total = await store.list_segments(conn, caller.tenant, segments, page=page, with_total=with_total)
        return [segment_document(r) for r in rows], total

    return await db.read(caller.read_key, read_page)


async def get_segment(
    db: Database, caller: Caller, segment_id: str, *, legal_entity_id: str | None = None
) -> dict[str, Any]:
    """One segment the caller may see; 404 otherwise."""
    if caller.has_any((Scope.SEGMENT_READ,)):
        async with db.connection() as conn:
            row = await store.fetch_segment(conn, caller.tenant, segment_id)
        docs = [] if row is None else [segment_document(row)]
    else:
        visible = visibility(caller, customer_id=None, legal_entity_id=legal_entity_id)
        async with db.connection() as conn:
            await check_legal_entity_context(conn, caller, legal_entity_id)
            row = await store.fetch_visible_segment(conn, caller.tenant, segment_id, visible)
        docs = [] if row is None else [segment_document(row)]
    if not docs:
        raise segment_not_found(segment_id)
    return docs[0]


def segment_not_found(segment_id: str) -> NotFound:
    """The 404 of a segment id that names no segment of the tenant (or none the caller may see)."""
    return NotFound(f"The resource with id {segment_id} has not been found.", resource_id=segment_id)


async def segment_body(
    db: Database,
    caller: Caller,
    segment_id: str,
    *,
    legal_entity_id: str | None,
    render: Callable[[dict[str, Any]], bytes],
    variant: Hashable,
) -> bytes:
    """`render` of the segment the caller may see (`get_segment`). With the versions kept on the host
    (docs/answers.md#versions-kept-on-the-host), a `segment_read` caller's answer is kept, keyed by the generation of
    the segment's scope read before the row was: a write to the segment raises it, so the next read reads the row
    again, and no statement is made until then."""
    memo = db.memo
    if memo is None or not db.answers.enabled or not caller.has_any((Scope.SEGMENT_READ,)):
        return render(await get_segment(db, caller, segment_id, legal_entity_id=legal_entity_id))
    cache, tenant = db.answers, caller.tenant
    read_key = ("segment-read", tenant, segment_id)
    generations = memo.get(read_key)
    if generations is not None:
        kept = cache.kept("segment", ("segment", tenant, segment_id, generations, variant))
        if isinstance(kept, Answer):
            return kept.body
    cache.missed("segment")
    async with db.connection() as conn:
        [ticket] = await answers.settled(conn, [memo.ticket(tenant, (segment_id,))])
        row = await store.fetch_segment(conn, tenant, segment_id)
    if row is None:
        raise segment_not_found(segment_id)
    body = render(segment_document(row))
    if ticket is not None:
        memo.put(read_key, ticket.generations, ticket)
        cache.put(("segment", tenant, segment_id, ticket.generations, variant), Answer(body))
    return body


def _decode_item(item: Any, model: type[SegmentUpdate]) -> Any:
    """One bulk item decoded on its own, so that a malformed item fails alone."""
    try:
        # strict=False: the same lenient decoding Litestar applies to single bodies ("1" for 1, say)
        return msgspec.convert(item, type=model, str_keys=True, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(
            f"Validation problem with request body: {exc}.", type="invalid_value", resource_id=item_id(item)
        ) from exc


async def bulk_create_segments(
    db: Database, caller: Caller, items: list[Any], *, language: WriteLanguage
) -> list[BulkResult]:
    """Create each segment independently; 201 with its id, or the reason it was rejected."""

    async def create_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        return 201, await _create(conn, caller, _decode_item(item, SegmentCreation), language)

    return await run_bulk(db, items, create_one, lock_key=lock_key_of)


async def bulk_upsert_segments(
    db: Database, caller: Caller, items: list[Any], *, language: WriteLanguage
) -> list[BulkResult]:
    """Replace or create each segment independently (201 created, 204 updated)."""

    async def upsert_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        body: SegmentUpdateBulk = _decode_item(item, SegmentUpdateBulk)
        if body.id is UNSET:
            raise BadRequest(
                "Validation problem with request body: id is required in a bulk upsert item.",
                field="id",
                type="missing_value",
            )
        return (201 if await _upsert(conn, caller, body.id, body, language) else 204), body.id

    return await run_bulk(db, items, upsert_one, lock_key=lock_key_of)


async def bulk_delete_segments(db: Database, caller: Caller, items: list[Any], *, force: bool) -> list[BulkResult]:
    """Delete each segment independently; the same rules as a single delete."""

    async def delete_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        if not isinstance(item, str):
            raise BadRequest("Each item of a bulk delete must be a segment id string.", type="invalid_value")
        await _delete(conn, caller, item, force=force)
        return 204, item

    return await run_bulk(db, items, delete_one, lock_key=lock_key_of)
