"""Who may call which coupon operation: 401 for the token, 403 for tenant, scope or another customer."""

from __future__ import annotations

from typing import Any

import pytest
from tests.coupons.helpers import ORDER, CouponApi, coupon_body, forbidden
from tests.factories import EXPIRED_TOKEN, INVALID_TOKEN

READ = ("coupon.coupon_manage", "coupon.coupon_read")
MANAGE = ("coupon.coupon_manage",)
READ_REDEMPTION = ("coupon.coupon_manage", "coupon.coupon_redeem", "coupon.coupon_redeem_on_behalf")
READ_REFERRAL = ("coupon.coupon_read", "coupon.coupon_manage", "coupon.coupon_redeem")
CREATE_REFERRAL = ("coupon.coupon_manage", "coupon.coupon_redeem")
ANY: tuple[str, ...] = ()

#: (method, path, the scopes that admit, body)
OPERATIONS: list[tuple[str, str, tuple[str, ...], Any]] = [
    ("GET", "/coupons", READ, None),
    ("POST", "/coupons", MANAGE, coupon_body()),
    ("GET", "/coupons/CODE", ANY, None),
    ("PUT", "/coupons/CODE", MANAGE, coupon_body()),
    ("PATCH", "/coupons/CODE", MANAGE, {"name": "x"}),
    ("DELETE", "/coupons/CODE", MANAGE, None),
    ("POST", "/coupons/CODE/validation", ANY, ORDER),
    ("GET", "/coupons/CODE/redemptions", MANAGE, None),
    ("POST", "/coupons/CODE/redemptions", ANY, ORDER),
    ("GET", "/coupons/CODE/redemptions/R1", READ_REDEMPTION, None),
    ("DELETE", "/coupons/CODE/redemptions/R1", MANAGE, None),
    ("GET", "/referral-coupons/C1", READ_REFERRAL, None),
    ("POST", "/referral-coupons/C1", CREATE_REFERRAL, None),
]
IDS = [f"{m} {p}" for m, p, _, _ in OPERATIONS]


def send(coupons: CouponApi, method: str, path: str, body: Any, token: str | None) -> Any:
    kwargs = {} if body is None else {"json": body}
    if token is None:
        return coupons.client.request(method, coupons.url(path), **kwargs)
    return coupons.request(method, path, token=token, **kwargs)


@pytest.mark.parametrize(("method", "path", "scopes", "body"), OPERATIONS, ids=IDS)
class TestRefusals:
    def test_missing_garbage_and_expired_tokens_are_401(self, coupons: CouponApi, method: str, path: str,
                                                         scopes: tuple[str, ...], body: Any) -> None:
        for token, expected in ((None, INVALID_TOKEN), ("not-a-token", INVALID_TOKEN),
                                (coupons.tokens.service(coupons.tenant, ttl=-1), EXPIRED_TOKEN)):
            response = send(coupons, method, path, body, token)
            assert response.status_code == 401
            assert response.json() == expected

    def test_another_tenants_token_is_403(self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...],
                                          body: Any) -> None:
        other = "o" + coupons.tenant[1:]
        response = send(coupons, method, path, body, coupons.tokens.service(other))
        assert response.status_code == 403
        assert response.json() == forbidden(f"The token belongs to tenant '{other}', not to tenant "
                                            f"'{coupons.tenant}'.")

    def test_each_admitting_scope_is_enough_and_others_are_403(self, coupons: CouponApi, method: str, path: str,
                                                                scopes: tuple[str, ...], body: Any) -> None:
        coupons.create(code="CODE")
        every = ("coupon.coupon_read", "coupon.coupon_manage", "coupon.coupon_redeem",
                 "coupon.coupon_redeem_on_behalf", "customersegment.segment_read")
        for scope in every:
            response = send(coupons, method, path, body, coupons.service_token(scope))
            if not scopes or scope in scopes:
                assert response.status_code not in (401, 403), (scope, response.text)
            else:
                assert response.status_code == 403, scope
                assert response.json() == forbidden(f"Required scope(s): {', '.join(scopes)}.")

    def test_storefront_tokens(self, coupons: CouponApi, method: str, path: str, scopes: tuple[str, ...],
                               body: Any) -> None:
        coupons.create(code="CODE", allowAnonymous=True)
        customer = send(coupons, method, path, body, coupons.customer_token("C1"))
        if scopes and "coupon.coupon_redeem" not in scopes:
            assert customer.status_code == 403
        else:
            assert customer.status_code not in (401, 403)
        anonymous = send(coupons, method, path, body, coupons.tokens.anonymous(coupons.tenant))
        assert anonymous.status_code == (403 if scopes else anonymous.status_code)
        if not scopes:
            assert anonymous.status_code not in (401, 403)


def test_customer_tokens_can_validate_and_redeem_with_their_storefront_scopes(coupons: CouponApi) -> None:
    code = coupons.create()
    assert coupons.validate(code, token=coupons.customer_token("C1")).status_code == 200
    assert coupons.redeem(code, token=coupons.customer_token("C1")).status_code == 201
