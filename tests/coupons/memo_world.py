"""The world of the tests of coupon validation answered from the host's memo (SEGMENT_SERVICE_ANSWER_VERSIONS=host,
docs/answers.md#versions-kept-on-the-host; src/segment_service/coupons/validation_memo.py): coupons, customers,
segments and memberships written through the API, every validation of them, and the proofs that they are warm (the
pool refusing every borrow) and equal to the cache-off app's. The apps are tests/coupons/conftest.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from litestar.testing import TestClient
from tests.answers.attack_support import snapshot
from tests.answers.support import Shop
from tests.answers.test_host_attacks import without_database
from tests.coupons.helpers import coupon_body, current_window

from segment_service.core.fastlane import FastLane

Served = tuple[FastLane, TestClient[FastLane]]
Snapshot = tuple[int, Any, str | None]
COUPONS = "/coupon/{tenant}/coupons"
SEGMENT = "/customer-segment/{tenant}/segments/"
ORDER: dict[str, Any] = {"orderTotal": {"amount": 100, "currency": "USD"}, "discount": {"amount": 5, "currency": "USD"}}


def coupon(shop: Shop, code: str, **overrides: Any) -> None:
    shop.ok("POST", COUPONS, 201, json={"code": code, **coupon_body(**overrides)})


def patch_coupon(shop: Shop, code: str, **changes: Any) -> None:
    shop.ok("PATCH", f"{COUPONS}/{code}", 200, 204, json=changes)


def redeem(shop: Shop, code: str, customer: str | None, legal_entity: str | None = None, **extra: Any) -> str:
    response = shop.ok(
        "POST",
        f"{COUPONS}/{code}/redemptions",
        201,
        json={**ORDER, **extra},
        token=token_of(shop, customer, legal_entity),
    )
    redemption_id: str = response.json()["id"]
    return redemption_id


def token_of(shop: Shop, customer: str | None, legal_entity: str | None = None) -> str:
    if customer is None:
        return shop.tokens.anonymous(shop.tenant)
    return shop.customer_token(customer, legal_entity)


def segment_restricted(*segments: str) -> dict[str, Any]:
    return {"segmentRestricted": True, "restrictions": {"segments": list(segments)}}


def build_world(shop: Shop) -> None:
    """c1 is a contact of L, c2 is not. Segment s: c1 (B2C); t: c1 in the context of L; u: c2. Coupons: PLAIN (no
    restriction), SEG (segment s), CTX (t), USEG (u), LIMIT (2 redemptions, one taken by c2), PER (one per
    customer), WINDOW (valid around now), ANON (anonymous allowed), MIN (orders of 50 USD), FOR (c1 only)."""
    shop.create_customer("c1")
    shop.create_customer("c2")
    shop.create_legal_entity("L")
    shop.create_contact("L", "c1")
    for segment in ("s", "t", "u"):
        shop.segment(segment)
    shop.member("s", "c1")
    shop.member("t", "c1", "L")
    shop.member("u", "c2")
    coupon(shop, "PLAIN")
    coupon(shop, "SEG", **segment_restricted("s"))
    coupon(shop, "CTX", **segment_restricted("t"))
    coupon(shop, "USEG", **segment_restricted("u"))
    coupon(shop, "LIMIT", maxRedemptions=2)
    redeem(shop, "LIMIT", "c2")
    coupon(shop, "PER", maxRedemptionsPerCustomer=1)
    coupon(shop, "WINDOW", restrictions=current_window())
    coupon(shop, "ANON", allowAnonymous=True)
    coupon(shop, "MIN", restrictions={"minOrderValue": {"amount": 50, "currency": "USD"}})
    coupon(shop, "FOR", restrictions={"validFor": ["c1"]})


#: Every coupon a validation names: those of the world, and those some writes create (404 until then).
CODES = ["PLAIN", "SEG", "CTX", "USEG", "LIMIT", "PER", "WINDOW", "ANON", "MIN", "FOR", "NEW", "RULE"]
#: Who validates: (customer, the legal entity of its token); None: an anonymous token.
CALLERS: dict[str, tuple[str | None, str | None]] = {
    "c1": ("c1", None),
    "c1 in L": ("c1", "L"),
    "c2": ("c2", None),
    "anonymous": (None, None),
}


def validate(shop: Shop, code: str, caller: str, **body: Any) -> httpx.Response:
    customer, legal_entity = CALLERS[caller]
    token = token_of(shop, customer, legal_entity)
    return shop.call("POST", f"{COUPONS}/{code}/validation", json={**ORDER, **body}, token=token)


def _validation(shop: Shop, code: str, caller: str) -> Callable[[], httpx.Response]:
    return lambda: validate(shop, code, caller)


def validations(shop: Shop) -> dict[str, Callable[[], httpx.Response]]:
    every = {f"{code} {caller}": _validation(shop, code, caller) for code in CODES for caller in CALLERS}
    small = {"orderTotal": {"amount": 40, "currency": "USD"}}
    every["MIN c1 small order"] = lambda: validate(shop, "MIN", "c1", **small)
    every["PLAIN anonymous naming L"] = lambda: validate(shop, "PLAIN", "anonymous", legalEntityId="L")
    every["CTX c1 naming L"] = lambda: validate(shop, "CTX", "c1", legalEntityId="L")
    every["SEG on behalf of c1"] = lambda: shop.call(
        "POST", f"{COUPONS}/SEG/validation", json={**ORDER, "customerNumber": "c1"}
    )
    return every


#: Validations that ask the database every time by design: a body naming a legal entity (is the customer its
#: contact?) and a service token acting for a customer (does it exist?).
ASKS_EVERY_TIME = frozenset({"CTX c1 naming L", "SEG on behalf of c1"})


def answers(shop: Shop) -> dict[str, Snapshot]:
    return {name: snapshot(read()) for name, read in validations(shop).items()}


def kept_answers(shop: Shop) -> dict[str, Snapshot]:
    return {name: snapshot(read()) for name, read in validations(shop).items() if name not in ASKS_EVERY_TIME}


def kept_part(every: dict[str, Snapshot]) -> dict[str, Snapshot]:
    return {name: answer for name, answer in every.items() if name not in ASKS_EVERY_TIME}


def warm(app: FastLane, shop: Shop) -> dict[str, Snapshot]:
    """Validate everything twice, then once more with the database refused: the same answers, none asking it."""
    answers(shop)
    first = answers(shop)
    assert all(status < 500 for status, _, _ in first.values()), first
    assert without_database(app, lambda: kept_answers(shop)) == kept_part(first)
    return first


def same_as_the_truth(shop: Shop, oracle: Shop) -> dict[str, Snapshot]:
    """Every answer equals the cache-off app's, read twice (the second time kept again)."""
    truth = answers(oracle)
    for _ in range(2):
        got = answers(shop)
        wrong = {name: (got[name], truth[name]) for name in truth if got[name] != truth[name]}
        assert not wrong, f"validations that differ from the database's: {wrong}"
    return truth


def status_of(answers: dict[str, Snapshot], name: str) -> tuple[int, str | None]:
    """The status of an answer and the reason of a 400."""
    status, body, _ = answers[name]
    reason = body["details"][0]["type"] if status == 400 and isinstance(body, dict) and body.get("details") else None
    return status, reason
