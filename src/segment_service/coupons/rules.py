"""The rules a coupon must meet to be stored (coupon.yml's field descriptions, docs/decisions.md#coupon-rules), checked
on create, replace and patch alike. Pure functions: what needs the database (do the segments exist?) is the service's.
"""

from __future__ import annotations

import secrets
import string
from decimal import Decimal
from typing import TypeVar

from segment_service.core.errors import BadRequest
from segment_service.core.ids import check_custom_id
from segment_service.core.models import UNSET, UnsetType, check_nesting
from segment_service.core.timefmt import as_utc
from segment_service.coupons.models import CouponUpdate, DiscountCalculationType, DiscountType, Restrictions
from segment_service.coupons.store import CouponContent

T = TypeVar("T")

#: Generated codes: upper-case letters and digits without the look-alikes 0/O and 1/I, 8 long (32^8 codes).
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_CODE_LENGTH = 8


def generated_code(prefix: str = "") -> str:
    """A random coupon code for a coupon created without one."""
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))


#: Upper-cases the ASCII letters only: str.upper would turn `ß` into `SS` and the dotless i (U+0131) into `I`, making
#: codes out of characters no code may hold.
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def path_code(code: str) -> str:
    """The stored form of a code named in a path: codes are case-insensitive in ASCII letters; any other character
    is kept, so such a code names no coupon."""
    return code.translate(_ASCII_UPPER)


def normalized_code(code: str) -> str:
    """A client's code as it is stored: checked to be usable as a path segment, then upper-case (coupon.yml: "the
    coupon code is saved in uppercase")."""
    return path_code(check_custom_id(code, field="code"))


def _given(value: T | None | UnsetType) -> T | None:
    """A member's value; left out and `null` both mean "not set"."""
    return None if isinstance(value, UnsetType) else value


def _invalid(message: str, field: str, type: str = "invalid_value") -> BadRequest:
    return BadRequest(f"Validation problem with request body: {message}", field=field, type=type)


def _unique(values: list[str] | None) -> list[str] | None:
    """A list without repeats, in first-seen order; None for an empty or missing one."""
    return list(dict.fromkeys(values)) if values else None


def decimal_amount(value: float) -> Decimal:
    # Through str so that 24.99 is stored as 24.99, not as the nearest binary fraction.
    return Decimal(str(value))


def coupon_content(code: str, body: CouponUpdate) -> CouponContent:
    """A coupon row from a create or replace body, checked against every rule the schema cannot express."""
    name = _given(body.name)
    if not name:
        raise _invalid("name is required.", "name", "missing_value")
    discount_type = _given(body.discount_type) or DiscountType.ABSOLUTE
    percentage = _given(body.discount_percentage)
    absolute = _given(body.discount_absolute)
    # The discount member of another type is ignored, not refused: the Emporix tutorial sends discountAbsolute with
    # PERCENT and FREE_SHIPPING coupons (docs/decisions.md#coupon-rules).
    if discount_type is DiscountType.PERCENT:
        if percentage is None:
            raise _invalid(
                "discountPercentage is required when discountType is PERCENT.", "discountPercentage", "missing_value"
            )
        absolute = None
    elif discount_type is DiscountType.ABSOLUTE:
        if absolute is None:
            raise _invalid(
                "discountAbsolute is required when discountType is ABSOLUTE.", "discountAbsolute", "missing_value"
            )
        percentage = None
    else:
        percentage = absolute = None

    allow_anonymous = bool(_given(body.allow_anonymous))
    max_redemptions = _given(body.max_redemptions)
    per_customer = _given(body.max_redemptions_per_customer)
    max_redemptions = -1 if max_redemptions is None else max_redemptions
    per_customer = -1 if per_customer is None else per_customer
    if allow_anonymous and per_customer != -1:
        raise _invalid(
            "maxRedemptionsPerCustomer cannot be set for a coupon that allows anonymous redemption "
            "(allowAnonymous=true).",
            "maxRedemptionsPerCustomer",
        )

    restrictions = _given(body.restrictions) or Restrictions()
    valid_for = _unique(_given(restrictions.valid_for)) or []
    segments = _unique(_given(restrictions.segments))
    included = _unique(_given(restrictions.included_categories))
    excluded = _unique(_given(restrictions.excluded_categories))
    category_restricted = bool(_given(body.category_restricted))
    segment_restricted = bool(_given(body.segment_restricted))
    if allow_anonymous and valid_for:
        raise _invalid(
            "restrictions.validFor cannot be set for a coupon that allows anonymous redemption (allowAnonymous=true).",
            "restrictions.validFor",
        )
    if segment_restricted:
        if not segments:
            raise _invalid(
                "restrictions.segments is required when segmentRestricted is true.",
                "restrictions.segments",
                "missing_value",
            )
        if category_restricted:
            raise _invalid("segmentRestricted cannot be combined with categoryRestricted.", "categoryRestricted")
        if valid_for:
            raise _invalid(
                "segmentRestricted cannot be combined with customer restrictions (restrictions.validFor).",
                "restrictions.validFor",
            )
    elif segments:
        raise _invalid("restrictions.segments can only be set when segmentRestricted is true.", "restrictions.segments")
    if not category_restricted and (included or excluded):
        field = "restrictions.includedCategories" if included else "restrictions.excludedCategories"
        raise _invalid(
            "includedCategories and excludedCategories can only be set when categoryRestricted is true.", field
        )
    if included and excluded and set(included) & set(excluded):
        both = ", ".join(sorted(set(included) & set(excluded)))
        raise _invalid(
            f"includedCategories and excludedCategories must be disjoint; both name {both}.",
            "restrictions.excludedCategories",
        )
    if discount_type is DiscountType.FREE_SHIPPING and category_restricted:
        raise _invalid("a FREE_SHIPPING coupon cannot be category restricted.", "categoryRestricted")

    valid_from = _given(restrictions.valid_from)
    valid_until = _given(restrictions.valid_until)
    valid_from = None if valid_from is None else as_utc(valid_from, field="restrictions.validFrom")
    valid_until = None if valid_until is None else as_utc(valid_until, field="restrictions.validUntil")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise _invalid(
            "restrictions.validUntil must not be earlier than restrictions.validFrom.", "restrictions.validUntil"
        )
    min_order = _given(restrictions.min_order_value)

    mixins = _given(body.mixins)
    check_nesting(mixins, field="mixins")
    metadata = _given(body.metadata)
    metadata_mixins = None if metadata is None else _given(metadata.mixins)
    return CouponContent(
        code=code,
        name=name,
        description=_given(body.description),
        discount_type=discount_type.value,
        discount_percentage=None if percentage is None else decimal_amount(percentage),
        discount_amount=None if absolute is None else decimal_amount(absolute.amount),
        discount_currency=None if absolute is None else absolute.currency,
        allow_anonymous=allow_anonymous,
        max_redemptions=max_redemptions,
        max_redemptions_per_customer=per_customer,
        discount_calculation_type=(_given(body.discount_calculation_type) or DiscountCalculationType.SUBTOTAL).value,
        category_restricted=category_restricted,
        segment_restricted=segment_restricted,
        valid_for=valid_for,
        valid_from=valid_from,
        valid_until=valid_until,
        min_order_amount=None if min_order is None else decimal_amount(min_order.amount),
        min_order_currency=None if min_order is None else min_order.currency,
        included_categories=included,
        excluded_categories=excluded,
        segment_ids=segments,
        issued_to=_given(body.issued_to),
        mixins=mixins,
        metadata_mixins=metadata_mixins,
    )


def expected_version(body: CouponUpdate) -> int | None:
    """The `metadata.version` a write expects to replace, when it names one."""
    metadata = _given(body.metadata)
    if metadata is None or metadata.version is UNSET:
        return None
    return metadata.version
