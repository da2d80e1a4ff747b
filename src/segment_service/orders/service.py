"""Tenant-managed order rules and transactions (order.yml, "Orders (Tenant-managed)"); no HTTP here.

Every write emits its catalogue events and one `OrdersChanged`, on which the purchase facts are kept
(orders/reactions.py, docs/orders.md#purchase-facts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.listing import parse_search
from segment_service.core.models import UNSET
from segment_service.core.paging import Page
from segment_service.core.patch import merge_patch
from segment_service.core.scopes import Scope
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.orders import store
from segment_service.orders.documents import content_from_body, order_document, patchable_document
from segment_service.orders.models import OrderUpdate, SalesOrderCreation
from segment_service.orders.store import OrderContent, OrderRow

#: Words that are paths under /salesorders, so not order ids.
RESERVED_IDS = frozenset({"search"})


class OrderNotFound(NotFound):
    """order.yml's `trait_order_404`."""

    type = "element_resource_non_existing"


def not_found(order_id: str) -> OrderNotFound:
    return OrderNotFound(f"Order with id '{order_id}' not found.")


# ------------------------------------------------------------------------------------------------------ writes


def reference_error(content: OrderContent, *, customer_exists: bool, is_contact: bool) -> BadRequest | None:
    """The 400 an order's references answer with, from what was looked up (`customer_exists` of its customer,
    `is_contact` of its customer and legal entity); None when they hold. The single writes and the import share it."""
    if content.customer_id is not None and not customer_exists:
        return BadRequest(
            f"Customer '{content.customer_id}' does not exist; send the id of a customer of the tenant, or "
            "ANONYMOUS for a guest order.",
            field="customer.id",
            type="invalid_reference",
        )
    if content.legal_entity_id is None:
        return None
    if content.customer_id is None:
        return BadRequest(
            "A guest order cannot belong to a legal entity: send the customer's id, or leave legalEntityId out.",
            field="legalEntityId",
            type="invalid_reference",
        )
    if not is_contact:
        return BadRequest(
            f"Customer '{content.customer_id}' is not a contact of legal entity '{content.legal_entity_id}' (or it "
            "does not exist).",
            field="legalEntityId",
            type="invalid_reference",
        )
    return None


async def check_references(
    conn: Connection, tenant: str, content: OrderContent, current: OrderRow | None = None
) -> None:
    """The order's customer exists and, for a legal entity's order, is its contact: 400 naming the field. Both are
    kept from going away until the transaction ends. An update that keeps the order's customer and legal entity
    (`current`) is not checked again: they held when the order was written, and an order stays a record of what
    happened after its customer leaves the legal entity or is deleted (anonymised, it keeps its legal entity)."""
    if current is not None and (content.customer_id, content.legal_entity_id) == (
        current.customer_id,
        current.legal_entity_id,
    ):
        return
    customer, legal_entity = content.customer_id, content.legal_entity_id
    customer_exists = customer is None or await customers_service.customer_exists(
        conn, tenant, customer, for_write=True
    )
    is_contact = (
        customer_exists
        and customer is not None
        and legal_entity is not None
        and await legal_entities_service.is_contact(conn, tenant, customer, legal_entity, for_write=True)
    )
    error = reference_error(content, customer_exists=customer_exists, is_contact=is_contact)
    if error is not None:
        raise error


async def announce(
    conn: Connection, changes: Sequence[events.ChangeEvent], tenant: str, order_ids: Sequence[str], customers: Any
) -> None:
    """Emit a write's catalogue events and the `OrdersChanged` that keeps the purchase facts."""
    customer_ids = tuple(sorted({c for c in customers if c is not None}))
    changed = events.OrdersChanged(tenant=tenant, order_ids=tuple(order_ids), customer_ids=customer_ids)
    await events.emit_many(conn, [*changes, changed])


async def create_order(db: Database, caller: Caller, body: SalesOrderCreation, raw: dict[str, Any]) -> str:
    """Record an order (for a customer or a guest); its id (generated unless named)."""
    order_id = new_id() if body.id is UNSET else check_custom_id(body.id, reserved=RESERVED_IDS)
    content = content_from_body(order_id, body, raw, status="CREATED" if body.status is UNSET else body.status)
    async with db.transaction() as conn:
        await check_references(conn, caller.tenant, content)
        await store.insert_order(conn, caller.tenant, content)
        created = events.OrderCreated(tenant=caller.tenant, order_id=order_id)
        await announce(conn, [created], caller.tenant, [order_id], [content.customer_id])
    return order_id


def _check_may_update(caller: Caller, current: OrderRow) -> None:
    if current.status == "COMPLETED" and not caller.has_any((Scope.ORDER_UPDATE_COMPLETED.value,)):
        raise Forbidden(f"Order '{current.id}' is COMPLETED: changing it needs {Scope.ORDER_UPDATE_COMPLETED.value}.")


async def _replace(conn: Connection, caller: Caller, current: OrderRow, body: OrderUpdate, raw: dict[str, Any]) -> None:
    _check_may_update(caller, current)
    sent = None if body.metadata is UNSET or body.metadata is None else body.metadata.version
    if isinstance(sent, int) and sent != current.version:
        raise VersionConflict("Order update cannot be done. Update version is not valid.")
    if body.status is not UNSET and body.status != current.status:
        raise BadRequest(
            f"The status of order '{current.id}' is {current.status}; change it with POST .../transitions, not "
            "with an update.",
            field="status",
            type="invalid_value",
        )
    content = content_from_body(current.id, body, raw, status=current.status)
    await check_references(conn, caller.tenant, content, current)
    await store.update_order(conn, caller.tenant, content)
    updated = events.OrderUpdated(tenant=caller.tenant, order_id=current.id)
    await announce(conn, [updated], caller.tenant, [current.id], [current.customer_id, content.customer_id])


async def replace_order(db: Database, caller: Caller, order_id: str, body: OrderUpdate, raw: dict[str, Any]) -> None:
    """PUT: replace the order's content (its status stays: transitions change it)."""
    async with db.transaction() as conn:
        current = await store.fetch_order(conn, caller.tenant, order_id, for_update=True)
        if current is None:
            raise not_found(order_id)
        await _replace(conn, caller, current, body, raw)


async def patch_order(db: Database, caller: Caller, order_id: str, patch: dict[str, Any]) -> None:
    """PATCH: merge the partial order into the stored one, then store the result as PUT would."""
    async with db.transaction() as conn:
        current = await store.fetch_order(conn, caller.tenant, order_id, for_update=True)
        if current is None:
            raise not_found(order_id)
        merged = merge_patch(patchable_document(current), patch)
        try:
            body = msgspec.convert(merged, type=OrderUpdate, str_keys=True)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"Validation problem with the patched order: {exc}.", type="invalid_value") from exc
        await _replace(conn, caller, current, body, merged)


async def delete_order(db: Database, caller: Caller, order_id: str) -> None:
    """Delete an order; 404 when there is none."""
    async with db.transaction() as conn:
        deleted = await store.delete_order(conn, caller.tenant, order_id)
        if deleted is None:
            raise not_found(order_id)
        gone = events.OrderDeleted(
            tenant=caller.tenant, order_id=order_id, site_code=deleted.site_code, status=deleted.status
        )
        await announce(conn, [gone], caller.tenant, [order_id], [deleted.customer_id])


# ------------------------------------------------------------------------------------------------------- reads


async def get_order(db: Database, caller: Caller, order_id: str) -> dict[str, Any]:
    async with db.connection() as conn:
        row = await store.fetch_order(conn, caller.tenant, order_id)
    if row is None:
        raise not_found(order_id)
    return order_document(row)


async def list_orders(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    page: Page,
    sort: str | None,
    with_total: bool,
    customer_id: str | None = None,
    legal_entity_id: str | None = None,
    sales: bool = True,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of orders matching `q` (only the customer's, or the legal entity's, when given)."""
    search = parse_search(q, sort, store.ORDER_FIELDS)
    rows, total = await db.read(
        caller.read_key,
        lambda conn: store.list_orders(
            conn,
            caller.tenant,
            search,
            customer_id=customer_id,
            legal_entity_id=legal_entity_id,
            page=page,
            with_total=with_total,
        ),
    )
    return [order_document(r, sales=sales) for r in rows], total


# ------------------------------------------------------------------------------------------ for other services


async def anonymise_orders_of_customer(conn: Connection, tenant: str, customer_id: str) -> None:
    """A deleted customer's orders stay as records without personal data (docs/orders.md#deleting-a-customer)."""
    order_ids = await store.anonymise_orders_of_customer(conn, tenant, customer_id)
    if order_ids:
        updated = [events.OrderUpdated(tenant=tenant, order_id=i) for i in order_ids]
        await announce(conn, updated, tenant, order_ids, [customer_id])


async def unlink_legal_entity(conn: Connection, tenant: str, legal_entity_id: str) -> None:
    """A deleted legal entity's orders stay their customers' orders, without it (docs/orders.md#deleting-a-customer)."""
    changed = await store.unlink_legal_entity(conn, tenant, legal_entity_id)
    if changed:
        updated = [events.OrderUpdated(tenant=tenant, order_id=order_id) for order_id, _ in changed]
        await announce(conn, updated, tenant, [order_id for order_id, _ in changed], [c for _, c in changed])
