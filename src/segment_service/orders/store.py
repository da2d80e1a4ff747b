"""Order SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind, spec_only
from segment_service.core.timefmt import iso_sql

#: The public field paths of an order for `q` and `sort`, with the column each one reads.
ORDER_FIELDS: dict[str, Field] = {
    "id": Field("o.id", FieldKind.TEXT),
    "status": Field("o.status", FieldKind.TEXT),
    "siteCode": Field("o.site_code", FieldKind.TEXT),
    "currency": Field("o.currency", FieldKind.TEXT),
    "legalEntityId": Field("o.legal_entity_id", FieldKind.TEXT),
    "customer.id": Field("coalesce(o.customer_id, o.document #>> '{customer,id}')", FieldKind.TEXT),
    "customer": Field("o.document -> 'customer'", FieldKind.JSON, sortable=False),
    "countryCode": Field("o.document ->> 'countryCode'", FieldKind.TEXT),
    "totalPrice": Field("o.total", FieldKind.NUMBER),
    "calculatedPrice.finalPrice.grossValue": Field("o.total", FieldKind.NUMBER),
    "entries.id": Field("o.product_ids", FieldKind.TEXT_ARRAY, sortable=False),
    "entries.product.id": Field("o.product_ids", FieldKind.TEXT_ARRAY, sortable=False),
    "created": Field("o.created_at", FieldKind.DATETIME),
    "lastStatusChange": Field("o.last_status_change", FieldKind.DATETIME),
    "completed": Field("o.completed_at", FieldKind.DATETIME),
    "metadata.version": Field("o.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("o.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("o.modified_at", FieldKind.DATETIME),
    "mixins": Field("o.document -> 'mixins'", FieldKind.JSON),
    **spec_only("vendor", "orderType", "masterOrder", "cartId", "quoteId", "channel", "restriction"),
}

_COLUMNS = (
    "o.id, o.customer_id, o.legal_entity_id, o.status, o.site_code, o.currency, o.total, o.document, o.version, "
    "o.transitions, "
    + ", ".join(iso_sql(c) for c in ("o.created_at", "o.modified_at", "o.last_status_change", "o.completed_at"))
)


class OrderContent(msgspec.Struct, kw_only=True):
    """What a write stores of an order; the database keeps the version and the modification time."""

    id: str
    customer_id: str | None
    legal_entity_id: str | None
    status: str
    site_code: str | None
    currency: str
    total: Decimal
    product_ids: list[str]
    quantities: list[Decimal]
    amounts: list[Decimal]
    document: dict[str, Any]
    #: None: now.
    created_at: datetime | None


class OrderRow(msgspec.Struct, kw_only=True):
    """A stored order; date-times are `2024-05-14T12:00:00.000Z` strings."""

    id: str
    customer_id: str | None
    legal_entity_id: str | None
    status: str
    site_code: str | None
    currency: str
    total: Decimal
    document: dict[str, Any]
    version: int
    transitions: list[dict[str, str]]
    created_at: str
    modified_at: str
    last_status_change: str
    completed_at: str | None


class DeletedOrder(msgspec.Struct, frozen=True):
    customer_id: str | None
    site_code: str | None
    status: str


def _row(record: asyncpg.Record) -> OrderRow:
    return OrderRow(**record)


_SELECT_ORDER = f"SELECT {_COLUMNS} FROM orders o WHERE o.tenant = $1 AND o.id = $2"
_SELECT_ORDERS = f"SELECT {_COLUMNS} FROM orders o WHERE o.tenant = $1 AND o.id = ANY($2::text[])"

# The first transition is the status the order was created with, at its creation time.
_INSERT_ORDER = """
INSERT INTO orders (tenant, id, customer_id, legal_entity_id, status, site_code, currency, total, product_ids,
                    quantities, amounts, document, transitions, created_at, modified_at, last_status_change,
                    completed_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
       jsonb_build_array(jsonb_build_object('status', $5::text, 'timestamp',
                         to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
       t.at, now(), t.at, CASE WHEN $5 = 'COMPLETED' THEN t.at END
FROM (SELECT coalesce($13::timestamptz, date_trunc('milliseconds', now())) AS at) t
"""

_UPDATE_ORDER = """
UPDATE orders
SET customer_id = $3, legal_entity_id = $4, site_code = $5, currency = $6, total = $7, product_ids = $8,
    quantities = $9, amounts = $10, document = $11, created_at = coalesce($12::timestamptz, created_at),
    version = version + 1, modified_at = now()
WHERE tenant = $1 AND id = $2
"""

_SET_STATUS = """
UPDATE orders
SET status = $3, last_status_change = now(), modified_at = now(), version = version + 1,
    completed_at = CASE WHEN $3 = 'COMPLETED' THEN now() ELSE completed_at END,
    transitions = transitions || jsonb_build_array(jsonb_build_object(
        'status', $3::text, 'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
WHERE tenant = $1 AND id = $2
"""

_DELETE_ORDER = """
DELETE FROM orders WHERE tenant = $1 AND id = $2 RETURNING customer_id, site_code, status
"""

# Personal data goes: the customer block becomes a guest's, addresses and payments are dropped.
_ANONYMISE = """
UPDATE orders
SET customer_id = NULL, version = version + 1, modified_at = now(),
    document = (document - 'customer' - 'billingAddress' - 'shippingAddress' - 'payments')
               || '{"customer": {"id": "ANONYMOUS"}}'::jsonb
WHERE tenant = $1 AND customer_id = $2
RETURNING id
"""

# A deleted legal entity's orders keep their customer but no longer name it: an entity created later with the same id
# must not see them.
_UNLINK_LEGAL_ENTITY = """
UPDATE orders SET legal_entity_id = NULL, version = version + 1, modified_at = now()
WHERE tenant = $1 AND legal_entity_id = $2
RETURNING id, customer_id
"""

_EXISTING_ORDER_IDS = "SELECT id FROM orders WHERE tenant = $1 AND id = ANY($2::text[])"

# One statement for a whole import batch: a column per parameter (a row's entries as one unit-separated text, which
# arrays of unequal length cannot be); ids that exist already are left alone and reported by their absence from
# RETURNING.
_INSERT_ORDERS = """
INSERT INTO orders (tenant, id, customer_id, legal_entity_id, status, site_code, currency, total, product_ids,
                    quantities, amounts, document, transitions, created_at, modified_at, last_status_change,
                    completed_at)
SELECT $1, r.id, r.customer_id, r.legal_entity_id, r.status, r.site_code, r.currency, r.total,
       string_to_array(r.product_ids, E'\\x1f'), string_to_array(r.quantities, E'\\x1f')::numeric[],
       string_to_array(r.amounts, E'\\x1f')::numeric[], r.document,
       jsonb_build_array(jsonb_build_object('status', r.status, 'timestamp',
                         to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
       t.at, now(), t.at, CASE WHEN r.status = 'COMPLETED' THEN t.at END
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::text[],
            $10::text[], $11::text[], $12::jsonb[], $13::timestamptz[])
     AS r(id, customer_id, legal_entity_id, status, site_code, currency, total, product_ids, quantities, amounts,
          document, created_at)
CROSS JOIN LATERAL (SELECT coalesce(r.created_at, date_trunc('milliseconds', now())) AS at) t
ON CONFLICT (tenant, id) DO NOTHING
RETURNING id
"""
#: Separates a row's product ids in `_INSERT_ORDERS` (ids are checked not to contain it).
UNIT_SEPARATOR = "\x1f"


def _content_values(content: OrderContent) -> tuple[Any, ...]:
    return (
        content.customer_id,
        content.legal_entity_id,
        content.site_code,
        content.currency,
        content.total,
        content.product_ids,
        content.quantities,
        content.amounts,
        content.document,
        content.created_at,
    )


async def fetch_order(conn: Connection, tenant: str, order_id: str, *, for_update: bool = False) -> OrderRow | None:
    """The order with this id (locked until the transaction ends with `for_update`), or None."""
    record = await conn.fetchrow(_SELECT_ORDER + (" FOR UPDATE" if for_update else ""), tenant, order_id)
    return None if record is None else _row(record)


async def fetch_orders(conn: Connection, tenant: str, ids: Sequence[str]) -> dict[str, OrderRow]:
    """The orders with these ids that exist, by id."""
    return {r["id"]: _row(r) for r in await conn.fetch(_SELECT_ORDERS, tenant, list(ids))}


async def insert_order(conn: Connection, tenant: str, content: OrderContent) -> None:
    """Store a new order at version 1; Conflict when the id is taken."""
    try:
        await conn.execute(
            _INSERT_ORDER,
            tenant,
            content.id,
            content.customer_id,
            content.legal_entity_id,
            content.status,
            content.site_code,
            content.currency,
            content.total,
            content.product_ids,
            content.quantities,
            content.amounts,
            content.document,
            content.created_at,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"An order with id '{content.id}' already exists.", field="id", type="duplicate_value") from exc


async def update_order(conn: Connection, tenant: str, content: OrderContent) -> None:
    """Replace an order's content (not its status) and raise its version."""
    await conn.execute(_UPDATE_ORDER, tenant, content.id, *_content_values(content))


async def set_status(conn: Connection, tenant: str, order_id: str, status: str) -> None:
    """Move the order to `status` now, recording the transition."""
    await conn.execute(_SET_STATUS, tenant, order_id, status)


async def delete_order(conn: Connection, tenant: str, order_id: str) -> DeletedOrder | None:
    """Delete an order; what it was, or None when there was none."""
    record = await conn.fetchrow(_DELETE_ORDER, tenant, order_id)
    return None if record is None else DeletedOrder(record["customer_id"], record["site_code"], record["status"])


async def anonymise_orders_of_customer(conn: Connection, tenant: str, customer_id: str) -> list[str]:
    """Strip the customer's personal data from its orders and unlink them; the ids of the orders changed."""
    return [record["id"] for record in await conn.fetch(_ANONYMISE, tenant, customer_id)]


async def unlink_legal_entity(conn: Connection, tenant: str, legal_entity_id: str) -> list[tuple[str, str | None]]:
    """Remove a legal entity from its orders; (order id, customer id) of each order changed."""
    return [(r["id"], r["customer_id"]) for r in await conn.fetch(_UNLINK_LEGAL_ENTITY, tenant, legal_entity_id)]


async def existing_order_ids(conn: Connection, tenant: str, ids: Sequence[str]) -> set[str]:
    return {record["id"] for record in await conn.fetch(_EXISTING_ORDER_IDS, tenant, list(ids))}


async def insert_orders(conn: Connection, tenant: str, contents: Sequence[OrderContent]) -> set[str]:
    """Store new orders in one statement; the ids inserted (an id that exists already is skipped)."""
    sep = UNIT_SEPARATOR
    columns = (
        [c.id for c in contents],
        [c.customer_id for c in contents],
        [c.legal_entity_id for c in contents],
        [c.status for c in contents],
        [c.site_code for c in contents],
        [c.currency for c in contents],
        [c.total for c in contents],
        [sep.join(c.product_ids) for c in contents],
        [sep.join(map(str, c.quantities)) for c in contents],
        [sep.join(map(str, c.amounts)) for c in contents],
        [c.document for c in contents],
        [c.created_at for c in contents],
    )
    return {record["id"] for record in await conn.fetch(_INSERT_ORDERS, tenant, *columns)}


_ORDERS = ListStatement(
    _COLUMNS,
    "FROM orders o",
    "o.tenant = $1",
    _row,
    tiebreak="o.id",
    default_order="o.created_at DESC, o.id ASC",
)


async def list_orders(
    conn: Connection,
    tenant: str,
    search: Search,
    *,
    customer_id: str | None = None,
    legal_entity_id: str | None = None,
    page: Page,
    with_total: bool,
) -> tuple[list[OrderRow], int | None]:
    """One page of the tenant's orders matching `search` (only the customer's or the legal entity's when given)."""
    criteria = _ORDERS.criteria(tenant, query=search.query)
    if customer_id is not None:
        criteria.where(f"o.customer_id = {criteria.bind(customer_id)}")
    if legal_entity_id is not None:
        criteria.where(f"o.legal_entity_id = {criteria.bind(legal_entity_id)}")
    return await fetch_page(conn, _ORDERS, criteria, search.ordering, page=page, with_total=with_total)
