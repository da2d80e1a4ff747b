"""The rules a coupon must meet on create, PUT and PATCH (coupon.yml's field descriptions,
docs/decisions.md#coupon-rules)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.coupons.helpers import CouponApi, coupon_body, invalid

PERCENT = {"discountType": "PERCENT", "discountPercentage": 7}
SEGMENTS = {"segmentRestricted": True, "restrictions": {"segments": ["seg1"]}}

#: (case, body overrides, field, message, detail type)
BROKEN: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "absolute without amount",
        {"discountAbsolute": None},
        "discountAbsolute",
        "discountAbsolute is required when discountType is ABSOLUTE.",
        "missing_value",
    ),
    (
        "percent without percentage",
        {"discountType": "PERCENT"},
        "discountPercentage",
        "discountPercentage is required when discountType is PERCENT.",
        "missing_value",
    ),
    (
        "segment restricted without segments",
        {"segmentRestricted": True},
        "restrictions.segments",
        "restrictions.segments is required when segmentRestricted is true.",
        "missing_value",
    ),
    (
        "segment restricted with empty segments",
        {"segmentRestricted": True, "restrictions": {"segments": []}},
        "restrictions.segments",
        "restrictions.segments is required when segmentRestricted is true.",
        "missing_value",
    ),
    (
        "segments without the flag",
        {"restrictions": {"segments": ["seg1"]}},
        "restrictions.segments",
        "restrictions.segments can only be set when segmentRestricted is true.",
        "invalid_value",
    ),
    (
        "segments and categories",
        {**SEGMENTS, "categoryRestricted": True},
        "categoryRestricted",
        "segmentRestricted cannot be combined with categoryRestricted.",
        "invalid_value",
    ),
    (
        "segments and validFor",
        {"segmentRestricted": True, "restrictions": {"segments": ["seg1"], "validFor": ["C1"]}},
        "restrictions.validFor",
        "segmentRestricted cannot be combined with customer restrictions (restrictions.validFor).",
        "invalid_value",
    ),
    (
        "categories without the flag",
        {"restrictions": {"includedCategories": ["a"]}},
        "restrictions.includedCategories",
        "includedCategories and excludedCategories can only be set when categoryRestricted is true.",
        "invalid_value",
    ),
    (
        "excluded categories without the flag",
        {"restrictions": {"excludedCategories": ["a"]}},
        "restrictions.excludedCategories",
        "includedCategories and excludedCategories can only be set when categoryRestricted is true.",
        "invalid_value",
    ),
    (
        "overlapping categories",
        {"categoryRestricted": True, "restrictions": {"includedCategories": ["a", "b"], "excludedCategories": ["b"]}},
        "restrictions.excludedCategories",
        "includedCategories and excludedCategories must be disjoint; both name b.",
        "invalid_value",
    ),
    (
        "per-customer limit with anonymous",
        {"allowAnonymous": True, "maxRedemptionsPerCustomer": 1},
        "maxRedemptionsPerCustomer",
        "maxRedemptionsPerCustomer cannot be set for a coupon that allows anonymous redemption (allowAnonymous=true).",
        "invalid_value",
    ),
    (
        "validFor with anonymous",
        {"allowAnonymous": True, "restrictions": {"validFor": ["C1"]}},
        "restrictions.validFor",
        "restrictions.validFor cannot be set for a coupon that allows anonymous redemption (allowAnonymous=true).",
        "invalid_value",
    ),
    (
        "free shipping restricted to categories",
        {"discountType": "FREE_SHIPPING", "categoryRestricted": True, "restrictions": {"includedCategories": ["a"]}},
        "categoryRestricted",
        "a FREE_SHIPPING coupon cannot be category restricted.",
        "invalid_value",
    ),
    (
        "window ending before it starts",
        {"restrictions": {"validFrom": "2030-01-02T00:00:00Z", "validUntil": "2030-01-01T00:00:00Z"}},
        "restrictions.validUntil",
        "restrictions.validUntil must not be earlier than restrictions.validFrom.",
        "invalid_value",
    ),
    (
        "segment that does not exist",
        {"segmentRestricted": True, "restrictions": {"segments": ["nope", "gone"]}},
        "restrictions.segments",
        "restrictions.segments names segments that do not exist: nope, gone.",
        "missing_reference",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "field", "message", "detail_type"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
class TestBrokenRules:
    def test_create_is_400(
        self, coupons: CouponApi, overrides: dict[str, Any], field: str, message: str, detail_type: str
    ) -> None:
        response = coupons.request("POST", "/coupons", json=coupon_body(**overrides))
        assert response.status_code == 400
        assert response.json() == invalid(message, field, detail_type)

    def test_put_is_400(
        self, coupons: CouponApi, overrides: dict[str, Any], field: str, message: str, detail_type: str
    ) -> None:
        code = coupons.create()
        response = coupons.request("PUT", f"/coupons/{code}", json=coupon_body(**overrides))
        assert response.json() == invalid(message, field, detail_type)

    def test_patch_is_400(
        self, coupons: CouponApi, overrides: dict[str, Any], field: str, message: str, detail_type: str
    ) -> None:
        code = coupons.create()
        response = coupons.request("PATCH", f"/coupons/{code}", json=overrides)
        assert response.json() == invalid(message, field, detail_type)
        assert coupons.get(code)["metadata"]["version"] == 1


def test_segment_restricted_coupons_name_existing_segments(coupons: CouponApi) -> None:
    segment = coupons.create_segment()
    code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment, segment], "validFor": []})
    assert coupons.get(code)["restrictions"] == {"validFor": [], "segments": [segment]}


def test_other_tenants_segments_do_not_count(coupons: CouponApi) -> None:
    other = CouponApi(coupons.client, coupons.tokens, "o" + coupons.tenant[1:])
    segment = other.create_segment()
    response = coupons.request(
        "POST", "/coupons", json=coupon_body(segmentRestricted=True, restrictions={"segments": [segment]})
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["type"] == "missing_reference"


def test_a_discount_member_of_another_type_is_ignored(coupons: CouponApi) -> None:
    """The Emporix tutorial sends discountAbsolute with PERCENT and FREE_SHIPPING coupons
    (docs/decisions.md#coupon-rules)."""
    percent = coupons.create(**PERCENT)
    free = coupons.create(discountType="FREE_SHIPPING", discountPercentage=3)
    absolute = coupons.create(discountPercentage=3)
    assert "discountAbsolute" not in coupons.get(percent)
    assert coupons.get(percent)["discountPercentage"] == 7
    assert not {"discountAbsolute", "discountPercentage"} & set(coupons.get(free))
    assert "discountPercentage" not in coupons.get(absolute)


def test_unlimited_is_minus_one_and_anonymous_coupons_keep_it(coupons: CouponApi) -> None:
    code = coupons.create(allowAnonymous=True, maxRedemptionsPerCustomer=-1, restrictions={"validFor": []})
    stored = coupons.get(code)
    assert (stored["allowAnonymous"], stored["maxRedemptions"], stored["maxRedemptionsPerCustomer"]) == (True, -1, -1)


def test_category_restricted_coupons_keep_their_categories(coupons: CouponApi) -> None:
    code = coupons.create(
        categoryRestricted=True, restrictions={"includedCategories": ["a", "b"], "excludedCategories": ["c"]}
    )
    assert coupons.get(code)["restrictions"] == {
        "validFor": [],
        "includedCategories": ["a", "b"],
        "excludedCategories": ["c"],
    }
