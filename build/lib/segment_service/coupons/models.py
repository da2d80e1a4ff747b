"""Coupon API shapes, named as coupon.yml names them (`coupon-creation`, `base-coupon`, `redemption-creation`, ...).

Read-only members (`status`, `redemptionCount`, `legalEntityRedemptions`, `referralCoupon`, `deleted`) are not
declared in the write shapes, so a client that sends them back is ignored on those members, as for any unknown one
(except within `restrictions`, where an unknown member is refused).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from segment_service.core.models import UNSET, ApiModel, UnsetType

Text = Annotated[str, msgspec.Meta(max_length=256)]
LongText = Annotated[str, msgspec.Meta(max_length=4096)]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
References = Annotated[list[Reference], msgspec.Meta(max_length=1000)]
#: ISO 4217: three upper-case letters (coupon.yml `currency-amount`).
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
#: Money: not negative, and bounded so that every value fits the database and JSON numbers.
Amount = Annotated[float, msgspec.Meta(ge=0, le=1e15)]
Percentage = Annotated[float, msgspec.Meta(ge=0, le=100)]
#: A redemption limit: -1 is unlimited (coupon.yml `maxRedemptions`).
Limit = Annotated[int, msgspec.Meta(ge=-1, le=1_000_000_000_000)]
Version = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]


class DiscountType(StrEnum):
    PERCENT = "PERCENT"
    ABSOLUTE = "ABSOLUTE"
    FREE_SHIPPING = "FREE_SHIPPING"


class DiscountCalculationType(StrEnum):
    TOTAL = "TOTAL"
    SUBTOTAL = "SUBTOTAL"


class CouponStatus(StrEnum):
    """Computed, never written (coupon.yml `coupon-with-id-and-status.status`)."""

    INACTIVE = "INACTIVE"
    VALID = "VALID"
    EXPIRED = "EXPIRED"
    USED = "USED"


class CurrencyAmount(ApiModel):
    """`currency-amount`: the spec's defaults are amount 0 and currency USD."""

    amount: Amount = 0.0
    currency: Currency = "USD"


class Restrictions(ApiModel, forbid_unknown_fields=True):
    """`restrictions`. Unlike the rest of the body, an unknown member is a 400: a misspelt restriction
    (`categories` for `includedCategories`) would otherwise give a coupon that looks restricted and is not."""

    valid_for: References | None | UnsetType = UNSET
    valid_from: datetime | None | UnsetType = UNSET
    valid_until: datetime | None | UnsetType = UNSET
    min_order_value: CurrencyAmount | None | UnsetType = UNSET
    included_categories: References | None | UnsetType = UNSET
    excluded_categories: References | None | UnsetType = UNSET
    segments: References | None | UnsetType = UNSET


class CouponMetadata(ApiModel, forbid_unknown_fields=True):
    """`metadata` (additionalProperties: false): the version a write expects, and links to mixin schemas."""

    version: Version | UnsetType = UNSET
    mixins: dict[str, str] | None | UnsetType = UNSET


class CouponUpdate(ApiModel, kw_only=True):
    """`base-coupon`: the PUT body, a full replacement (and the shape a merge patch must still fit)."""

    name: Text | None | UnsetType = UNSET
    description: LongText | None | UnsetType = UNSET
    discount_type: DiscountType | None | UnsetType = UNSET
    discount_percentage: Percentage | None | UnsetType = UNSET
    discount_absolute: CurrencyAmount | None | UnsetType = UNSET
    allow_anonymous: bool | None | UnsetType = UNSET
    max_redemptions: Limit | None | UnsetType = UNSET
    max_redemptions_per_customer: Limit | None | UnsetType = UNSET
    discount_calculation_type: DiscountCalculationType | None | UnsetType = UNSET
    category_restricted: bool | None | UnsetType = UNSET
    segment_restricted: bool | None | UnsetType = UNSET
    restrictions: Restrictions | None | UnsetType = UNSET
    issued_to: Reference | None | UnsetType = UNSET
    mixins: dict[str, Any] | None | UnsetType = UNSET
    metadata: CouponMetadata | None | UnsetType = UNSET


class CouponCreation(CouponUpdate, kw_only=True):
    """`coupon-creation`: `name` is required; `code` is generated when left out (or null)."""

    code: Annotated[str, msgspec.Meta(max_length=256)] | None | UnsetType = UNSET
    name: Text


class CouponPatch(CouponUpdate, kw_only=True):
    """PATCH body: a merge object (RFC 7396). Members sent replace, `null` removes, `restrictions` and `mixins` merge
    member by member."""


class LegalEntityRedemptions(ApiModel):
    legal_entity_id: str
    count: int


class RestrictionsResponse(ApiModel, kw_only=True):
    valid_for: list[str]
    valid_from: datetime | UnsetType = UNSET
    valid_until: datetime | UnsetType = UNSET
    min_order_value: CurrencyAmount | UnsetType = UNSET
    included_categories: list[str] | UnsetType = UNSET
    excluded_categories: list[str] | UnsetType = UNSET
    segments: list[str] | UnsetType = UNSET


class MetadataResponse(ApiModel, kw_only=True):
    version: int
    mixins: dict[str, str] | UnsetType = UNSET


class CouponResponse(ApiModel, kw_only=True):
    """`coupon-with-id-and-status`: a stored coupon with its computed `status`. The members coupon.yml marks
    "seller-only" (`maxRedemptions`, `redemptionCount`, `legalEntityRedemptions`, `issuedTo`, `deleted`) are left out
    of the customer's view."""

    code: str
    name: str
    description: str | UnsetType = UNSET
    discount_type: DiscountType
    discount_percentage: float | UnsetType = UNSET
    discount_absolute: CurrencyAmount | UnsetType = UNSET
    allow_anonymous: bool
    max_redemptions: int | UnsetType = UNSET
    max_redemptions_per_customer: int
    discount_calculation_type: DiscountCalculationType
    category_restricted: bool
    segment_restricted: bool
    restrictions: RestrictionsResponse
    issued_to: str | UnsetType = UNSET
    mixins: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataResponse
    status: CouponStatus
    redemption_count: int | UnsetType = UNSET
    legal_entity_redemptions: list[LegalEntityRedemptions] | UnsetType = UNSET
    referral_coupon: bool
    deleted: bool | UnsetType = UNSET


class ResourceLocation(ApiModel):
    id: str


class RedemptionCreation(ApiModel, kw_only=True):
    """`redemption-creation`: the order a coupon is redeemed for. `customerNumber` other than the caller's own needs
    `coupon.coupon_redeem_on_behalf`."""

    order_code: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | UnsetType = UNSET
    customer_number: Reference | UnsetType = UNSET
    legal_entity_id: Reference | UnsetType = UNSET
    order_total: CurrencyAmount
    discount: CurrencyAmount


class Redemption(ApiModel, kw_only=True):
    """`redemption`: a stored redemption; `code` (the coupon's) as coupon.yml's example shows it."""

    id: str
    code: str
    order_code: str | UnsetType = UNSET
    customer_number: str | UnsetType = UNSET
    legal_entity_id: str | UnsetType = UNSET
    order_total: CurrencyAmount
    discount: CurrencyAmount
    redeemed_at: datetime
