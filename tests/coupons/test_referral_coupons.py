"""GET/POST /referral-coupons/{customerNumber}: one referral coupon per customer."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from tests.coupons.helpers import CouponApi, coupon_error, not_redeemable


def test_a_customer_gets_one_referral_coupon(coupons: CouponApi) -> None:
    customer = coupons.create_customer(contactEmail="j@example.com", firstName="John", lastName="Doe")
    assert coupons.request("GET", f"/referral-coupons/{customer}").status_code == 204
    created = coupons.request("POST", f"/referral-coupons/{customer}")
    assert created.status_code == 200
    coupon = created.json()
    assert re.fullmatch(r"REF-[A-Z2-9]{8}", coupon["code"])
    assert coupon == {
        "code": coupon["code"],
        "name": "Referral coupon of John Doe",
        "discountType": "ABSOLUTE",
        "discountAbsolute": {"amount": 8.0, "currency": "USD"},
        "allowAnonymous": True,
        "maxRedemptions": -1,
        "maxRedemptionsPerCustomer": -1,
        "discountCalculationType": "SUBTOTAL",
        "categoryRestricted": False,
        "segmentRestricted": False,
        "restrictions": {"validFor": []},
        "issuedTo": customer,
        "metadata": {"version": 1},
        "status": "VALID",
        "redemptionCount": 0,
        "referralCoupon": True,
        "deleted": False,
    }
    assert coupons.request("POST", f"/referral-coupons/{customer}").json() == coupon
    assert coupons.request("GET", f"/referral-coupons/{customer}").json() == coupon
    listed = coupons.request("GET", "/coupons", params={"q": "referralCoupon:true"}).json()
    assert [c["code"] for c in listed] == [coupon["code"]]


def test_racing_requests_make_one_coupon(coupons: CouponApi) -> None:
    customer = coupons.create_customer(contactEmail="race@example.com")
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: coupons.request("POST", f"/referral-coupons/{customer}"), range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["code"] for r in responses}) == 1


def test_customers_ask_for_themselves_only(coupons: CouponApi) -> None:
    customer = coupons.create_customer(contactEmail="a@example.com")
    other = coupons.create_customer(contactEmail="b@example.com")
    token = coupons.customer_token(customer)
    created = coupons.request("POST", f"/referral-coupons/{customer}", token=token)
    assert created.status_code == 200
    assert "issuedTo" not in created.json()
    assert "maxRedemptions" not in created.json()
    assert coupons.request("GET", f"/referral-coupons/{customer}", token=token).json() == created.json()
    for method in ("GET", "POST"):
        response = coupons.request(method, f"/referral-coupons/{other}", token=token)
        assert response.status_code == 404
        assert response.json() == coupon_error(
            404, f"Customer with customerNumber {other} not found.", type="resource_not_found"
        )
    assert coupons.request("GET", f"/referral-coupons/{other}").status_code == 204


def test_unknown_customers_are_404(coupons: CouponApi) -> None:
    for method in ("GET", "POST"):
        assert coupons.request(method, "/referral-coupons/nobody").status_code == 404


def test_the_referral_coupon_is_for_the_referred_not_the_referrer(coupons: CouponApi) -> None:
    referrer = coupons.create_customer(contactEmail="r@example.com")
    code = coupons.request("POST", f"/referral-coupons/{referrer}").json()["code"]
    not_redeemable(coupons.validate(code, token=coupons.customer_token(referrer)), "customer_not_eligible")
    assert coupons.redeem(code, token=coupons.customer_token("new-customer")).status_code == 201
    assert coupons.redeem(code, token=coupons.tokens.anonymous(coupons.tenant)).status_code == 201


def test_a_deleted_referral_coupon_is_replaced_by_a_new_one(coupons: CouponApi) -> None:
    customer = coupons.create_customer(contactEmail="d@example.com")
    first = coupons.request("POST", f"/referral-coupons/{customer}").json()["code"]
    assert coupons.request("DELETE", f"/coupons/{first}").status_code == 204
    assert coupons.request("GET", f"/referral-coupons/{customer}").status_code == 204
    second = coupons.request("POST", f"/referral-coupons/{customer}")
    assert second.status_code == 200
    assert second.json()["code"] != first
    assert second.json()["deleted"] is False
    assert coupons.request("GET", f"/referral-coupons/{customer}").json() == second.json()
    referrals = coupons.request("GET", "/coupons", params={"q": "referralCoupon:true", "showDeleted": "true"}).json()
    assert sorted((c["code"], c["deleted"]) for c in referrals) == sorted(
        [(first, True), (second.json()["code"], False)]
    )
