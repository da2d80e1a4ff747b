"""Assignments in large batches, for `segment-service import`: the same rules and messages as the single upserts
(PUT …/items/{type}/{itemId}, PUT …/customers/{customerId}[/{legalEntityId}]), checked for a whole batch with one
query per kind of reference and written with one set-based statement. Rows the batch cannot take (an expected
`metadata.version`, a key met earlier in the batch, or a batch the database refused) go through the single upsert,
one at a time, so that each row is imported whole or not at all and gets its own error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from segment_service.categories import service as categories_service
from segment_service.core import events, membership_lock
from segment_service.core.auth import Caller
from segment_service.core.bulk import BATCH_FAULTS, Outcome, row_error
from segment_service.core.db import Database
from segment_service.core.errors import ServiceError
from segment_service.core.models import UNSET
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.products import service as products_service
from segment_service.segments import customer_assignments, item_assignments
from segment_service.segments import import_store as store
from segment_service.segments import service as segments_service
from segment_service.segments.customer_assignment_models import CustomerAssignmentUpsertBulk
from segment_service.segments.item_assignment_models import ItemAssignmentUpsertBulk

R = TypeVar("R")
T = TypeVar("T")


class ItemAssignmentRow(ItemAssignmentUpsertBulk, kw_only=True):
    """An item assignment as one import row: PUT's body with the item `id` (the bulk item), plus the path's
    `segmentId` and `type`."""

    segment_id: str
    type: str


class CustomerAssignmentRow(CustomerAssignmentUpsertBulk, kw_only=True):
    """A customer assignment as one import row: the bulk item (`customerId`, `legalEntityId` for B2B, `mixins`,
    `metadata`) plus the path's `segmentId`."""

    segment_id: str


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


def _checked(check: Callable[[R], T], row: R) -> T | None:
    """`check(row)`, or None when it fails: such a row goes through the single upsert, which reports its error after
    the checks the API makes first (the segment, the references)."""
    try:
        return check(row)
    except ServiceError:
        return None


async def import_item_assignments(db: Database, caller: Caller, rows: Sequence[ItemAssignmentRow]) -> list[Outcome]:
    """Upsert every row's assignment (PUT semantics); one outcome per row, in order."""
    outcomes: list[Outcome | None] = [None] * len(rows)
    batch: list[tuple[int, str, str, str, str | None, str | None]] = []
    one_by_one: list[int] = []
    in_batch: set[tuple[str, str, str]] = set()
    singly: set[tuple[str, str, str]] = set()
    for index, row in enumerate(rows):
        try:
            item_type = item_assignments.item_type_of(row.type)
            item_assignments._check_item_id(row.id)
        except ServiceError as error:
            outcomes[index] = error
            continue
        key = (row.segment_id, item_type, row.id)
        contents = _checked(item_assignments._contents, row)
        if contents is None or item_assignments._expected_version(row) is not None or key in in_batch or key in singly:
            singly.add(key)  # every later row of this key too, so that the file's order holds
            one_by_one.append(index)
            continue
        in_batch.add(key)
        batch.append((index, row.segment_id, item_type, row.id, _json(contents[0]), _json(contents[1])))
    try:
        async with db.transaction() as conn:
            segments = await store.lock_segments(conn, caller.tenant, sorted({b[1] for b in batch}))
            products = await products_service.existing_product_ids(
                conn, caller.tenant, sorted({b[3] for b in batch if b[2] == "PRODUCT"})
            )
            categories = set(
                await categories_service.fetch_categories(
                    conn, caller.tenant, sorted({b[3] for b in batch if b[2] == "CATEGORY"})
                )
            )
            writes: list[tuple[int, str, str, str, str | None, str | None]] = []
            for index, segment_id, item_type, item_id, mixins_json, metadata_json in batch:
                if segment_id not in segments:
                    outcomes[index] = segments_service.segment_not_found(segment_id)
                elif item_id not in (products if item_type == "PRODUCT" else categories):
                    outcomes[index] = item_assignments._missing_item(item_type, item_id)
                else:
                    writes.append((index, segment_id, item_type, item_id, mixins_json, metadata_json))
            created = (
                await store.upsert_item_assignments(conn, caller.tenant, [w[1:] for w in writes]) if writes else set()
            )
            if events.wanted(events.ItemAssignmentCreated, events.ItemAssignmentUpdated):
                await events.emit_many(
                    conn,
                    [
                        (
                            events.ItemAssignmentCreated
                            if (segment_id, item_type, item_id) in created
                            else events.ItemAssignmentUpdated
                        )(tenant=caller.tenant, segment_id=segment_id, item_type=item_type, item_id=item_id)
                        for _, segment_id, item_type, item_id, _, _ in writes
                    ],
                )
        for write in writes:
            outcomes[write[0]] = write[1:4] in created
    except BATCH_FAULTS:
        one_by_one = sorted(one_by_one + [b[0] for b in batch])
    for index in one_by_one:
        row = rows[index]
        try:
            outcomes[index] = await item_assignments.upsert_assignment(
                db, caller, row.segment_id, row.type, row.id, row
            )
        except Exception as exc:
            outcomes[index] = row_error(exc)
    return [o for o in outcomes if o is not None]


async def import_customer_assignments(
    db: Database, caller: Caller, rows: Sequence[CustomerAssignmentRow]
) -> list[Outcome]:
    """Upsert every row's assignment (PUT semantics; B2B when the row names a legal entity); one outcome per row."""
    outcomes: list[Outcome | None] = [None] * len(rows)
    batch: list[tuple[int, str, str, str, str | None, str | None]] = []
    one_by_one: list[int] = []
    in_batch: set[tuple[str, str, str]] = set()
    singly: set[tuple[str, str, str]] = set()
    for index, row in enumerate(rows):
        customer_id = "" if row.customer_id is UNSET else row.customer_id
        legal_entity_id = row.legal_entity_id if isinstance(row.legal_entity_id, str) else customer_assignments.B2C
        try:
            customer_assignments._check_customer_id(customer_id)
        except ServiceError as error:
            outcomes[index] = error
            continue
        key = (row.segment_id, customer_id, legal_entity_id)
        content = _checked(customer_assignments._content, row)
        if content is None or content[2] is not None or key in in_batch or key in singly:
            singly.add(key)
            one_by_one.append(index)
            continue
        in_batch.add(key)
        batch.append((index, *key, _json(content[0]), _json(content[1])))
    try:
        async with db.transaction() as conn:
            segments = await store.lock_segments(conn, caller.tenant, sorted({b[1] for b in batch}))
            customers = await customers_service.existing_customer_ids(
                conn, caller.tenant, sorted({b[2] for b in batch})
            )
            b2b = sorted({(b[2], b[3]) for b in batch if b[3] != customer_assignments.B2C})
            legal_entities = (
                set(
                    await legal_entities_service.fetch_legal_entities(
                        conn, caller.tenant, sorted({le for _, le in b2b})
                    )
                )
                if b2b
                else set()
            )
            contacts = await legal_entities_service.contact_pairs(conn, caller.tenant, b2b)
            writes: list[tuple[int, str, str, str, str | None, str | None]] = []
            for index, segment_id, customer_id, legal_entity_id, mixins_json, metadata_json in batch:
                if segment_id not in segments:
                    outcomes[index] = segments_service.segment_not_found(segment_id)
                elif customer_id not in customers:
                    outcomes[index] = customer_assignments._missing_customer(customer_id)
                elif legal_entity_id != customer_assignments.B2C and legal_entity_id not in legal_entities:
                    outcomes[index] = customer_assignments._missing_legal_entity(legal_entity_id)
                elif legal_entity_id != customer_assignments.B2C and (customer_id, legal_entity_id) not in contacts:
                    outcomes[index] = customer_assignments._not_a_contact(customer_id, legal_entity_id)
                else:
                    writes.append((index, segment_id, customer_id, legal_entity_id, mixins_json, metadata_json))
            if writes:
                await membership_lock.share(conn, caller.tenant)
            created = (
                await store.upsert_customer_assignments(conn, caller.tenant, [w[1:] for w in writes])
                if writes
                else set()
            )
            if events.wanted(events.CustomerAssignmentCreated, events.CustomerAssignmentUpdated):
                batch_events: list[events.ChangeEvent] = []
                for _, segment_id, customer_id, legal_entity_id, _, _ in writes:
                    key = (segment_id, customer_id, legal_entity_id)
                    kind = events.CustomerAssignmentCreated if key in created else events.CustomerAssignmentUpdated
                    batch_events.append(
                        kind(
                            tenant=caller.tenant,
                            segment_id=segment_id,
                            customer_id=customer_id,
                            legal_entity_id=legal_entity_id or None,
                        )
                    )
                await events.emit_many(conn, batch_events)
        for write in writes:
            outcomes[write[0]] = write[1:4] in created
    except BATCH_FAULTS:
        one_by_one = sorted(one_by_one + [b[0] for b in batch])
    for index in one_by_one:
        row = rows[index]
        try:
            outcomes[index] = await customer_assignments.upsert_assignment(
                db,
                caller,
                row.segment_id,
                "" if row.customer_id is UNSET else row.customer_id,
                row.legal_entity_id if isinstance(row.legal_entity_id, str) else None,
                row,
            )
        except Exception as exc:
            outcomes[index] = row_error(exc)
    return [o for o in outcomes if o is not None]
