"""Coupon validation answered from the host's memo (SEGMENT_SERVICE_ANSWER_VERSIONS=host,
docs/answers.md#versions-kept-on-the-host; src/segment_service/coupons/validation_memo.py): every validation of the
world (tests/coupons/memo_world.py) is first proven warm (answered with every borrow of the pool refused), then one
kind of write is made, through the same app or another app of the host, and every validation is compared with the
cache-off app's on the same database. Each write must change some validation, and the next ones are kept again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from tests.answers.support import Shop
from tests.answers.test_host_attacks import no_marks_held, without_database
from tests.coupons.helpers import coupon_body, iso_in
from tests.coupons.memo_world import (
    COUPONS,
    SEGMENT,
    Served,
    answers,
    build_world,
    coupon,
    kept_answers,
    kept_part,
    patch_coupon,
    redeem,
    same_as_the_truth,
    segment_restricted,
    status_of,
    warm,
)
from tests.rules.helpers import attr


def _redemption_of(shop: Shop, code: str) -> str:
    (doc,) = shop.ok("GET", f"{COUPONS}/{code}/redemptions", 200).json()
    return str(doc["id"])


def _rule_segment(shop: Shop) -> None:
    """Segment r admits customers named Ann (by its rule); the coupon RULE is restricted to it."""
    shop.segment("r")
    shop.save_rule("r", attr("customer.firstName", "eq", "Ann"))
    coupon(shop, "RULE", **segment_restricted("r"))


def _set_validity(shop: Shop, segment_id: str, validity: dict[str, str]) -> None:
    shop.ok("PATCH", SEGMENT + segment_id, 204, json=[{"op": "add", "path": "/validity", "value": validity}])


@dataclass(frozen=True)
class Write:
    """One write under attack: `before` runs before the validations are warmed, `write` while they are; `changes`
    names a validation and the (status, reason) it must have afterwards: the write made a difference."""

    write: Callable[[Shop], object]
    changes: tuple[str, tuple[int, str | None]]
    before: Callable[[Shop], object] = field(default=lambda shop: None)


NOT_ELIGIBLE = (400, "segment_not_eligible")
WRITES: dict[str, Write] = {
    # the coupon
    "coupon created": Write(lambda s: coupon(s, "NEW"), ("NEW c1", (200, None))),
    "coupon replaced by PUT with other segments": Write(
        lambda s: s.ok("PUT", f"{COUPONS}/SEG", 200, 204, json=coupon_body(**segment_restricted("u"))),
        ("SEG c2", (200, None)),
    ),
    "segment restriction lifted": Write(
        lambda s: patch_coupon(s, "SEG", segmentRestricted=False, restrictions={"segments": None}),
        ("SEG c2", (200, None)),
    ),
    "coupon segments patched": Write(
        lambda s: patch_coupon(s, "USEG", restrictions={"segments": ["s"]}), ("USEG c1", (200, None))
    ),
    "validFor patched": Write(
        lambda s: patch_coupon(s, "FOR", restrictions={"validFor": ["c2"]}), ("FOR c1", (400, "customer_not_eligible"))
    ),
    "validity window moved into the past": Write(
        lambda s: patch_coupon(s, "WINDOW", restrictions={"validFrom": iso_in(-3), "validUntil": iso_in(-2)}),
        ("WINDOW c1", (400, "coupon_expired")),
    ),
    "validity window moved into the future": Write(
        lambda s: patch_coupon(s, "PLAIN", restrictions={"validFrom": iso_in(2)}),
        ("PLAIN c1", (400, "coupon_not_yet_valid")),
    ),
    "minimum order value raised": Write(
        lambda s: patch_coupon(s, "MIN", restrictions={"minOrderValue": {"amount": 200, "currency": "USD"}}),
        ("MIN c1", (400, "min_order_value_not_reached")),
    ),
    "minimum order value removed": Write(
        lambda s: patch_coupon(s, "MIN", restrictions={"minOrderValue": None}), ("MIN c1 small order", (200, None))
    ),
    "maxRedemptions lowered": Write(
        lambda s: patch_coupon(s, "LIMIT", maxRedemptions=1), ("LIMIT c1", (400, "max_redemptions_reached"))
    ),
    "maxRedemptionsPerCustomer set": Write(
        lambda s: patch_coupon(s, "LIMIT", maxRedemptionsPerCustomer=1),
        ("LIMIT c2", (400, "max_redemptions_per_customer_reached")),
    ),
    "anonymous redemption allowed": Write(
        lambda s: patch_coupon(s, "PLAIN", allowAnonymous=True), ("PLAIN anonymous", (200, None))
    ),
    "anonymous redemption no longer allowed": Write(
        lambda s: patch_coupon(s, "ANON", allowAnonymous=False), ("ANON anonymous", (400, "anonymous_not_allowed"))
    ),
    "coupon deleted": Write(lambda s: s.ok("DELETE", f"{COUPONS}/PLAIN", 204), ("PLAIN c1", (404, None))),
    # redemptions
    "the last redemption taken": Write(
        lambda s: redeem(s, "LIMIT", "c1"), ("LIMIT c2", (400, "max_redemptions_reached"))
    ),
    "the customer's limit reached": Write(
        lambda s: redeem(s, "PER", "c1"), ("PER c1", (400, "max_redemptions_per_customer_reached"))
    ),
    "the customer's limit reached in a legal-entity context": Write(
        lambda s: redeem(s, "PER", "c1", "L"), ("PER c1 in L", (400, "max_redemptions_per_customer_reached"))
    ),
    "an anonymous redemption takes the last one": Write(
        lambda s: redeem(s, "ANON", None),
        ("ANON c1", (400, "max_redemptions_reached")),
        lambda s: patch_coupon(s, "ANON", maxRedemptions=1),
    ),
    "a redemption deleted": Write(
        lambda s: s.ok("DELETE", f"{COUPONS}/PER/redemptions/{_redemption_of(s, 'PER')}", 204),
        ("PER c1", (200, None)),
        lambda s: redeem(s, "PER", "c1"),
    ),
    # memberships
    "membership added by hand": Write(lambda s: s.member("s", "c2"), ("SEG c2", (200, None))),
    "membership removed by hand": Write(lambda s: s.unmember("s", "c1"), ("SEG c1", NOT_ELIGIBLE)),
    "membership of a context removed": Write(lambda s: s.unmember("t", "c1", "L"), ("CTX c1 in L", NOT_ELIGIBLE)),
    "membership added in a context": Write(lambda s: s.member("u", "c1", "L"), ("USEG c1 in L", (200, None))),
    "a rule admits the customer": Write(
        lambda s: s.update_customer("c2", firstName="Ann"), ("RULE c2", (200, None)), _rule_segment
    ),
    "customer deleted": Write(
        lambda s: s.ok("DELETE", "/customer/{tenant}/customers/c1", 202), ("SEG c1", NOT_ELIGIBLE)
    ),
    "legal entity deleted": Write(
        lambda s: s.ok("DELETE", "/customer-management/{tenant}/legal-entities/L", 204), ("CTX c1 in L", NOT_ELIGIBLE)
    ),
    # segments
    "segment deactivated": Write(lambda s: s.patch_segment("s", "/status", "INACTIVE"), ("SEG c1", NOT_ELIGIBLE)),
    "segment activated": Write(
        lambda s: s.patch_segment("u", "/status", "ACTIVE"),
        ("USEG c2", (200, None)),
        lambda s: s.patch_segment("u", "/status", "INACTIVE"),
    ),
    "segment validity ended": Write(
        lambda s: _set_validity(s, "t", {"from": "2020-01-01T00:00:00.000Z", "to": "2021-01-01T00:00:00.000Z"}),
        ("CTX c1 in L", NOT_ELIGIBLE),
    ),
    "segment deleted": Write(lambda s: s.delete_segment("s"), ("SEG c1", NOT_ELIGIBLE)),
}


@pytest.mark.parametrize("via", ["this app", "another app"])
@pytest.mark.parametrize("name", list(WRITES))
def test_every_write_reaches_the_next_warm_validation(
    name: str, via: str, shop: Shop, oracle: Shop, host_app: Served, other_host_app: Served
) -> None:
    attack = WRITES[name]
    build_world(shop)
    attack.before(shop)
    before = warm(host_app[0], shop)
    assert before == answers(oracle)
    attack.write(shop if via == "this app" else shop.on(other_host_app[1]))
    no_marks_held(host_app[0])
    no_marks_held(other_host_app[0])
    after = same_as_the_truth(shop, oracle)
    validation, expected = attack.changes
    assert status_of(before, validation) != expected, f"{name}: {validation} was already {expected}"
    assert status_of(after, validation) == expected, f"{name}: {validation} is {after[validation]}"
    assert without_database(host_app[0], lambda: kept_answers(shop)) == kept_part(after), "not kept again"
