"""Requests, bodies and whole error bodies for the Coupon Service tests (coupon.yml)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.factories import Api, ErrorFamily, segment_body

READ = ("coupon.coupon_read",)
MANAGE = ("coupon.coupon_manage",)
REDEEM = ("coupon.coupon_redeem",)
ON_BEHALF = ("coupon.coupon_redeem_on_behalf",)
GOLDEN_SEGMENT = "628cd20c6e8b2432b6346ca6"

#: coupon.yml's createSegmentRestrictedCouponBody as the seed request sends it.
SEED_COUPON: dict[str, Any] = {
    "code": "MW2023_10",
    "name": "Winter Sale 2018",
    "description": "Great Winter Discount of 25 USD in December 2018 and January 2019 for all Orders over 50 USD",
    "discountType": "ABSOLUTE",
    "discountAbsolute": {"amount": 24.99, "currency": "USD"},
    "allowAnonymous": False,
    "maxRedemptions": 1,
    "maxRedemptionsPerCustomer": -1,
    "categoryRestricted": False,
    "segmentRestricted": True,
    "restrictions": {
        "validFrom": "2014-12-01T00:00:00.000Z",
        "validUntil": "2015-01-31T23:59:59.999Z",
        "segments": [GOLDEN_SEGMENT],
        "minOrderValue": {"amount": 49.99, "currency": "USD"},
    },
}

#: coupon.yml's couponRedemption example in US dollars, without its customerNumber.
ORDER: dict[str, Any] = {
    "orderTotal": {"amount": 1090, "currency": "USD"},
    "discount": {"amount": 5, "currency": "USD"},
}


def iso_in(days: float) -> str:
    """A date-time `days` from now (negative: in the past), in the wire format."""
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_window() -> dict[str, str]:
    """A validity window around now, so that tests do not depend on today's date."""
    return {"validFrom": iso_in(-1), "validUntil": iso_in(30)}


def coupon_body(**overrides: Any) -> dict[str, Any]:
    """A plain ABSOLUTE coupon (5 USD off) without restrictions: valid now for every logged-in customer."""
    body: dict[str, Any] = {
        "name": "Five off",
        "discountType": "ABSOLUTE",
        "discountAbsolute": {"amount": 5, "currency": "USD"},
    }
    body.update(overrides)
    return body


def coupon_error(
    status: int, message: str, *, type: str, field: str | None = None, detail_type: str | None = None
) -> dict[str, Any]:
    """A whole coupon error body: `{status, type, message, details?}`."""
    body: dict[str, Any] = {"status": status, "type": type, "message": message}
    if field is not None:
        body["details"] = [{"field": field, "type": detail_type or type, "message": message}]
    return body


def invalid(message: str, field: str, detail_type: str = "invalid_value") -> dict[str, Any]:
    """The 400 of a coupon that breaks a rule."""
    return coupon_error(
        400,
        f"Validation problem with request body: {message}",
        type="validation_violation",
        field=field,
        detail_type=detail_type,
    )


def forbidden(message: str) -> dict[str, Any]:
    return coupon_error(403, message, type="insufficient_permissions")


def not_found(code: str) -> dict[str, Any]:
    return coupon_error(404, f"Coupon with code {code} not found.", type="resource_not_found")


class CouponApi(Api):
    """A client of one tenant's Coupon Service, with a service token holding every scope unless told otherwise."""

    prefix = "/coupon"
    error_family = ErrorFamily.TYPED

    def service_token(self, *scopes: str) -> str:
        return self.tokens.service(self.tenant, scopes)

    def customer_token(self, customer_id: str, legal_entity_id: str | None = None) -> str:
        return self.tokens.customer(self.tenant, customer_id, legal_entity_id)

    def create(self, **overrides: Any) -> str:
        response = self.request("POST", "/coupons", json=coupon_body(**overrides))
        assert response.status_code == 201, response.text
        code: str = response.json()["id"]
        return code

    def get(self, code: str) -> dict[str, Any]:
        response = self.request("GET", f"/coupons/{code}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def create_customer(self, **profile: Any) -> str:
        response = self.client.post(
            f"/customer/{self.tenant}/customers", json=profile, headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 201, response.text
        customer_id: str = response.json()["id"]
        return customer_id

    def create_segment(self, segment_id: str | None = None, **overrides: Any) -> str:
        """An ACTIVE segment valid around now (unless overridden)."""
        body = segment_body(**{"validity": {"from": iso_in(-1), "to": iso_in(30)}, **overrides})
        if segment_id is not None:
            body["id"] = segment_id
        response = self.client.post(
            f"/customer-segment/{self.tenant}/segments", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 201, response.text
        created: str = response.json()["id"]
        return created

    def validate(self, code: str, body: dict[str, Any] | None = None, *, token: str | None = None) -> httpx.Response:
        return self.request("POST", f"/coupons/{code}/validation", json=ORDER if body is None else body, token=token)

    def redeem(self, code: str, body: dict[str, Any] | None = None, *, token: str | None = None) -> httpx.Response:
        return self.request("POST", f"/coupons/{code}/redemptions", json=ORDER if body is None else body, token=token)


def not_redeemable(response: httpx.Response, reason: str) -> None:
    """Assert a 400 whose only detail names `reason`."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "validation_violation"
    assert [d["type"] for d in body["details"]] == [reason], body
