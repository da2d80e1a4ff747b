"""Coupon SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind

#: `status` as coupon.yml defines it, computed where the coupon is read so that `q` and `sort` can use it too.
#: `validUntil` is inclusive: the spec's example ends a window at 23:59:59.999.
STATUS_SQL = (
    "CASE WHEN c.valid_from IS NOT NULL AND now() < c.valid_from THEN 'INACTIVE'"
    " WHEN c.valid_until IS NOT NULL AND c.valid_until < now() THEN 'EXPIRED'"
    " WHEN c.max_redemptions <> -1 AND c.redemption_count >= c.max_redemptions THEN 'USED'"
    " ELSE 'VALID' END"
)

#: The public field paths of a coupon for `q` and `sort`, with the column each one reads.
COUPON_FIELDS: dict[str, Field] = {
    "code": Field("c.code", FieldKind.TEXT),
    "name": Field("c.name", FieldKind.TEXT),
    "description": Field("c.description", FieldKind.TEXT),
    "discountType": Field("c.discount_type", FieldKind.TEXT),
    "discountPercentage": Field("c.discount_percentage", FieldKind.NUMBER),
    "discountAbsolute.amount": Field("c.discount_amount", FieldKind.NUMBER),
    "discountAbsolute.currency": Field("c.discount_currency", FieldKind.TEXT),
    "allowAnonymous": Field("c.allow_anonymous", FieldKind.BOOLEAN),
    "maxRedemptions": Field("c.max_redemptions", FieldKind.NUMBER),
    "maxRedemptionsPerCustomer": Field("c.max_redemptions_per_customer", FieldKind.NUMBER),
    "discountCalculationType": Field("c.discount_calculation_type", FieldKind.TEXT),
    "categoryRestricted": Field("c.category_restricted", FieldKind.BOOLEAN),
    "segmentRestricted": Field("c.segment_restricted", FieldKind.BOOLEAN),
    "restrictions.validFrom": Field("c.valid_from", FieldKind.DATETIME),
    "restrictions.segments": Field("c.segment_ids", FieldKind.TEXT_ARRAY),
    "restrictions.validFor": Field("c.valid_for", FieldKind.TEXT_ARRAY),
    "restrictions.validUntil": Field("c.valid_until", FieldKind.DATETIME),
    "restrictions.minOrderValue.amount": Field("c.min_order_amount", FieldKind.NUMBER),
    "restrictions.minOrderValue.currency": Field("c.min_order_currency", FieldKind.TEXT),
    "issuedTo": Field("c.issued_to", FieldKind.TEXT),
    "referralCoupon": Field("c.referral", FieldKind.BOOLEAN),
    "deleted": Field("c.deleted", FieldKind.BOOLEAN),
    "redemptionCount": Field("c.redemption_count", FieldKind.NUMBER),
    "status": Field(STATUS_SQL, FieldKind.TEXT),
    "metadata.version": Field("c.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("c.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("c.modified_at", FieldKind.DATETIME),
    "mixins": Field("c.mixins", FieldKind.JSON),
}

# The redemptions per legal entity (coupon.yml `legalEntityRedemptions`), read through
# coupon_redemptions_customer_idx.
_LEGAL_ENTITY_REDEMPTIONS = """(
    SELECT jsonb_agg(jsonb_build_object('legalEntityId', r.legal_entity_id, 'count', r.n) ORDER BY r.legal_entity_id)
    FROM (SELECT legal_entity_id, count(*) AS n
          FROM coupon_redemptions
          WHERE tenant = c.tenant AND coupon_code = c.code AND legal_entity_id <> ''
          GROUP BY legal_entity_id) r
) AS legal_entity_redemptions"""

_BASE_COLUMNS = f"""c.code, c.name, c.description, c.discount_type, c.discount_percentage, c.discount_amount,
    c.discount_currency, c.allow_anonymous, c.max_redemptions, c.max_redemptions_per_customer,
    c.discount_calculation_type, c.category_restricted, c.segment_restricted, c.valid_for, c.valid_from,
    c.valid_until, c.min_order_amount, c.min_order_currency, c.included_categories, c.excluded_categories,
    c.segment_ids, c.issued_to, c.referral, c.deleted, c.redemption_count, c.mixins, c.metadata_mixins, c.version,
    {STATUS_SQL} AS status"""
_COLUMNS = f"{_BASE_COLUMNS},\n    {_LEGAL_ENTITY_REDEMPTIONS}"

#: The unique keys a coupon write can run into.
CODE_KEY = "coupons_pkey"
REFERRAL_KEY = "coupons_referral_key"


class CouponContent(msgspec.Struct, kw_only=True):
    """What a client writes of a coupon; the database keeps the counters, the version and the timestamps."""

    code: str
    name: str
    description: str | None
    discount_type: str
    discount_percentage: Decimal | None
    discount_amount: Decimal | None
    discount_currency: str | None
    allow_anonymous: bool
    max_redemptions: int
    max_redemptions_per_customer: int
    discount_calculation_type: str
    category_restricted: bool
    segment_restricted: bool
    valid_for: list[str]
    valid_from: datetime | None
    valid_until: datetime | None
    min_order_amount: Decimal | None
    min_order_currency: str | None
    included_categories: list[str] | None
    excluded_categories: list[str] | None
    segment_ids: list[str] | None
    issued_to: str | None
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class CouponRow(CouponContent, kw_only=True):
    """A stored coupon with what the server keeps: flags, counters, the computed status."""

    referral: bool
    deleted: bool
    redemption_count: int
    version: int
    status: str
    legal_entity_redemptions: list[dict[str, Any]] | None


class RedeemableCoupon(CouponRow, kw_only=True):
    """A coupon as validation and redemption read it (without `legal_entity_redemptions`): with the database's clock
    when it was read, and, when a customer redeems a coupon with a per-customer limit, the customer's redemptions in
    the legal-entity context counted up to that limit (None otherwise)."""

    checked_at: datetime
    customer_redemptions: int | None


def _row(record: asyncpg.Record) -> CouponRow:
    return CouponRow(**record)


_SELECT_COUPON = f"""
SELECT {_COLUMNS}
FROM coupons c
WHERE c.tenant = $1 AND c.code = $2
"""

# The locking read of a write needs no per-legal-entity counts.
_LOCK_COUPON = f"""
SELECT {_BASE_COLUMNS}, NULL::jsonb AS legal_entity_redemptions
FROM coupons c
WHERE c.tenant = $1 AND c.code = $2
FOR UPDATE
"""

# What validation and redemption check, in one statement: the coupon without the per-legal-entity counts (nothing
# checks them), the database's clock, and when a customer ($3) redeems a coupon with a per-customer limit, the
# customer's redemptions in the legal-entity context $4 (all of them when $4 is NULL) counted up to the limit only,
# since only "is the limit reached" matters (through coupon_redemptions_customer_idx).
_SELECT_REDEEMABLE = f"""
SELECT {_BASE_COLUMNS}, NULL::jsonb AS legal_entity_redemptions, clock_timestamp() AS checked_at,
    CASE WHEN $3::text IS NOT NULL AND c.max_redemptions_per_customer <> -1 THEN (
        SELECT count(*)
        FROM (SELECT
              FROM coupon_redemptions r
              WHERE r.tenant = c.tenant AND r.coupon_code = c.code AND r.customer_number = $3::text
                AND ($4::text IS NULL OR r.legal_entity_id = $4::text)
              LIMIT c.max_redemptions_per_customer) used
    ) END AS customer_redemptions
FROM coupons c
WHERE c.tenant = $1 AND c.code = $2
"""

_SELECT_REFERRAL_COUPON = f"""
SELECT {_COLUMNS}
FROM coupons c
WHERE c.tenant = $1 AND c.issued_to = $2 AND c.referral AND NOT c.deleted
"""

_INSERT_COUPON = """
INSERT INTO coupons (tenant, code, name, description, discount_type, discount_percentage, discount_amount,
                     discount_currency, allow_anonymous, max_redemptions, max_redemptions_per_customer,
                     discount_calculation_type, category_restricted, segment_restricted, valid_for, valid_from,
                     valid_until, min_order_amount, min_order_currency, included_categories, excluded_categories,
                     segment_ids, issued_to, mixins, metadata_mixins, referral, version, created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
        $24, $25, $26, 1, now(), now())
"""

# Replace only a coupon that is not deleted and whose version is the one the client saw ($26 NULL: no lock).
_UPDATE_COUPON = """
UPDATE coupons
SET name = $3, description = $4, discount_type = $5, discount_percentage = $6, discount_amount = $7,
    discount_currency = $8, allow_anonymous = $9, max_redemptions = $10, max_redemptions_per_customer = $11,
    discount_calculation_type = $12, category_restricted = $13, segment_restricted = $14, valid_for = $15,
    valid_from = $16, valid_until = $17, min_order_amount = $18, min_order_currency = $19,
    included_categories = $20, excluded_categories = $21, segment_ids = $22, issued_to = $23, mixins = $24,
    metadata_mixins = $25, version = version + 1, modified_at = now()
WHERE tenant = $1 AND code = $2 AND NOT deleted AND ($26::integer IS NULL OR version = $26)
"""

_SOFT_DELETE_COUPON = """
UPDATE coupons
SET deleted = true, version = version + 1, modified_at = now()
WHERE tenant = $1 AND code = $2 AND NOT deleted
"""

_ADD_REDEMPTIONS = """
UPDATE coupons
SET redemption_count = redemption_count + $3
WHERE tenant = $1 AND code = $2
"""

#: The start of a statement that counts a redemption on its coupon (`WITH ... counted`; the statement goes on with
#: what reads `counted`): `locked` takes the coupon's row lock and reads the row as it is once the lock is held;
#: `redeemable` checks, on that row and on the clock read after the lock, what may have changed since the checks
#: before it: the version they read ($3; a PUT, PATCH or DELETE raises it), the deletion, the total limit against
#: the counter and the validity window; `counted` adds the redemption to the counter and returns the code. No row in
#: `counted`, nothing counted: the coupon is not what the checks read, or no longer redeemable.
COUNT_REDEMPTION = """
WITH locked AS (
    SELECT code, version, deleted, max_redemptions, redemption_count, valid_from, valid_until
    FROM coupons
    WHERE tenant = $1 AND code = $2
    FOR NO KEY UPDATE
), redeemable AS (
    SELECT code
    FROM locked
    WHERE version = $3 AND NOT deleted
      AND (max_redemptions = -1 OR redemption_count < max_redemptions)
      AND (valid_from IS NULL OR valid_from <= clock_timestamp())
      AND (valid_until IS NULL OR clock_timestamp() <= valid_until)
), counted AS (
    UPDATE coupons c
    SET redemption_count = c.redemption_count + 1
    FROM redeemable
    WHERE c.tenant = $1 AND c.code = redeemable.code
    RETURNING c.code
)"""

_COUNT_REDEMPTION = f"{COUNT_REDEMPTION}\nSELECT code FROM counted"


def _values(content: CouponContent) -> tuple[Any, ...]:
    return (
        content.name,
        content.description,
        content.discount_type,
        content.discount_percentage,
        content.discount_amount,
        content.discount_currency,
        content.allow_anonymous,
        content.max_redemptions,
        content.max_redemptions_per_customer,
        content.discount_calculation_type,
        content.category_restricted,
        content.segment_restricted,
        content.valid_for,
        content.valid_from,
        content.valid_until,
        content.min_order_amount,
        content.min_order_currency,
        content.included_categories,
        content.excluded_categories,
        content.segment_ids,
        content.issued_to,
        content.mixins,
        content.metadata_mixins,
    )


async def fetch_coupon(conn: Connection, tenant: str, code: str) -> CouponRow | None:
    """The coupon with this code (deleted or not), or None."""
    record = await conn.fetchrow(_SELECT_COUPON, tenant, code)
    return None if record is None else _row(record)


async def lock_coupon(conn: Connection, tenant: str, code: str) -> CouponRow | None:
    """The coupon with this code, locked until the transaction ends (without `legal_entity_redemptions`)."""
    record = await conn.fetchrow(_LOCK_COUPON, tenant, code)
    return None if record is None else _row(record)


async def fetch_referral_coupon(conn: Connection, tenant: str, customer_id: str) -> CouponRow | None:
    """The customer's referral coupon that is not deleted, or None."""
    record = await conn.fetchrow(_SELECT_REFERRAL_COUPON, tenant, customer_id)
    return None if record is None else _row(record)


async def fetch_redeemable(
    conn: Connection, tenant: str, code: str, customer_id: str | None, legal_entity_id: str | None
) -> RedeemableCoupon | None:
    """The coupon with this code (deleted or not) as validation and redemption check it, read with the database's
    clock (not the transaction's start: the clock `status` and `redeemedAt` are read on) and the customer's
    redemptions in the legal-entity context `legal_entity_id` (None: in every context together), or None."""
    record = await conn.fetchrow(_SELECT_REDEEMABLE, tenant, code, customer_id, legal_entity_id)
    return None if record is None else RedeemableCoupon(**record)


async def insert_coupon(conn: Connection, tenant: str, content: CouponContent, *, referral: bool = False) -> None:
    """Store a new coupon at version 1; Conflict when the code is taken (by a deleted coupon too) or, for a referral
    coupon, when the customer already has one (the constraint's name tells which)."""
    try:
        await conn.execute(_INSERT_COUPON, tenant, content.code, *_values(content), referral)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == CODE_KEY:
            # coupon.yml's 409 example.
            raise Conflict(
                f"Duplicate Coupon '{content.code}' on tenant '{tenant}'", field="code", type="duplicate_value"
            ) from exc
        if exc.constraint_name == REFERRAL_KEY:
            raise Conflict(
                f"The customer {content.issued_to} already has a referral coupon.",
                field="issuedTo",
                type="duplicate_value",
            ) from exc
        raise


async def update_coupon(conn: Connection, tenant: str, content: CouponContent, expected_version: int | None) -> bool:
    """Replace a coupon's content and raise its version; False when it is gone or its version is not
    `expected_version`."""
    status = await conn.execute(_UPDATE_COUPON, tenant, content.code, *_values(content), expected_version)
    return str(status) != "UPDATE 0"


async def soft_delete_coupon(conn: Connection, tenant: str, code: str) -> bool:
    """Mark a coupon deleted; whether there was one that was not deleted yet."""
    return str(await conn.execute(_SOFT_DELETE_COUPON, tenant, code)) != "UPDATE 0"


async def add_redemptions(conn: Connection, tenant: str, code: str, delta: int) -> None:
    """Change the coupon's redemption counter by `delta` (under the coupon's row lock)."""
    await conn.execute(_ADD_REDEMPTIONS, tenant, code, delta)


async def count_redemption(conn: Connection, tenant: str, code: str, version: int) -> bool:
    """Count one redemption on the coupon and hold its row lock until the transaction ends (COUNT_REDEMPTION);
    False, and nothing counted, when the coupon is no longer at `version` or no longer redeemable."""
    return await conn.fetchval(_COUNT_REDEMPTION, tenant, code, version) is not None


@dataclass(frozen=True, slots=True)
class CouponFilter:
    """GET /coupons: the checked `q` and `sort`; deleted coupons only with `show_deleted`."""

    search: Search
    show_deleted: bool


_COUPONS = ListStatement(_COLUMNS, "FROM coupons c", "c.tenant = $1", _row, tiebreak="c.code")


async def list_coupons(
    conn: Connection, tenant: str, coupons: CouponFilter, *, page: Page, with_total: bool
) -> tuple[list[CouponRow], int | None]:
    """One page of the tenant's coupons matching the filter, and the total when asked for."""
    criteria = _COUPONS.criteria(tenant, query=coupons.search.query)
    if not coupons.show_deleted:
        criteria.where("NOT c.deleted")
    return await fetch_page(conn, _COUPONS, criteria, coupons.search.ordering, page=page, with_total=with_total)
