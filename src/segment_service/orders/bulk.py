"""Orders in large batches, for `segment-service import orders`: each row is checked as POST /salesorders checks its
body, with one query per kind of reference for the whole batch, and the new orders are written with one statement;
their purchase facts follow in the same transaction (one `OrdersChanged` for the batch). A row whose id exists
already is replaced as PUT /salesorders/{id} replaces it, one at a time, as is a row whose id came earlier in the
batch, or every row of a batch the database refused as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.bulk import BATCH_FAULTS, Outcome, row_error
from segment_service.core.db import Database
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.models import UNSET
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.orders import service, store
from segment_service.orders.documents import content_from_body
from segment_service.orders.models import SalesOrderCreation
from segment_service.orders.store import OrderContent


class PreparedOrder(msgspec.Struct, frozen=True):
    """An import row checked as POST checks its body: the body as the model and as sent, and what it stores."""

    body: SalesOrderCreation
    raw: dict[str, Any]
    content: OrderContent


def prepare(body: SalesOrderCreation, raw: dict[str, Any]) -> PreparedOrder:
    """Check one decoded row (no database): a ServiceError is the 400 POST would answer. The importer calls this as
    it reads, so that the checks of the next batch run while the database writes this one."""
    order_id = new_id() if body.id is UNSET else check_custom_id(body.id, reserved=service.RESERVED_IDS)
    status = "CREATED" if body.status is UNSET else body.status
    return PreparedOrder(body, raw, content_from_body(order_id, body, raw, status=status))


async def _one_at_a_time(db: Database, caller: Caller, body: SalesOrderCreation, raw: dict[str, Any]) -> Outcome:
    """POST's rules for a new id, PUT's for an existing one, in a transaction of its own."""
    try:
        if body.id is not UNSET:
            async with db.connection() as conn:
                exists = await store.fetch_order(conn, caller.tenant, body.id) is not None
            if exists:
                await service.replace_order(db, caller, body.id, body, raw)
                return False
        await service.create_order(db, caller, body, raw)
        return True
    except Exception as exc:
        return row_error(exc)


async def import_orders(db: Database, caller: Caller, rows: Sequence[PreparedOrder]) -> list[Outcome]:
    """Import prepared rows; one outcome per row, in order."""
    outcomes: list[Outcome | None] = [None] * len(rows)
    batch: list[tuple[int, OrderContent]] = []
    seen: set[str] = set()
    later: list[int] = []
    for index, row in enumerate(rows):
        content = row.content
        if content.id in seen:
            later.append(index)
        else:
            seen.add(content.id)
            batch.append((index, content))
    try:
        inserted = await _insert_batch(db, caller.tenant, batch, outcomes)
    except BATCH_FAULTS:
        inserted = set()  # the batch rolled back: every row without an outcome goes one at a time, below
    for index, content in batch:
        if outcomes[index] is None and content.id in inserted:
            outcomes[index] = True
        elif outcomes[index] is None:
            later.append(index)
    for index in sorted(later):
        outcomes[index] = await _one_at_a_time(db, caller, rows[index].body, rows[index].raw)
    return [o for o in outcomes if o is not None]


async def _insert_batch(
    db: Database, tenant: str, batch: list[tuple[int, OrderContent]], outcomes: list[Outcome | None]
) -> set[str]:
    """Insert the batch's new orders whose references hold, with their facts and events; the ids inserted."""
    async with db.transaction() as conn:
        customer_ids = sorted({c.customer_id for _, c in batch if c.customer_id is not None})
        customers = await customers_service.existing_customer_ids(conn, tenant, customer_ids, for_write=True)
        pairs = sorted({(c.customer_id, c.legal_entity_id) for _, c in batch if c.customer_id and c.legal_entity_id})
        contacts = await legal_entities_service.contact_pairs(conn, tenant, pairs)
        valid: list[OrderContent] = []
        for index, content in batch:
            error = service.reference_error(
                content,
                customer_exists=content.customer_id in customers,
                is_contact=(content.customer_id, content.legal_entity_id) in contacts,
            )
            if error is not None:
                outcomes[index] = error
            else:
                valid.append(content)
        if not valid:
            return set()
        inserted = await store.insert_orders(conn, tenant, valid)
        created = [c for c in valid if c.id in inserted]
        if created:
            changes = (
                [events.OrderCreated(tenant=tenant, order_id=c.id) for c in created]
                if events.wanted(events.OrderCreated)
                else []
            )
            await service.announce(conn, changes, tenant, [c.id for c in created], [c.customer_id for c in created])
        return inserted
