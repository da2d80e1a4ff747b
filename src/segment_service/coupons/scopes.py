"""The scope sets of the coupon, redemption and referral routes: what the guard takes (`opt["scopes"]`, any one
scope is enough) and, where coupon.yml declares others, what the OpenAPI document says (`opt["declared_scopes"]`).

Named verb first (`MANAGE_COUPONS`), so that a set is never mistaken for the single `Scope` it starts with.
"""

from __future__ import annotations

from segment_service.core.auth import Scope

READ_COUPONS = (Scope.COUPON_MANAGE.value, Scope.COUPON_READ.value)
MANAGE_COUPONS = (Scope.COUPON_MANAGE.value,)
#: What coupon.yml declares for `GET /coupons/{code}`, which any valid token may call (the module doc of
#: coupons/routes.py says why).
RETRIEVE_COUPON_DECLARED = (Scope.COUPON_REDEEM_ON_BEHALF.value,)
READ_REDEMPTIONS = (Scope.COUPON_MANAGE.value, Scope.COUPON_REDEEM.value, Scope.COUPON_REDEEM_ON_BEHALF.value)
READ_REFERRAL_COUPONS = (Scope.COUPON_READ.value, Scope.COUPON_MANAGE.value, Scope.COUPON_REDEEM.value)
CREATE_REFERRAL_COUPONS = (Scope.COUPON_MANAGE.value, Scope.COUPON_REDEEM.value)
#: Validation and redemption: a service or customer token needs one of these, an anonymous token none.
REDEEM_COUPONS = (Scope.COUPON_REDEEM.value, Scope.COUPON_REDEEM_ON_BEHALF.value, Scope.COUPON_MANAGE.value)
