"""The seed request: coupon.yml's segment-restricted coupon, created verbatim, then validated for members and others
of the Golden Segment with customer tokens from the storefront login."""

from __future__ import annotations

import copy

from litestar import Litestar
from litestar.testing import TestClient
from tests.coupons.helpers import GOLDEN_SEGMENT, ORDER, SEED_COUPON, CouponApi, current_window, not_redeemable
from tests.customers.customer_api import CustomerApi
from tests.factories import Tokens, assign_customer


def test_the_seed_request_creates_the_coupon_verbatim(coupons: CouponApi) -> None:
    assert coupons.create_segment(GOLDEN_SEGMENT, siteCode="main") == GOLDEN_SEGMENT
    response = coupons.request("POST", "/coupons", json=SEED_COUPON)
    assert response.status_code == 201, response.text
    assert response.json() == {"id": "MW2023_10"}
    stored = coupons.get("MW2023_10")
    assert stored == {
        "code": "MW2023_10",
        "name": "Winter Sale 2018",
        "description": SEED_COUPON["description"],
        "discountType": "ABSOLUTE",
        "discountAbsolute": {"amount": 24.99, "currency": "USD"},
        "allowAnonymous": False,
        "maxRedemptions": 1,
        "maxRedemptionsPerCustomer": -1,
        "discountCalculationType": "SUBTOTAL",
        "categoryRestricted": False,
        "segmentRestricted": True,
        "restrictions": {
            "validFor": [],
            "validFrom": "2014-12-01T00:00:00.000Z",
            "validUntil": "2015-01-31T23:59:59.999Z",
            "segments": [GOLDEN_SEGMENT],
            "minOrderValue": {"amount": 49.99, "currency": "USD"},
        },
        "metadata": {"version": 1},
        "status": "EXPIRED",
        "redemptionCount": 0,
        "referralCoupon": False,
        "deleted": False,
    }


def test_the_current_seed_coupon_is_valid_for_members_only(
    client: TestClient[Litestar], tokens: Tokens, tenant: str, coupons: CouponApi, database_url: str, app: Litestar
) -> None:
    coupons.create_segment(GOLDEN_SEGMENT)
    verbatim = coupons.request("POST", "/coupons", json=SEED_COUPON)
    assert verbatim.status_code == 201
    current = copy.deepcopy(SEED_COUPON)
    current["code"] = "MW2026_10"
    current["restrictions"].update(current_window())
    assert coupons.request("POST", "/coupons", json=current).status_code == 201

    shop = CustomerApi(client, tokens, tenant)
    member = shop.signup("member@example.com", firstName="Golden", lastName="Member")
    shop.signup("other@example.com", firstName="Plain", lastName="Customer")
    assign_customer(database_url, tenant, GOLDEN_SEGMENT, member)
    member_token = shop.customer_token("member@example.com")
    other_token = shop.customer_token("other@example.com")

    assert coupons.validate("MW2026_10", token=member_token).status_code == 200
    assert coupons.validate("mw2026_10", token=member_token).status_code == 200  # codes are case-insensitive
    not_redeemable(coupons.validate("MW2026_10", token=other_token), "segment_not_eligible")
    not_redeemable(coupons.validate("MW2023_10", token=member_token), "coupon_expired")
    # The order must reach the minimum order value of 49.99 USD.
    small = {**ORDER, "orderTotal": {"amount": 49.98, "currency": "USD"}}
    not_redeemable(coupons.validate("MW2026_10", small, token=member_token), "min_order_value_not_reached")
