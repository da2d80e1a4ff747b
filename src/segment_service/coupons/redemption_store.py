"""Redemption SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind
from segment_service.coupons.store import COUNT_REDEMPTION

#: The public field paths of a redemption for `q` and `sort`, with the column each one reads.
REDEMPTION_FIELDS: dict[str, Field] = {
    "id": Field("r.id", FieldKind.TEXT),
    "code": Field("r.coupon_code", FieldKind.TEXT),
    "orderCode": Field("r.order_code", FieldKind.TEXT),
    "customerNumber": Field("r.customer_number", FieldKind.TEXT),
    "legalEntityId": Field("NULLIF(r.legal_entity_id, '')", FieldKind.TEXT),
    "orderTotal.amount": Field("r.order_total_amount", FieldKind.NUMBER),
    "orderTotal.currency": Field("r.order_total_currency", FieldKind.TEXT),
    "discount.amount": Field("r.discount_amount", FieldKind.NUMBER),
    "discount.currency": Field("r.discount_currency", FieldKind.TEXT),
    "redeemedAt": Field("r.redeemed_at", FieldKind.DATETIME),
}

_COLUMNS = """r.id, r.coupon_code, r.order_code, r.customer_number, NULLIF(r.legal_entity_id, '') AS legal_entity_id,
    r.order_total_amount, r.order_total_currency, r.discount_amount, r.discount_currency, r.redeemed_at"""

ORDER_KEY = "coupon_redemptions_order_key"


class NewRedemption(msgspec.Struct, kw_only=True):
    """A redemption to store; `customer_number` None for an anonymous one, `legal_entity_id` None outside a
    legal-entity context."""

    id: str
    coupon_code: str
    order_code: str | None
    customer_number: str | None
    legal_entity_id: str | None
    order_total_amount: Decimal
    order_total_currency: str
    discount_amount: Decimal
    discount_currency: str


class RedemptionRow(NewRedemption, kw_only=True):
    """A stored redemption."""

    redeemed_at: datetime


def _row(record: asyncpg.Record) -> RedemptionRow:
    return RedemptionRow(**record)


_INSERT_REDEMPTION = """
INSERT INTO coupon_redemptions (tenant, id, coupon_code, order_code, customer_number, legal_entity_id,
                                order_total_amount, order_total_currency, discount_amount, discount_currency,
                                redeemed_at)
VALUES ($1, $2, $3, $4, $5, coalesce($6, ''), $7, $8, $9, $10, clock_timestamp())
"""

# A redemption counted on its coupon and stored in one statement: store.COUNT_REDEMPTION ($1 tenant, $2 code, $3 the
# version the checks read) takes the coupon's row lock, checks the total limit and the window and counts; the row is
# stored only when it was counted, stamped after the lock was taken. For a redemption no per-customer limit applies
# to.
_REDEEM = f"""{COUNT_REDEMPTION}
INSERT INTO coupon_redemptions (tenant, id, coupon_code, order_code, customer_number, legal_entity_id,
                                order_total_amount, order_total_currency, discount_amount, discount_currency,
                                redeemed_at)
SELECT $1, $4::text, counted.code, $5::text, $6::text, coalesce($7::text, ''), $8::numeric, $9::text, $10::numeric,
       $11::text, clock_timestamp()
FROM counted
RETURNING id
"""

# A customer's redemption, stored only while the customer's redemptions of the coupon in the legal-entity context
# $6 (all of them when $6 is NULL: without a context no redemption of the customer may be left uncounted) are fewer
# than the limit $11, counted up to the limit only (through coupon_redemptions_customer_idx). It runs after
# store.COUNT_REDEMPTION took the coupon's row lock, as a statement of its own: its snapshot then holds every
# redemption of the coupon committed before the lock was granted, so the per-customer limit holds under concurrency.
_INSERT_WITHIN_CUSTOMER_LIMIT = """
INSERT INTO coupon_redemptions (tenant, id, coupon_code, order_code, customer_number, legal_entity_id,
                                order_total_amount, order_total_currency, discount_amount, discount_currency,
                                redeemed_at)
SELECT $1, $2::text, $3, $4::text, $5, coalesce($6::text, ''), $7::numeric, $8::text, $9::numeric, $10::text,
       clock_timestamp()
WHERE (SELECT count(*)
       FROM (SELECT
             FROM coupon_redemptions
             WHERE tenant = $1 AND coupon_code = $3 AND customer_number = $5
               AND ($6::text IS NULL OR legal_entity_id = $6::text)
             LIMIT $11) used) < $11
RETURNING id
"""

_SELECT_REDEMPTION = f"""
SELECT {_COLUMNS}
FROM coupon_redemptions r
WHERE r.tenant = $1 AND r.coupon_code = $2 AND r.id = $3
"""

_DELETE_REDEMPTION = """
DELETE FROM coupon_redemptions
WHERE tenant = $1 AND coupon_code = $2 AND id = $3
"""


@contextmanager
def _one_per_order(row: NewRedemption) -> Iterator[None]:
    """Conflict (409) when the statement run inside stores a second redemption of the coupon for the same order."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == ORDER_KEY:
            raise Conflict(
                f"The coupon {row.coupon_code} has already been redeemed for order {row.order_code}.",
                field="orderCode",
                type="duplicate_value",
            ) from exc
        raise


def _values(row: NewRedemption) -> tuple[object, ...]:
    return (
        row.id,
        row.coupon_code,
        row.order_code,
        row.customer_number,
        row.legal_entity_id,
        row.order_total_amount,
        row.order_total_currency,
        row.discount_amount,
        row.discount_currency,
    )


async def insert_redemption(conn: Connection, tenant: str, row: NewRedemption) -> None:
    """Store a redemption, stamped with the time of the insert itself: it runs under the coupon's row lock, so the
    redemptions of a coupon are stamped in the order they were made (the transaction's start time would not be).
    Conflict when the order already redeemed the coupon."""
    with _one_per_order(row):
        await conn.execute(_INSERT_REDEMPTION, tenant, *_values(row))


async def redeem(conn: Connection, tenant: str, version: int, row: NewRedemption) -> bool:
    """Count the redemption on its coupon and store it, in one statement (_REDEEM), if the coupon is still at
    `version` and redeemable (store.COUNT_REDEMPTION); False, and nothing written, otherwise. Conflict when the
    order already redeemed the coupon."""
    values = _values(row)
    with _one_per_order(row):
        stored = await conn.fetchval(_REDEEM, tenant, row.coupon_code, version, values[0], *values[2:])
    return stored is not None


async def insert_within_customer_limit(conn: Connection, tenant: str, row: NewRedemption, limit: int) -> bool:
    """Store a customer's redemption unless the customer has redeemed the coupon `limit` times in the redemption's
    legal-entity context (in any context when it has none); whether it was stored. Run it under the coupon's row
    lock, taken by an earlier statement of the transaction. Conflict when the order already redeemed the coupon."""
    with _one_per_order(row):
        stored = await conn.fetchval(_INSERT_WITHIN_CUSTOMER_LIMIT, tenant, *_values(row), limit)
    return stored is not None


async def fetch_redemption(conn: Connection, tenant: str, code: str, redemption_id: str) -> RedemptionRow | None:
    """The coupon's redemption with this id, or None."""
    record = await conn.fetchrow(_SELECT_REDEMPTION, tenant, code, redemption_id)
    return None if record is None else _row(record)


async def delete_redemption(conn: Connection, tenant: str, code: str, redemption_id: str) -> bool:
    """Delete one of the coupon's redemptions; whether it existed."""
    return str(await conn.execute(_DELETE_REDEMPTION, tenant, code, redemption_id)) != "DELETE 0"


_REDEMPTIONS = ListStatement(
    _COLUMNS, "FROM coupon_redemptions r", "r.tenant = $1 AND r.coupon_code = $2", _row, tiebreak="r.id"
)


async def list_redemptions(
    conn: Connection, tenant: str, code: str, search: Search, *, page: Page, with_total: bool
) -> tuple[list[RedemptionRow], int | None]:
    """One page of a coupon's redemptions matching `search`, and the total when asked for."""
    criteria = _REDEMPTIONS.criteria(tenant, code, query=search.query)
    return await fetch_page(conn, _REDEMPTIONS, criteria, search.ordering, page=page, with_total=with_total)
