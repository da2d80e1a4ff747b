"""Error bodies: one shape per Emporix service family, chosen by the URL prefix."""

from __future__ import annotations

import pytest

from segment_service.core.errors import (
    BadRequest,
    ErrorFamily,
    NotFound,
    TooManyRequests,
    Unauthorized,
    error_body,
    family_for_path,
)


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/customer-segment/t/segments", ErrorFamily.SEGMENT),
        ("/oauth/token", ErrorFamily.SEGMENT),
        ("/nowhere", ErrorFamily.SEGMENT),
        ("/category/t/categories", ErrorFamily.CATEGORY),
        ("/customer-management/t/legal-entities", ErrorFamily.CATEGORY),
        ("/coupon/t/coupons", ErrorFamily.COUPON),
        ("/customer/t/customers", ErrorFamily.COUPON),
        ("/customerlogin/auth/anonymous/login", ErrorFamily.COUPON),
        ("/product/t/products", ErrorFamily.PRODUCT),
    ],
)
def test_family_by_prefix(path: str, family: ErrorFamily) -> None:
    assert family_for_path(path) is family


def test_segment_shape() -> None:
    error = BadRequest("Bad name.", field="name", type="invalid_value", resource_id="s1")
    assert error_body(error, ErrorFamily.SEGMENT) == {
        "code": 400,
        "status": "Bad Request",
        "message": "Bad name.",
        "resourceId": "s1",
        "details": {"field": "name", "type": "invalid_value", "message": "Bad name."},
    }
    assert error_body(NotFound(), ErrorFamily.SEGMENT) == {
        "code": 404,
        "status": "Not Found",
        "message": "The requested resource has not been found.",
    }


def test_category_shape_has_text_details() -> None:
    assert error_body(BadRequest("Bad name.", field="name"), ErrorFamily.CATEGORY) == {
        "code": 400,
        "status": "Bad Request",
        "message": "Bad name.",
        "details": ["name: Bad name."],
    }


def test_coupon_shape_has_a_type_and_a_list_of_details() -> None:
    assert error_body(BadRequest("Bad code.", field="code", type="invalid_value"), ErrorFamily.COUPON) == {
        "status": 400,
        "type": "validation_violation",
        "message": "Bad code.",
        "details": [{"field": "code", "type": "invalid_value", "message": "Bad code."}],
    }
    assert error_body(NotFound("No coupon."), ErrorFamily.COUPON) == {
        "status": 404,
        "type": "resource_not_found",
        "message": "No coupon.",
    }


def test_product_shape() -> None:
    assert error_body(BadRequest("Bad code.", field="code"), ErrorFamily.PRODUCT) == {
        "code": 400,
        "status": "Bad Request",
        "message": "Bad code.",
        "details": [{"field": "code", "type": "validation_violation", "message": "Bad code."}],
    }


def test_401_is_the_gateway_fault_everywhere() -> None:
    for family in ErrorFamily:
        assert error_body(Unauthorized(), family) == {
            "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
        }


def test_too_many_requests_has_a_body_and_a_retry_after_header() -> None:
    error = TooManyRequests("Locked; try again later.", retry_after=0)
    assert error.headers == {"Retry-After": "1"}
    assert error_body(error, ErrorFamily.COUPON) == {
        "status": 429,
        "type": "too_many_requests",
        "message": "Locked; try again later.",
    }
    assert error_body(error, ErrorFamily.SEGMENT) == {
        "code": 429,
        "status": "Too Many Requests",
        "message": "Locked; try again later.",
    }
    assert BadRequest().headers is None
