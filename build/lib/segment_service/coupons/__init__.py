"""The Coupon service (coupon.yml): coupons, their validation and redemption, and referral coupons."""
