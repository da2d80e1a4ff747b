"""Validation and redemption (coupon.yml, "Coupon Validation" and "Coupon Redemption"); no HTTP here.

Both run `check_redeemable` on one read of the coupon (with the database's clock and the customer's redemptions), so
a validation that passes means a redemption made at the same moment would pass too. A redemption makes its checks
before it takes the coupon's row lock, then counts and stores itself in the statement that takes the lock, which
checks again what a concurrent write could have changed (the coupon's version, its deletion, the total limit against
the counter, the validity window); where a per-customer limit applies, one more statement under the lock counts the
customer's redemptions and stores the redemption. So no limit is ever exceeded (docs/decisions.md#redemption-limits).
When the coupon changed in between, the redemption is checked again under the lock from the start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden, ServiceError
from segment_service.core.ids import new_id
from segment_service.core.timefmt import iso
from segment_service.coupons import redemption_store, store
from segment_service.coupons.models import CurrencyAmount, DiscountType, RedemptionCreation
from segment_service.coupons.redemption_store import NewRedemption
from segment_service.coupons.rules import decimal_amount, path_code
from segment_service.coupons.service import acting_customer, coupon_changed, not_found
from segment_service.coupons.store import CouponRow, RedeemableCoupon
from segment_service.customers import service as customers_service
from segment_service.legal_entities import service as legal_entities_service
from segment_service.segments import membership

#: Whether a customer (id, legal-entity context) is a member of an active segment among some: `check_redeemable`'s
#: one question about segments (membership.is_active_member on its connection unless it is given another answer).
Membership = Callable[[str, str | None, Sequence[str]], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Redeemer:
    """Who redeems: a customer (None: anonymous) in a legal-entity context (None: none)."""

    customer_id: str | None
    legal_entity_id: str | None


class NotRedeemable(BadRequest):
    """A coupon that cannot be redeemed now: 400 with the reason in `details[0].type`."""

    def __init__(self, reason: str, message: str, field: str) -> None:
        super().__init__(message, field=field, type=reason)


def claimed_redeemer(caller: Caller, body: RedemptionCreation) -> Redeemer:
    """Who redeems, as the token and the body tell it (docs/decisions.md#the-legal-entity-context): the `legalEntityId`
    the body names, else the token's own legal entity when the token's customer redeems, else none. Raises what
    needs no database: 403 for another customer without the on-behalf scope, 400 for a legal entity without a
    customer. `confirm_redeemer` checks the rest."""
    named = body.customer_number if isinstance(body.customer_number, str) else None
    customer_id = acting_customer(caller, named)
    if isinstance(body.legal_entity_id, str):
        if customer_id is None:
            raise BadRequest(
                "Validation problem with request body: legalEntityId needs a customer; anonymous "
                "redemptions have no legal entity.",
                field="legalEntityId",
                type="invalid_value",
            )
        return Redeemer(customer_id, body.legal_entity_id)
    if customer_id is not None and customer_id == caller.customer_id:
        return Redeemer(customer_id, caller.legal_entity_id)
    return Redeemer(customer_id, None)


def claim(caller: Caller, body: RedemptionCreation) -> tuple[Redeemer, ServiceError | None]:
    """`claimed_redeemer`, or what it raises with the redeemer as nobody: an unknown coupon is 404 first."""
    try:
        return claimed_redeemer(caller, body), None
    except ServiceError as exc:
        return Redeemer(None, None), exc


def confirmed_without_database(caller: Caller, body: RedemptionCreation, redeemer: Redeemer) -> bool:
    """Whether `confirm_redeemer` has nothing to ask the database: the redeemer is the token's own customer or
    nobody, and the body names no legal entity."""
    return redeemer.customer_id in (None, caller.customer_id) and not isinstance(body.legal_entity_id, str)


async def confirm_redeemer(conn: Connection, caller: Caller, body: RedemptionCreation, redeemer: Redeemer) -> None:
    """What the database says about the claimed redeemer: a customer other than the token's must exist (400), and
    the legal entity the body names must be one of the customer's (403). Nothing to ask when
    `confirmed_without_database`."""
    customer_id = redeemer.customer_id
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
    if (
        customer_id is not None
        and isinstance(body.legal_entity_id, str)
        and not await legal_entities_service.is_contact(conn, caller.tenant, customer_id, body.legal_entity_id)
    ):
        raise Forbidden(f"The customer {customer_id} is not a contact of legal entity {body.legal_entity_id}.")


def _money(amount: CurrencyAmount) -> str:
    return f"{amount.amount:g} {amount.currency}"


async def check_redeemable(
    conn: Connection | None,
    tenant: str,
    coupon: RedeemableCoupon,
    body: RedemptionCreation,
    redeemer: Redeemer,
    *,
    is_member: Membership | None = None,
) -> None:
    """Every check a redemption makes, in a fixed order; raises NotRedeemable naming the first one that fails.

    `coupon` is read for this `redeemer` (store.fetch_redeemable). The validity window is checked on the database's
    clock as the coupon was read, the clock `status` and `redeemedAt` use (both bounds inclusive, as `status` has
    them); the per-customer limit on the customer's redemptions counted in the same read. Segment membership is
    `is_member`'s answer, else asked on `conn` (one of the two must be given)."""
    if coupon.valid_from is not None or coupon.valid_until is not None:
        moment = coupon.checked_at
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
        or not await (is_member or _member_on(conn, tenant))(
            customer_id, redeemer.legal_entity_id, coupon.segment_ids or []
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
        used = coupon.customer_redemptions
        if used is None:
            raise RuntimeError(f"The coupon {coupon.code} was read without the redeeming customer's redemptions.")
        if used >= coupon.max_redemptions_per_customer:
            raise _customer_limit_reached(coupon, redeemer)


def _member_on(conn: Connection | None, tenant: str) -> Membership:
    if conn is None:
        raise RuntimeError("check_redeemable needs a connection or an answer about membership")

    async def is_member(customer_id: str, legal_entity_id: str | None, segment_ids: Sequence[str]) -> bool:
        return await membership.is_active_member(conn, tenant, customer_id, legal_entity_id, segment_ids)

    return is_member


def _customer_limit_reached(coupon: CouponRow, redeemer: Redeemer) -> NotRedeemable:
    where = "" if redeemer.legal_entity_id is None else f" for legal entity {redeemer.legal_entity_id}"
    return NotRedeemable(
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


async def _live_coupon(conn: Connection, tenant: str, code: str, redeemer: Redeemer) -> RedeemableCoupon:
    row = await store.fetch_redeemable(conn, tenant, code, redeemer.customer_id, redeemer.legal_entity_id)
    if row is None or row.deleted:
        raise not_found(code)
    return row


async def _read_request(
    conn: Connection, caller: Caller, code: str, body: RedemptionCreation
) -> tuple[RedeemableCoupon, Redeemer]:
    """The coupon, read for the redeemer the request claims, and the redeemer once checked. An unknown or deleted
    coupon is 404 before anything in the body is looked at: what the claim raises is raised after the read."""
    redeemer, refusal = claim(caller, body)
    coupon = await _live_coupon(conn, caller.tenant, code, redeemer)
    if refusal is not None:
        raise refusal
    await confirm_redeemer(conn, caller, body, redeemer)
    return coupon, redeemer


async def validate_coupon(db: Database, caller: Caller, code: str, body: RedemptionCreation) -> None:
    """Run every check of a redemption without redeeming; raises the reason when one fails. An unknown coupon is
    404 before anything in the body is looked at. Asks the database every time: the route goes through
    validation_memo.validate_coupon, which answers from the host's memo where it may."""
    code = path_code(code)
    async with db.connection() as conn:
        coupon, redeemer = await _read_request(conn, caller, code, body)
        await check_redeemable(conn, caller.tenant, coupon, body, redeemer)


async def redeem_coupon(db: Database, caller: Caller, code: str, body: RedemptionCreation) -> str:
    """Redeem the coupon for an order; the redemption's id.

    The checks run before the coupon's row lock is taken; then the redemption is counted and stored by the statement
    that takes the lock (one statement; two where a per-customer limit applies), which holds the limits and finds out
    whether the coupon is still what the checks read. When it is not, everything is checked again under the lock."""
    code = path_code(code)
    async with db.transaction() as conn:
        coupon, redeemer = await _read_request(conn, caller, code, body)
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
        if not await _store_checked(conn, caller.tenant, coupon, redeemer, redemption):
            await _store_locked(conn, caller.tenant, code, body, redeemer, redemption)
        await coupon_changed(conn, caller.tenant, coupon.code)
    return redemption.id


async def _store_checked(
    conn: Connection, tenant: str, coupon: RedeemableCoupon, redeemer: Redeemer, redemption: NewRedemption
) -> bool:
    """Count and store a redemption whose checks passed on `coupon`, in the caller's transaction; False, with
    nothing written, when the coupon is no longer at the version the checks read or no longer redeemable (deleted,
    its last redemption taken, its window over). Raises NotRedeemable when the customer's limit was reached
    meanwhile: the caller's transaction then rolls the count back."""
    if redeemer.customer_id is None or coupon.max_redemptions_per_customer == -1:
        return await redemption_store.redeem(conn, tenant, coupon.version, redemption)
    # The lock first, then the customer's redemptions counted in a statement of its own, which sees every redemption
    # committed before the lock was granted.
    if not await store.count_redemption(conn, tenant, coupon.code, coupon.version):
        return False
    if not await redemption_store.insert_within_customer_limit(
        conn, tenant, redemption, coupon.max_redemptions_per_customer
    ):
        raise _customer_limit_reached(coupon, redeemer)
    return True


async def _store_locked(
    conn: Connection, tenant: str, code: str, body: RedemptionCreation, redeemer: Redeemer, redemption: NewRedemption
) -> None:
    """Check and store a redemption under the coupon's row lock, in the caller's transaction, on the coupon as it is
    once the lock is held (a coupon that changed after the checks): raises what fails, as if the coupon had not been
    read before."""
    await store.lock_coupon(conn, tenant, code)
    coupon = await _live_coupon(conn, tenant, code, redeemer)
    await check_redeemable(conn, tenant, coupon, body, redeemer)
    await redemption_store.insert_redemption(conn, tenant, redemption)
    await store.add_redemptions(conn, tenant, code, 1)
