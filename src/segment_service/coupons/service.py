"""Coupon rules and transactions (coupon.yml, "Coupon Management"); no HTTP here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from segment_service.core import events
from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Conflict, Forbidden, NotFound, VersionConflict
from segment_service.core.listing import parse_search
from segment_service.core.paging import Page
from segment_service.core.patch import merge_patch
from segment_service.core.timefmt import iso
from segment_service.coupons import store
from segment_service.coupons.models import CouponCreation, CouponPatch, CouponUpdate
from segment_service.coupons.rules import (
    coupon_content,
    expected_version,
    generated_code,
    normalized_code,
    path_code,
)
from segment_service.coupons.store import CouponContent, CouponRow
from segment_service.segments import membership

#: Scopes that see a coupon as its seller does, with the members coupon.yml marks "seller-only".
SELLER_SCOPES = (Scope.COUPON_READ.value, Scope.COUPON_MANAGE.value)
#: How often a generated code is drawn again when it is taken (32^8 codes: a second draw is already rare).
_CODE_ATTEMPTS = 5


def not_found(code: str) -> NotFound:
    """coupon.yml's 404 example."""
    return NotFound(f"Coupon with code {code} not found.")


def acting_customer(caller: Caller, customer_number: str | None) -> str | None:
    """The customer a customer-facing request acts for: the `customerNumber` it names, else the token's customer
    (None for service and anonymous tokens). Naming another customer than the token's own needs
    `coupon.coupon_redeem_on_behalf` (coupon.yml, "Additional scopes info"): 403 otherwise."""
    if customer_number is None or customer_number == caller.customer_id:
        return caller.customer_id
    if not caller.has_any((Scope.COUPON_REDEEM_ON_BEHALF.value,)):
        raise Forbidden("Acting for another customer (customerNumber) needs the coupon.coupon_redeem_on_behalf scope.")
    return customer_number


def _money(amount: Decimal, currency: str | None) -> dict[str, Any]:
    return {"amount": float(amount), "currency": currency}


def coupon_document(row: CouponRow, *, seller: bool = True) -> dict[str, Any]:
    """The `coupon-with-id-and-status` of a stored coupon; without `seller`, the members coupon.yml marks
    "seller-only" (limits, counters, `issuedTo`, `deleted`) are left out."""
    doc: dict[str, Any] = {"code": row.code, "name": row.name}
    if row.description is not None:
        doc["description"] = row.description
    doc["discountType"] = row.discount_type
    if row.discount_percentage is not None:
        doc["discountPercentage"] = float(row.discount_percentage)
    if row.discount_amount is not None:
        doc["discountAbsolute"] = _money(row.discount_amount, row.discount_currency)
    doc["allowAnonymous"] = row.allow_anonymous
    if seller:
        doc["maxRedemptions"] = row.max_redemptions
    doc["maxRedemptionsPerCustomer"] = row.max_redemptions_per_customer
    doc["discountCalculationType"] = row.discount_calculation_type
    doc["categoryRestricted"] = row.category_restricted
    doc["segmentRestricted"] = row.segment_restricted
    restrictions: dict[str, Any] = {"validFor": row.valid_for}
    if row.valid_from is not None:
        restrictions["validFrom"] = iso(row.valid_from)
    if row.valid_until is not None:
        restrictions["validUntil"] = iso(row.valid_until)
    if row.min_order_amount is not None:
        restrictions["minOrderValue"] = _money(row.min_order_amount, row.min_order_currency)
    if row.included_categories is not None:
        restrictions["includedCategories"] = row.included_categories
    if row.excluded_categories is not None:
        restrictions["excludedCategories"] = row.excluded_categories
    if row.segment_ids is not None:
        restrictions["segments"] = row.segment_ids
    doc["restrictions"] = restrictions
    if seller and row.issued_to is not None:
        doc["issuedTo"] = row.issued_to
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    metadata: dict[str, Any] = {"version": row.version}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    doc["status"] = row.status
    if seller:
        doc["redemptionCount"] = row.redemption_count
        if row.legal_entity_redemptions:
            doc["legalEntityRedemptions"] = row.legal_entity_redemptions
    doc["referralCoupon"] = row.referral
    if seller:
        doc["deleted"] = row.deleted
    return doc


def _writable_document(row: CouponRow) -> dict[str, Any]:
    """The stored coupon as a PUT body would write it, for merge patches to apply to."""
    doc = coupon_document(row)
    for read_only in ("code", "status", "redemptionCount", "legalEntityRedemptions", "referralCoupon", "deleted"):
        doc.pop(read_only, None)
    return doc


# ------------------------------------------------------------------------------------------------------ writes


async def coupon_changed(conn: Connection, tenant: str, code: str) -> None:
    """Every write to a coupon or its redemptions announces it, in its transaction: validations answered from the
    host's memo (coupons/validation_memo.py) remember the coupon until then (answers/reactions.py marks it)."""
    await events.emit(conn, events.CouponChanged(tenant=tenant, code=code))


async def _check_segments(conn: Connection, tenant: str, content: CouponContent) -> None:
    """A segment-restricted coupon names segments that exist in the tenant."""
    if not content.segment_ids:
        return
    missing = await membership.missing_segments(conn, tenant, content.segment_ids)
    if missing:
        raise BadRequest(
            f"Validation problem with request body: restrictions.segments names segments that do not "
            f"exist: {', '.join(missing)}.",
            field="restrictions.segments",
            type="missing_reference",
        )


async def insert_with_code(
    conn: Connection, tenant: str, content: CouponContent, *, generate: bool, prefix: str = "", referral: bool = False
) -> str:
    """Store a new coupon; with `generate`, under a fresh random code, drawn again while the code is taken. Its code.
    Each attempt runs in a savepoint so that a taken code does not end the caller's transaction."""
    for _ in range(_CODE_ATTEMPTS if generate else 1):
        if generate:
            content = msgspec.structs.replace(content, code=generated_code(prefix))
        try:
            async with conn.transaction():
                await store.insert_coupon(conn, tenant, content, referral=referral)
            await coupon_changed(conn, tenant, content.code)
            return content.code
        except Conflict as exc:
            if not generate or exc.field != "code":
                raise
    raise Conflict("No free coupon code was found; try again or name a code.", field="code", type="duplicate_value")


async def create_coupon(db: Database, caller: Caller, body: CouponCreation) -> str:
    """Create a coupon; its code (upper-cased, or generated when the body names none)."""
    code = normalized_code(body.code) if isinstance(body.code, str) else None
    content = coupon_content(code or "", body)
    async with db.transaction() as conn:
        await _check_segments(conn, caller.tenant, content)
        return await insert_with_code(conn, caller.tenant, content, generate=code is None)


async def _replace(conn: Connection, tenant: str, current: CouponRow, body: CouponUpdate) -> None:
    expected = expected_version(body)
    if expected is not None and expected != current.version:
        raise VersionConflict(f"The coupon {current.code} is at version {current.version}, not {expected}.")
    content = coupon_content(current.code, body)
    await _check_segments(conn, tenant, content)
    await store.update_coupon(conn, tenant, content, None)
    await coupon_changed(conn, tenant, current.code)


async def _lock_live_coupon(conn: Connection, tenant: str, code: str) -> CouponRow:
    row = await store.lock_coupon(conn, tenant, code)
    if row is None or row.deleted:
        raise not_found(code)
    return row


def _merge(current: CouponRow, patch: dict[str, Any]) -> CouponUpdate:
    """The stored coupon with a merge patch (RFC 7396) applied, decoded as a full update."""
    merged = merge_patch(_writable_document(current), patch)
    try:
        return msgspec.convert(merged, type=CouponUpdate, str_keys=True)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Validation problem with the patched coupon: {exc}.", type="invalid_value") from exc


def merge_object(body: CouponUpdate | CouponPatch) -> dict[str, Any]:
    """A decoded merge object back as JSON: members left out stay out, `null` stays null (it removes)."""
    return msgspec.to_builtins(body)  # type: ignore[no-any-return]


async def replace_coupon(db: Database, caller: Caller, code: str, body: CouponUpdate, *, partial: bool) -> None:
    """PUT: replace the coupon's content; with the deprecated `partial=true`, merge the body into it as PATCH does."""
    code = path_code(code)
    async with db.transaction() as conn:
        current = await _lock_live_coupon(conn, caller.tenant, code)
        if partial:
            body = _merge(current, merge_object(body))
        await _replace(conn, caller.tenant, current, body)


async def patch_coupon(db: Database, caller: Caller, code: str, patch: CouponPatch) -> None:
    """PATCH: change the members the merge object names, then check the result as a full replacement."""
    code = path_code(code)
    async with db.transaction() as conn:
        current = await _lock_live_coupon(conn, caller.tenant, code)
        await _replace(conn, caller.tenant, current, _merge(current, merge_object(patch)))


async def delete_coupon(db: Database, caller: Caller, code: str) -> None:
    """Soft delete: the coupon is marked `deleted`, listed only with `showDeleted=true`, and keeps its code."""
    code = path_code(code)
    async with db.transaction() as conn:
        if not await store.soft_delete_coupon(conn, caller.tenant, code):
            raise not_found(code)
        await coupon_changed(conn, caller.tenant, code)


# ------------------------------------------------------------------------------------------------------- reads


async def get_coupon(db: Database, caller: Caller, code: str, *, customer_number: str | None) -> dict[str, Any]:
    """One coupon that is not deleted; sellers (coupon_read or coupon_manage, not asking for a customer) see every
    member, everyone else the customer's view."""
    acting_customer(caller, customer_number)
    code = path_code(code)
    async with db.connection() as conn:
        row = await store.fetch_coupon(conn, caller.tenant, code)
    if row is None or row.deleted:
        raise not_found(code)
    return coupon_document(row, seller=customer_number is None and caller.has_any(SELLER_SCOPES))


async def list_coupons(
    db: Database, caller: Caller, *, q: str | None, page: Page, sort: str | None, with_total: bool, show_deleted: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the tenant's coupons that match `q` (deleted ones only with `show_deleted`), and the total when
    asked for."""
    coupons = store.CouponFilter(parse_search(q, sort, store.COUPON_FIELDS), show_deleted)
    async with db.connection() as conn:
        rows, total = await store.list_coupons(conn, caller.tenant, coupons, page=page, with_total=with_total)
    return [coupon_document(r) for r in rows], total
