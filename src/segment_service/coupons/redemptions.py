"""Validation and redemption (coupon.yml, "Coupon Validation" and "Coupon Redemption"); no HTTP here.

Both run `check_redeemable`, so a validation that passes means a redemption made at the same moment would pass too.
A redemption locks the coupon's row first: checks, insert and counter update of concurrent redemptions of one
coupon run one after another, so no limit is ever exceeded (docs/decisions.md#redemption-limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound
from segment_service.core.ids import new_id
from segment_service.core.listing import parse_search
from segment_service.core.paging import Page
from segment_service.core.timefmt import iso
from segment_service.coupons import redemption_store, store
from segment_service.coupons.models import CurrencyAmount, DiscountType, RedemptionCreation
from segment_service.coupons.redemption_store import NewRedemption, RedemptionRow
from segment_service.coupons.rules import decimal_amount, path_code
from segment_service.coupons.service import acting_customer, not_found
from segment_service.coupons.store import CouponRow
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.segments import membership

MANAGE = (Scope.COUPON_MANAGE.value,)


@dataclass(frozen=True, slots=True)
class Redeemer:
    """Who redeems: a customer (None: anonymous) in a legal-entity context (None: none)."""

    customer_id: str | None
    legal_entity_id: str | None


class NotRedeemable(BadRequest):
    """A coupon that cannot be redeemed now: 400 with the reason in `details[0].type`."""

    def __init__(self, reason: str, message: str, field: str) -> None:
        super().__init__(message, field=field, type=reason)


async def resolve_redeemer(conn: Connection, caller: Caller, body: RedemptionCreation) -> Redeemer:
    """The customer and legal-entity context of a validation or redemption (docs/decisions.md#the-legal-entity-context):
    the `legalEntityId` the body names, which must be one of the customer's legal entities (else 403), else the token's
    own legal entity when the token's customer redeems, else none."""
    named = body.customer_number if isinstance(body.customer_number, str) else None
    customer_id = acting_customer(caller, named)
    if (
        customer_id is not None
        and customer_id != caller.customer_id
        and not await customers_service.customer_exists(conn, caller.tenant, customer_id)
    ):
        raise BadRequest(
            f"Validation problem with request body: customerNumber {customer_id} names no customer.",
            field="customerNumber",
            type="missing_reference",
        )
    if isinstance(body.legal_entity_id, str):
        if customer_id is None:
            raise BadRequest(
                "Validation problem with request body: legalEntityId needs a customer; anonymous "
                "redemptions have no legal entity.",
                field="legalEntityId",
                type="invalid_value",
            )
        if not await legal_entities_service.is_contact(conn, caller.tenant, customer_id, body.legal_entity_id):
            raise Forbidden(f"The customer {customer_id} is not a contact of legal entity {body.legal_entity_id}.")
        return Redeemer(customer_id, body.legal_entity_id)
    if customer_id is not None and customer_id == caller.customer_id:
        return Redeemer(customer_id, caller.legal_entity_id)
    return Redeemer(customer_id, None)


def _money(amount: CurrencyAmount) -> str:
    return f"{amount.amount:g} {amount.currency}"


async def check_redeemable(
    conn: Connection, tenant: str, coupon: CouponRow, body: RedemptionCreation, redeemer: Redeemer
) -> None:
    """Every check a redemption makes, in a fixed order; raises NotRedeemable naming the first one that fails.

    The validity window is read on the database's clock, the one `status` and `redeemedAt` use, and read after the
    coupon's row lock was taken (both bounds inclusive, as `status` has them)."""
    if coupon.valid_from is not None or coupon.valid_until is not None:
        moment = await store.database_time(conn)
        if coupon.valid_from is not None and moment < coupon.valid_from:
            raise NotRedeemable(
                "coupon_not_yet_valid",
                f"The coupon {coupon.code} is valid only from {iso(coupon.valid_from)}.",
                "restrictions.validFrom",
            )
        if coupon.valid_until is not None and coupon.valid_until < moment:
            raise NotRedeemable(
                "coupon_expired",
                f"The coupon {coupon.code} expired at {iso(coupon.valid_until)}.",
                "restrictions.validUntil",
            )
    customer_id = redeemer.customer_id
    if customer_id is None and not coupon.allow_anonymous:
        raise NotRedeemable(
            "anonymous_not_allowed",
            f"The coupon {coupon.code} can only be redeemed by a logged-in customer.",
            "customerNumber",
        )
    if coupon.valid_for and customer_id not in coupon.valid_for:
        raise NotRedeemable(
            "customer_not_eligible", f"The coupon {coupon.code} is not valid for this customer.", "customerNumber"
        )
    if coupon.referral and customer_id is not None and customer_id == coupon.issued_to:
        raise NotRedeemable(
            "customer_not_eligible",
            f"The coupon {coupon.code} is the customer's own referral "
            "coupon; it is meant for the customers they refer.",
            "customerNumber",
        )
    if coupon.segment_restricted and (
        customer_id is None
        or not await membership.is_active_member(
            conn, tenant, customer_id, redeemer.legal_entity_id, coupon.segment_ids or []
        )
    ):
        raise NotRedeemable(
            "segment_not_eligible",
            f"The coupon {coupon.code} is valid only for members of its active customer segments.",
            "restrictions.segments",
        )
    _check_money(coupon, body)
    if coupon.max_redemptions != -1 and coupon.redemption_count >= coupon.max_redemptions:
        raise NotRedeemable(
            "max_redemptions_reached",
            f"The coupon {coupon.code} has reached its maximum number of redemptions ({coupon.max_redemptions}).",
            "maxRedemptions",
        )
    if customer_id is not None and coupon.max_redemptions_per_customer != -1:
        used = await redemption_store.count_customer_redemptions(
            conn, tenant, coupon.code, customer_id, redeemer.legal_entity_id
        )
        if used >= coupon.max_redemptions_per_customer:
            where = "" if redeemer.legal_entity_id is None else f" for legal entity {redeemer.legal_entity_id}"
            raise NotRedeemable(
                "max_redemptions_per_customer_reached",
                f"The customer has reached the coupon's "
                f"maximum number of redemptions per customer ({coupon.max_redemptions_per_customer})"
                f"{where}.",
                "maxRedemptionsPerCustomer",
            )


def _check_money(coupon: CouponRow, body: RedemptionCreation) -> None:
    """The order's currency is the discount's, the coupon's absolute discount's and its minimum order value's; the
    discount is not more than the order total; the order total reaches the minimum."""
    total = body.order_total
    if body.discount.currency != total.currency:
        raise NotRedeemable(
            "currency_mismatch",
            f"The discount is in {body.discount.currency}, the order total in {total.currency}.",
            "discount.currency",
        )
    if decimal_amount(body.discount.amount) > decimal_amount(total.amount):
        raise BadRequest(
            f"Validation problem with request body: discount ({_money(body.discount)}) must not be "
            f"more than orderTotal ({_money(total)}).",
            field="discount.amount",
            type="invalid_value",
        )
    if coupon.discount_type == DiscountType.ABSOLUTE.value and coupon.discount_currency != total.currency:
        raise NotRedeemable(
            "currency_mismatch",
            f"The coupon's discount is in {coupon.discount_currency}, the order total in {total.currency}.",
            "orderTotal.currency",
        )
    if coupon.min_order_amount is None:
        return
    if coupon.min_order_currency != total.currency:
        raise NotRedeemable(
            "currency_mismatch",
            f"The coupon's minimum order value is in {coupon.min_order_currency}, the order total in {total.currency}.",
            "orderTotal.currency",
        )
    if decimal_amount(total.amount) < coupon.min_order_amount:
        raise NotRedeemable(
            "min_order_value_not_reached",
            f"The order total {_money(total)} is below the coupon's "
            f"minimum order value {coupon.min_order_amount:f} {coupon.min_order_currency}.",
            "orderTotal.amount",
        )


async def _live_coupon(conn: Connection, tenant: str, code: str, *, lock: bool) -> CouponRow:
    row = await (store.lock_coupon if lock else store.fetch_coupon)(conn, tenant, code)
    if row is None or row.deleted:
        raise not_found(code)
    return row


async def validate_coupon(db: Database, caller: Caller, code: str, body: RedemptionCreation) -> None:
    """Run every check of a redemption without redeeming; raises the reason when one fails. An unknown coupon is
    404 before anything in the body is looked at."""
    code = path_code(code)
    async with db.connection() as conn:
        coupon = await _live_coupon(conn, caller.tenant, code, lock=False)
        redeemer = await resolve_redeemer(conn, caller, body)
        await check_redeemable(conn, caller.tenant, coupon, body, redeemer)


async def redeem_coupon(db: Database, caller: Caller, code: str, body: RedemptionCreation) -> str:
    """Redeem the coupon for an order; the redemption's id."""
    code = path_code(code)
    async with db.transaction() as conn:
        # An unknown coupon is 404 before anything in the body is looked at; who redeems is settled before the
        # coupon is locked, so that the lock is held for the checks only.
        if not await store.coupon_is_live(conn, caller.tenant, code):
            raise not_found(code)
        redeemer = await resolve_redeemer(conn, caller, body)
        coupon = await _live_coupon(conn, caller.tenant, code, lock=True)
        await check_redeemable(conn, caller.tenant, coupon, body, redeemer)
        redemption = NewRedemption(
            id=new_id(),
            coupon_code=coupon.code,
            order_code=body.order_code if isinstance(body.order_code, str) else None,
            customer_number=redeemer.customer_id,
            legal_entity_id=redeemer.legal_entity_id,
            order_total_amount=decimal_amount(body.order_total.amount),
            order_total_currency=body.order_total.currency,
            discount_amount=decimal_amount(body.discount.amount),
            discount_currency=body.discount.currency,
        )
        await redemption_store.insert_redemption(conn, caller.tenant, redemption)
        await store.add_redemptions(conn, caller.tenant, coupon.code, 1)
    return redemption.id


# -------------------------------------------------------------------------------------------- redemption reads


def _amount_document(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": float(amount), "currency": currency}


def redemption_document(row: RedemptionRow) -> dict[str, Any]:
    """The `redemption` of a stored redemption, with the coupon's `code` as coupon.yml's example shows it."""
    doc: dict[str, Any] = {"id": row.id, "code": row.coupon_code}
    if row.order_code is not None:
        doc["orderCode"] = row.order_code
    if row.customer_number is not None:
        doc["customerNumber"] = row.customer_number
    if row.legal_entity_id is not None:
        doc["legalEntityId"] = row.legal_entity_id
    doc["orderTotal"] = _amount_document(row.order_total_amount, row.order_total_currency)
    doc["discount"] = _amount_document(row.discount_amount, row.discount_currency)
    doc["redeemedAt"] = iso(row.redeemed_at)
    return doc


async def _existing_coupon(conn: Connection, tenant: str, code: str) -> None:
    """404 unless the coupon exists; a deleted coupon's redemptions stay readable for its seller."""
    if await store.fetch_coupon(conn, tenant, code) is None:
        raise not_found(code)


def _redemption_not_found(code: str, redemption_id: str) -> NotFound:
    return NotFound(f"Redemption {redemption_id} of coupon {code} not found.")


async def get_redemption(
    db: Database, caller: Caller, code: str, redemption_id: str, *, customer_number: str | None
) -> dict[str, Any]:
    """One redemption: any with coupon_manage; otherwise only one of the acting customer (the token's own, or the
    `customerNumber` with coupon_redeem_on_behalf), else 404 as if there were none."""
    code = path_code(code)
    async with db.connection() as conn:
        await _existing_coupon(conn, caller.tenant, code)
        row = await redemption_store.fetch_redemption(conn, caller.tenant, code, redemption_id)
    if caller.has_any(MANAGE):
        visible = row is not None
    else:
        customer_id = acting_customer(caller, customer_number)
        visible = row is not None and customer_id is not None and row.customer_number == customer_id
    if row is None or not visible:
        raise _redemption_not_found(code, redemption_id)
    return redemption_document(row)


async def list_redemptions(
    db: Database, caller: Caller, code: str, *, q: str | None, page: Page, sort: str | None, with_total: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the coupon's redemptions that match `q`, and the total when asked for."""
    code = path_code(code)
    search = parse_search(q, sort or "redeemedAt", redemption_store.REDEMPTION_FIELDS)
    async with db.connection() as conn:
        await _existing_coupon(conn, caller.tenant, code)
        rows, total = await redemption_store.list_redemptions(
            conn, caller.tenant, code, search, page=page, with_total=with_total
        )
    return [redemption_document(r) for r in rows], total


async def delete_redemption(db: Database, caller: Caller, code: str, redemption_id: str) -> None:
    """Delete a redemption; the coupon counts one redemption less (under its row lock, as redemptions count)."""
    code = path_code(code)
    async with db.transaction() as conn:
        if await store.lock_coupon(conn, caller.tenant, code) is None:
            raise not_found(code)
        if not await redemption_store.delete_redemption(conn, caller.tenant, code, redemption_id):
            raise _redemption_not_found(code, redemption_id)
        await store.add_redemptions(conn, caller.tenant, code, -1)
