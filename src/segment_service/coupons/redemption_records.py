"""Stored redemptions (coupon.yml, "Coupon Redemption"): reading them, and deleting one, which the coupon then
counts no more; no HTTP here. Making one is redemptions.py's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import NotFound
from segment_service.core.listing import parse_search
from segment_service.core.paging import Page
from segment_service.core.timefmt import iso
from segment_service.coupons import redemption_store, store
from segment_service.coupons.redemption_store import RedemptionRow
from segment_service.coupons.rules import path_code
from segment_service.coupons.service import acting_customer, coupon_changed, not_found

MANAGE = (Scope.COUPON_MANAGE.value,)


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
        await coupon_changed(conn, caller.tenant, code)
