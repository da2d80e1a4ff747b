"""Referral coupons (coupon.yml, "Referral Coupon Management"): one per customer, created on first request.

A referral coupon is an ordinary coupon with `referralCoupon: true` and `issuedTo` the referring customer: an
absolute discount anyone may redeem, anonymous guests included, except the referring customer (see `redemptions`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import Conflict, NotFound
from segment_service.coupons import store
from segment_service.coupons.service import coupon_document, insert_with_code
from segment_service.coupons.store import CouponContent
from segment_service.customers import service as customers_service

#: The discount of every referral coupon (the value of coupon.yml's referral example).
REFERRAL_AMOUNT = Decimal("8")
REFERRAL_CURRENCY = "USD"
#: Referral codes start with this, so that they are told apart from other coupons at a glance.
REFERRAL_PREFIX = "REF-"

READ_ANY = (Scope.COUPON_READ.value, Scope.COUPON_MANAGE.value)
MANAGE_ANY = (Scope.COUPON_MANAGE.value,)


def _customer_not_found(customer_id: str) -> NotFound:
    return NotFound(f"Customer with customerNumber {customer_id} not found.")


async def _check_customer(conn: Connection, caller: Caller, customer_id: str, any_scopes: tuple[str, ...]) -> None:
    """A seller may ask for any customer; a customer only for itself. Another customer is not found, as far as the
    caller can tell (coupon.yml declares no 403 here)."""
    if not caller.has_any(any_scopes) and caller.customer_id != customer_id:
        raise _customer_not_found(customer_id)
    if not await customers_service.customer_exists(conn, caller.tenant, customer_id):
        raise _customer_not_found(customer_id)


async def get_referral_coupon(db: Database, caller: Caller, customer_id: str) -> dict[str, Any] | None:
    """The customer's referral coupon, or None when it has none yet."""
    async with db.connection() as conn:
        await _check_customer(conn, caller, customer_id, READ_ANY)
        row = await store.fetch_referral_coupon(conn, caller.tenant, customer_id)
    return None if row is None else coupon_document(row, seller=caller.has_any(READ_ANY))


def _referral_content(customer_id: str, customer_name: str) -> CouponContent:
    return CouponContent(
        code="",
        name=f"Referral coupon of {customer_name}",
        description=None,
        discount_type="ABSOLUTE",
        discount_percentage=None,
        discount_amount=REFERRAL_AMOUNT,
        discount_currency=REFERRAL_CURRENCY,
        allow_anonymous=True,
        max_redemptions=-1,
        max_redemptions_per_customer=-1,
        discount_calculation_type="SUBTOTAL",
        category_restricted=False,
        segment_restricted=False,
        valid_for=[],
        valid_from=None,
        valid_until=None,
        min_order_amount=None,
        min_order_currency=None,
        included_categories=None,
        excluded_categories=None,
        segment_ids=None,
        issued_to=customer_id,
        mixins=None,
        metadata_mixins=None,
    )


async def create_referral_coupon(db: Database, caller: Caller, customer_id: str) -> dict[str, Any]:
    """The customer's referral coupon, created when it has none yet (at most one per customer, also when two
    requests race)."""
    async with db.transaction() as conn:
        await _check_customer(conn, caller, customer_id, MANAGE_ANY)
        row = await store.fetch_referral_coupon(conn, caller.tenant, customer_id)
        if row is None:
            customer = (await customers_service.fetch_customers(conn, caller.tenant, [customer_id]))[customer_id]
            full_name = " ".join(n for n in (customer.first_name, customer.last_name) if n) or customer_id
            try:
                await insert_with_code(
                    conn,
                    caller.tenant,
                    _referral_content(customer_id, full_name),
                    generate=True,
                    prefix=REFERRAL_PREFIX,
                    referral=True,
                )
            except Conflict as exc:
                if exc.field != "issuedTo":
                    raise
                # Another request created it first: that one is the customer's referral coupon.
            row = await store.fetch_referral_coupon(conn, caller.tenant, customer_id)
        assert row is not None
    return coupon_document(row, seller=caller.has_any(READ_ANY))
