"""Order status transitions (order.yml, `.../transitions`, `.../historical-transitions`) and the customer's side of
orders (`/orders`, `/legal-entity-orders`): docs/orders.md#statuses-and-transitions."""

from __future__ import annotations

from typing import Any

from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound
from segment_service.core.paging import Page
from segment_service.legal_entities import service as legal_entities_service
from segment_service.orders import service, store
from segment_service.orders.documents import order_document
from segment_service.orders.store import OrderRow

#: What the tenant may move an order to, from each status.
TENANT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "IN_CHECKOUT": ("CREATED",),
    "CREATED": ("CONFIRMED", "DECLINED"),
    "CONFIRMED": ("SHIPPED", "DECLINED"),
    "SHIPPED": ("COMPLETED",),
    "DECLINED": (),
    "COMPLETED": (),
}
#: What a customer may move its own order to: only a CREATED order, only to DECLINED (order.yml).
CUSTOMER_TRANSITIONS: dict[str, tuple[str, ...]] = {"CREATED": ("DECLINED",)}


def allowed(status: str, *, by_customer: bool) -> tuple[str, ...]:
    """The statuses an order in `status` may move to next."""
    return (CUSTOMER_TRANSITIONS if by_customer else TENANT_TRANSITIONS).get(status, ())


async def _own_order(db: Database, caller: Caller, order_id: str) -> OrderRow:
    """The calling customer's order; 404 for anyone else's (whether it exists is not told)."""
    async with db.connection() as conn:
        row = await store.fetch_order(conn, caller.tenant, order_id)
    if row is None or row.customer_id is None or row.customer_id != caller.customer_id:
        raise service.not_found(order_id)
    return row


async def transitions(db: Database, caller: Caller, order_id: str, *, by_customer: bool) -> list[dict[str, str]]:
    """`GET .../transitions`: where the order may go next."""
    if by_customer:
        row = await _own_order(db, caller, order_id)
    else:
        async with db.connection() as conn:
            found = await store.fetch_order(conn, caller.tenant, order_id)
        if found is None:
            raise service.not_found(order_id)
        row = found
    return [{"status": s} for s in allowed(row.status, by_customer=by_customer)]


async def change_status(db: Database, caller: Caller, order_id: str, status: str, *, by_customer: bool) -> None:
    """`POST .../transitions`: move the order to `status`; 400 naming the allowed next statuses otherwise."""
    async with db.transaction() as conn:
        row = await store.fetch_order(conn, caller.tenant, order_id, for_update=True)
        if row is None or (by_customer and (row.customer_id is None or row.customer_id != caller.customer_id)):
            raise service.not_found(order_id)
        next_statuses = allowed(row.status, by_customer=by_customer)
        if status not in next_statuses:
            who = "A customer" if by_customer else "The tenant"
            options = ", ".join(next_statuses) if next_statuses else "none"
            raise BadRequest(
                f"{who} cannot move order '{order_id}' from {row.status} to {status}; allowed next statuses: "
                f"{options}.",
                field="status",
                type="invalid_transition",
            )
        await store.set_status(conn, caller.tenant, order_id, status)
        changes: list[events.ChangeEvent] = [
            events.OrderStatusChanged(tenant=caller.tenant, order_id=order_id, previous_status=row.status)
        ]
        if status == "DECLINED":
            changes.append(events.OrderCancelled(tenant=caller.tenant, order_id=order_id))
        await service.announce(conn, changes, caller.tenant, [order_id], [row.customer_id])


async def history(db: Database, caller: Caller, order_id: str) -> dict[str, Any]:
    """`GET .../historical-transitions`: every status the order had, oldest first."""
    async with db.connection() as conn:
        row = await store.fetch_order(conn, caller.tenant, order_id)
    if row is None:
        raise service.not_found(order_id)
    return {
        "transitions": row.transitions,
        "metadata": {"version": row.version, "createdAt": row.created_at, "modifiedAt": row.modified_at},
    }


# ------------------------------------------------------------------------------------------- the customer's side


async def own_order(db: Database, caller: Caller, order_id: str) -> dict[str, Any]:
    """`GET /orders/{orderId}`: one of the calling customer's orders."""
    return order_document(await _own_order(db, caller, order_id), sales=False)


async def own_orders(
    db: Database, caller: Caller, *, q: str | None, page: Page, sort: str | None, with_total: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """`GET /orders`: the calling customer's orders (B2C and those it placed for legal entities), newest first."""
    assert caller.customer_id is not None  # the route takes customer tokens only
    return await service.list_orders(
        db, caller, q=q, page=page, sort=sort, with_total=with_total, customer_id=caller.customer_id, sales=False
    )


async def _check_contact(db: Database, caller: Caller, legal_entity_id: str) -> None:
    """The caller is a contact of the legal entity: 404 when there is no such legal entity, 403 when it is not."""
    assert caller.customer_id is not None
    async with db.connection() as conn:
        if await legal_entities_service.is_contact(conn, caller.tenant, caller.customer_id, legal_entity_id):
            return
        exists = await legal_entities_service.legal_entity_exists(conn, caller.tenant, legal_entity_id)
    if not exists:
        raise NotFound(f"Legal entity '{legal_entity_id}' not found.")
    raise Forbidden(f"The customer is not a contact of legal entity '{legal_entity_id}'.")


async def legal_entity_orders(
    db: Database,
    caller: Caller,
    legal_entity_id: str,
    *,
    q: str | None,
    page: Page,
    sort: str | None,
    with_total: bool,
) -> tuple[list[dict[str, Any]], int | None]:
    """`GET /legal-entity-orders/{legalEntityId}`: every order of the legal entity, whichever contact placed it."""
    await _check_contact(db, caller, legal_entity_id)
    return await service.list_orders(
        db, caller, q=q, page=page, sort=sort, with_total=with_total, legal_entity_id=legal_entity_id
    )


async def legal_entity_order(db: Database, caller: Caller, legal_entity_id: str, order_id: str) -> dict[str, Any]:
    """`GET /legal-entity-orders/{legalEntityId}/{orderId}`: one order of the legal entity."""
    await _check_contact(db, caller, legal_entity_id)
    async with db.connection() as conn:
        row = await store.fetch_order(conn, caller.tenant, order_id)
    if row is None or row.legal_entity_id != legal_entity_id:
        raise service.not_found(order_id)
    return order_document(row)
