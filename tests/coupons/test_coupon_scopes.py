"""Who may call which coupon operation: 401 for the token, 403 for tenant, scope or another customer."""

from __future__ import annotations

from typing import Any

import pytest
from tests.coupons.helpers import ORDER, CouponApi, coupon_body, forbidden, not_found, not_redeemable
from tests.factories import EXPIRED_TOKEN, INVALID_TOKEN

from segment_service.core.auth import TokenKind
from segment_service.core.fastlane import FastLane

READ = ("coupon.coupon_manage", "coupon.coupon_read")
MANAGE = ("coupon.coupon_manage",)
READ_REDEMPTION = ("coupon.coupon_manage", "coupon.coupon_redeem", "coupon.coupon_redeem_on_behalf")
READ_REFERRAL = ("coupon.coupon_read", "coupon.coupon_manage", "coupon.coupon_redeem")
CREATE_REFERRAL = ("coupon.coupon_manage", "coupon.coupon_redeem")
#: Validation and redemption: one of these, except from an anonymous token.
REDEEMING = ("coupon.coupon_redeem", "coupon.coupon_redeem_on_behalf", "coupon.coupon_manage")
ANY: tuple[str, ...] = ()

#: (method, path, the scopes that admit a service or customer token, whether an anonymous token is admitted, body)
OPERATIONS: list[tuple[str, str, tuple[str, ...], bool, Any]] = [
    ("GET", "/coupons", READ, False, None),
    ("POST", "/coupons", MANAGE, False, coupon_body()),
    ("GET", "/coupons/CODE", ANY, True, None),
    ("PUT", "/coupons/CODE", MANAGE, False, coupon_body()),
    ("PATCH", "/coupons/CODE", MANAGE, False, {"name": "x"}),
    ("DELETE", "/coupons/CODE", MANAGE, False, None),
    ("POST", "/coupons/CODE/validation", REDEEMING, True, ORDER),
    ("GET", "/coupons/CODE/redemptions", MANAGE, False, None),
    ("POST", "/coupons/CODE/redemptions", REDEEMING, True, ORDER),
    ("GET", "/coupons/CODE/redemptions/R1", READ_REDEMPTION, False, None),
    ("DELETE", "/coupons/CODE/redemptions/R1", MANAGE, False, None),
    ("GET", "/referral-coupons/C1", READ_REFERRAL, False, None),
    ("POST", "/referral-coupons/C1", CREATE_REFERRAL, False, None),
]
IDS = [f"{m} {p}" for m, p, _, _, _ in OPERATIONS]


def send(coupons: CouponApi, method: str, path: str, body: Any, token: str | None) -> Any:
    kwargs = {} if body is None else {"json": body}
    if token is None:
        return coupons.client.request(method, coupons.url(path), **kwargs)
    return coupons.request(method, path, token=token, **kwargs)


@pytest.mark.parametrize(("method", "path", "scopes", "anonymous_admitted", "body"), OPERATIONS, ids=IDS)
class TestRefusals:
    def test_missing_garbage_and_expired_tokens_are_401(
        self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...], anonymous_admitted: bool, body: Any
    ) -> None:
        for token, expected in (
            (None, INVALID_TOKEN),
            ("not-a-token", INVALID_TOKEN),
            (coupons.tokens.service(coupons.tenant, ttl=-1), EXPIRED_TOKEN),
        ):
            response = send(coupons, method, path, body, token)
            assert response.status_code == 401
            assert response.json() == expected

    def test_another_tenants_token_is_403(
        self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...], anonymous_admitted: bool, body: Any
    ) -> None:
        other = "o" + coupons.tenant[1:]
        response = send(coupons, method, path, body, coupons.tokens.service(other))
        assert response.status_code == 403
        assert response.json() == forbidden(f"The token belongs to tenant '{other}', not to tenant '{coupons.tenant}'.")

    def test_each_admitting_scope_is_enough_and_others_are_403(
        self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...], anonymous_admitted: bool, body: Any
    ) -> None:
        coupons.create(code="CODE")
        every = (
            "coupon.coupon_read",
            "coupon.coupon_manage",
            "coupon.coupon_redeem",
            "coupon.coupon_redeem_on_behalf",
            "customersegment.segment_read",
        )
        for scope in every:
            response = send(coupons, method, path, body, coupons.service_token(scope))
            if not scopes or scope in scopes:
                assert response.status_code not in (401, 403), (scope, response.text)
            else:
                assert response.status_code == 403, scope
                assert response.json() == forbidden(f"Required scope(s): {', '.join(scopes)}.")

    def test_storefront_tokens(
        self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...], anonymous_admitted: bool, body: Any
    ) -> None:
        coupons.create(code="CODE", allowAnonymous=True)
        customer = send(coupons, method, path, body, coupons.customer_token("C1"))
        if scopes and "coupon.coupon_redeem" not in scopes:
            assert customer.status_code == 403
        else:
            assert customer.status_code not in (401, 403)
        anonymous = send(coupons, method, path, body, coupons.tokens.anonymous(coupons.tenant))
        if anonymous_admitted:
            assert anonymous.status_code not in (401, 403), anonymous.text
        else:
            assert anonymous.status_code == 403
            assert anonymous.json() == forbidden(f"Required scope(s): {', '.join(scopes)}.")

    def test_a_token_without_any_scope(
        self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...], anonymous_admitted: bool, body: Any
    ) -> None:
        coupons.create(code="CODE", allowAnonymous=True)
        response = send(coupons, method, path, body, coupons.service_token())
        if scopes:
            assert response.status_code == 403
            assert response.json() == forbidden(f"Required scope(s): {', '.join(scopes)}.")
        else:
            assert response.status_code not in (401, 403)


def test_customer_tokens_can_validate_and_redeem_with_their_storefront_scopes(coupons: CouponApi) -> None:
    code = coupons.create()
    assert coupons.validate(code, token=coupons.customer_token("C1")).status_code == 200
    assert coupons.redeem(code, token=coupons.customer_token("C1")).status_code == 201


@pytest.mark.parametrize("operation", ["validation", "redemptions"])
def test_a_customer_token_without_a_coupon_scope_is_403(coupons: CouponApi, app: FastLane, operation: str) -> None:
    code = coupons.create(allowAnonymous=True)
    token = app.state.tokens.issue(
        tenant=coupons.tenant,
        kind=TokenKind.CUSTOMER,
        subject="C1",
        scopes=("customer.customer_read_own",),
        ttl_seconds=600,
        customer_id="C1",
    )
    response = coupons.request("POST", f"/coupons/{code}/{operation}", json=ORDER, token=token)
    assert response.status_code == 403
    assert response.json() == forbidden(f"Required scope(s): {', '.join(REDEEMING)}.")
    # The scope is checked before the coupon is looked up.
    unknown = coupons.request("POST", f"/coupons/NOPE/{operation}", json=ORDER, token=token)
    assert unknown.status_code == 403


@pytest.mark.parametrize("operation", ["validation", "redemptions"])
def test_an_anonymous_token_is_admitted_and_redeems_as_a_guest(coupons: CouponApi, operation: str) -> None:
    guest = coupons.tokens.anonymous(coupons.tenant)
    members_only = coupons.create()
    not_redeemable(
        coupons.request("POST", f"/coupons/{members_only}/{operation}", json=ORDER, token=guest),
        "anonymous_not_allowed",
    )
    assert coupons.request("POST", f"/coupons/NOPE/{operation}", json=ORDER, token=guest).json() == not_found("NOPE")
    for_guests = coupons.create(allowAnonymous=True)
    response = coupons.request("POST", f"/coupons/{for_guests}/{operation}", json=ORDER, token=guest)
    assert response.status_code in (200, 201), response.text
