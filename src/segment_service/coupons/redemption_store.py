"""Redemption SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind

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

# Through coupon_redemptions_customer_idx: the customer's redemptions of the coupon in the legal-entity context $4,
# or all of them when $4 is NULL (without a context no redemption of the customer may be left uncounted).
_COUNT_CUSTOMER_REDEMPTIONS = """
SELECT count(*)
FROM coupon_redemptions
WHERE tenant = $1 AND coupon_code = $2 AND customer_number = $3 AND ($4::text IS NULL OR legal_entity_id = $4::text)
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


async def insert_redemption(conn: Connection, tenant: str, row: NewRedemption) -> None:
    """Store a redemption, stamped with the time of the insert itself: it runs under the coupon's row lock, so the
    redemptions of a coupon are stamped in the order they were made (the transaction's start time would not be).
    Conflict when the order already redeemed the coupon."""
    try:
        await conn.execute(
            _INSERT_REDEMPTION,
            tenant,
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
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == ORDER_KEY:
            raise Conflict(
                f"The coupon {row.coupon_code} has already been redeemed for order {row.order_code}.",
                field="orderCode",
                type="duplicate_value",
            ) from exc
        raise


async def count_customer_redemptions(
    conn: Connection, tenant: str, code: str, customer_id: str, legal_entity_id: str | None
) -> int:
    """How often the customer redeemed the coupon in the legal-entity context; None: in every context together."""
    return int(await conn.fetchval(_COUNT_CUSTOMER_REDEMPTIONS, tenant, code, customer_id, legal_entity_id))


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
