"""Coupon validation answered from the host's memo (docs/answers.md#versions-kept-on-the-host): with
SEGMENT_SERVICE_ANSWER_VERSIONS=host and the answer cache on, a validation whose inputs are remembered and unchanged
asks the database nothing.

A validation depends on three things, each remembered on tickets taken before the statement that reads it (and kept
only when no write held their scopes then, on the host or in the database: answers/service.py `settled`):
- the coupon as `store.fetch_redeemable` reads it for the redeemer (its fields, deletion, counter, and the customer's
  redemptions in the legal-entity context), or that there is no live coupon under the code: on the coupon's scope,
  which every write to the coupon or its redemptions marks (a CouponChanged event, answers/reactions.py);
- whether the customer is a member of an active segment among the coupon's: on the customer's memberships and the
  tenant's segment definitions, and until the first validity window of those segments opens or closes (computed in
  the same statement, from the database's clock);
- the clock, for the coupon's own validity window: a remembered coupon keeps the database's clock as it was read
  (`checked_at`), and is remembered only until its window opens or closes, measured from before the statement. So
  the window is judged exactly as the database judged it, as a redemption at the same moment would judge it (both
  bounds inclusive, on the database's clock), even when the database runs on another host with another clock.

Only a validation that needs no other statement is answered so: the redeemer is the token's own customer or nobody,
and the body names no legal entity (whether the customer is its contact is asked every time, as the storefront
does). Every other validation takes redemptions.validate_coupon's path, which remembers nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from segment_service.answers import service as answers
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.host_versions import DEFINITIONS, Ticket, VersionMemo, coupon_scope, member_scope
from segment_service.coupons import redemptions, store
from segment_service.coupons.models import RedemptionCreation
from segment_service.coupons.redemptions import Membership, Redeemer
from segment_service.coupons.rules import path_code
from segment_service.coupons.service import not_found
from segment_service.coupons.store import RedeemableCoupon
from segment_service.segments import membership


@dataclass(frozen=True, slots=True)
class KeptCoupon:
    """A coupon as a validation read it for one redeemer; None: no live coupon has the code (unknown or deleted)."""

    row: RedeemableCoupon | None


def coupon_key(tenant: str, code: str, redeemer: Redeemer) -> Hashable:
    return ("coupon", tenant, code, redeemer.customer_id, redeemer.legal_entity_id)


def member_key(tenant: str, redeemer: Redeemer, segment_ids: Sequence[str]) -> Hashable:
    return ("coupon-member", tenant, redeemer.customer_id, redeemer.legal_entity_id, tuple(segment_ids))


def member_scopes(customer_id: str) -> tuple[str, ...]:
    return (member_scope(customer_id), DEFINITIONS)


async def validate_coupon(db: Database, caller: Caller, code: str, body: RedemptionCreation) -> None:
    """`redemptions.validate_coupon`, answered from the host's memo when everything it depends on is remembered and
    unchanged, and otherwise read with tickets so that the next validation may be."""
    memo = db.memo
    redeemer, refusal = redemptions.claim(caller, body)
    if memo is None or (refusal is None and not redemptions.confirmed_without_database(caller, body, redeemer)):
        await redemptions.validate_coupon(db, caller, code, body)
        return
    code, tenant = path_code(code), caller.tenant
    if await _from_memory(memo, tenant, code, body, redeemer, refusal):
        return
    async with db.connection() as conn:
        reading = _Reading(memo, conn, tenant, redeemer)
        await reading.settle(code)
        coupon = await reading.coupon(code)
        if coupon is None:
            raise not_found(code)
        if refusal is not None:
            raise refusal
        await redemptions.confirm_redeemer(conn, caller, body, redeemer)
        await redemptions.check_redeemable(conn, tenant, coupon, body, redeemer, is_member=reading.is_member)


async def _from_memory(
    memo: VersionMemo,
    tenant: str,
    code: str,
    body: RedemptionCreation,
    redeemer: Redeemer,
    refusal: Exception | None,
) -> bool:
    """Validate from what is remembered, raising what the validation raises; False when something it needs is not
    remembered (then nothing was checked)."""
    kept: KeptCoupon | None = memo.get(coupon_key(tenant, code, redeemer))
    if kept is None:
        return False
    if kept.row is None:
        raise not_found(code)
    if refusal is not None:
        raise refusal
    coupon = kept.row
    segment_ids = coupon.segment_ids or []
    member: bool | None = False
    if coupon.segment_restricted and redeemer.customer_id is not None and segment_ids:
        member = memo.get(member_key(tenant, redeemer, segment_ids))
        if member is None:
            return False
    await redemptions.check_redeemable(None, tenant, coupon, body, redeemer, is_member=_answer(bool(member)))
    return True


def window_changes_in(coupon: RedeemableCoupon) -> float | None:
    """Seconds from the read (`checked_at`, the database's clock) until the coupon's validity window opens or closes
    (None: it never will): until then `check_redeemable` judges the window as it did at the read. A bound at the
    read itself counts too (the entry expires at once: early, never late)."""
    moment = coupon.checked_at
    ahead = [bound for bound in (coupon.valid_from, coupon.valid_until) if bound is not None and bound >= moment]
    return min((bound - moment).total_seconds() for bound in ahead) if ahead else None


def _answer(value: bool) -> Membership:
    async def is_member(customer_id: str, legal_entity_id: str | None, segment_ids: Sequence[str]) -> bool:
        return value

    return is_member


class _Reading:
    """One validation's statements with the tickets (taken before any of them) to keep what they read under."""

    def __init__(self, memo: VersionMemo, conn: Connection, tenant: str, redeemer: Redeemer) -> None:
        self.memo, self.conn, self.tenant, self.redeemer = memo, conn, tenant, redeemer
        self.coupon_ticket: Ticket | None = None
        self.member_ticket: Ticket | None = None

    async def settle(self, code: str) -> None:
        """The tickets of the coupon and of the customer's memberships, each kept only if no write held its scopes
        (one statement, when there is any ticket to check)."""
        customer_id = self.redeemer.customer_id
        tickets = [
            self.memo.ticket(self.tenant, (coupon_scope(code),)),
            None if customer_id is None else self.memo.ticket(self.tenant, member_scopes(customer_id)),
        ]
        self.coupon_ticket, self.member_ticket = await answers.settled(self.conn, tickets)

    async def coupon(self, code: str) -> RedeemableCoupon | None:
        """The live coupon for the redeemer (None: unknown or deleted), remembered under the coupon's ticket."""
        redeemer = self.redeemer
        row = await store.fetch_redeemable(self.conn, self.tenant, code, redeemer.customer_id, redeemer.legal_entity_id)
        live = None if row is None or row.deleted else row
        key = coupon_key(self.tenant, code, redeemer)
        self.memo.put(key, KeptCoupon(live), self.coupon_ticket, None if live is None else window_changes_in(live))
        return live

    async def is_member(self, customer_id: str, legal_entity_id: str | None, segment_ids: Sequence[str]) -> bool:
        """membership.is_active_member, remembered under the membership ticket until the next validity bound."""
        active, changes_in = await membership.active_member_until(
            self.conn, self.tenant, customer_id, legal_entity_id, segment_ids
        )
        # The ticket is the redeemer's memberships' (check_redeemable asks about the redeemer, in its context).
        if segment_ids and Redeemer(customer_id, legal_entity_id) == self.redeemer:
            self.memo.put(member_key(self.tenant, self.redeemer, segment_ids), active, self.member_ticket, changes_in)
        return active
