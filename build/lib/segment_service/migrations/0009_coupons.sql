-- Coupons (coupon.yml) and their redemptions. Codes are stored upper-case; a soft-deleted coupon keeps its code.
-- Money is numeric so that comparisons with minimum order values are exact.

CREATE TABLE coupons (
    tenant                        text NOT NULL,
    code                          text NOT NULL,
    name                          text NOT NULL,
    description                   text,
    discount_type                 text NOT NULL CHECK (discount_type IN ('PERCENT', 'ABSOLUTE', 'FREE_SHIPPING')),
    discount_percentage           numeric,
    discount_amount               numeric,
    discount_currency             text,
    allow_anonymous               boolean NOT NULL DEFAULT false,
    max_redemptions               bigint NOT NULL DEFAULT -1,
    max_redemptions_per_customer  bigint NOT NULL DEFAULT -1,
    discount_calculation_type     text NOT NULL DEFAULT 'SUBTOTAL' CHECK (discount_calculation_type IN ('TOTAL', 'SUBTOTAL')),
    category_restricted           boolean NOT NULL DEFAULT false,
    segment_restricted            boolean NOT NULL DEFAULT false,
    valid_for                     text[] NOT NULL DEFAULT '{}',
    valid_from                    timestamptz,
    valid_until                   timestamptz,
    min_order_amount              numeric,
    min_order_currency            text,
    included_categories           text[],
    excluded_categories           text[],
    segment_ids                   text[],
    issued_to                     text,
    referral                      boolean NOT NULL DEFAULT false,
    deleted                       boolean NOT NULL DEFAULT false,
    -- Kept in the redemption transaction, under the coupon's row lock, so that lists can show `status` and
    -- `redemptionCount` without counting.
    redemption_count              bigint NOT NULL DEFAULT 0,
    mixins                        jsonb,
    metadata_mixins               jsonb,
    version                       integer NOT NULL DEFAULT 1,
    created_at                    timestamptz NOT NULL,
    modified_at                   timestamptz NOT NULL,
    CONSTRAINT coupons_pkey PRIMARY KEY (tenant, code)
);
-- One referral coupon per customer (coupon.yml, POST /referral-coupons/{customerNumber}); once it is deleted, the
-- customer can be given a new one.
CREATE UNIQUE INDEX coupons_referral_key ON coupons (tenant, issued_to) WHERE referral AND NOT deleted;

-- customer_number is NULL for an anonymous redemption; legal_entity_id is '' outside a legal-entity context.
CREATE TABLE coupon_redemptions (
    tenant                text NOT NULL,
    id                    text NOT NULL,
    coupon_code           text NOT NULL,
    order_code            text,
    customer_number       text,
    legal_entity_id       text NOT NULL DEFAULT '',
    order_total_amount    numeric NOT NULL,
    order_total_currency  text NOT NULL,
    discount_amount       numeric NOT NULL,
    discount_currency     text NOT NULL,
    redeemed_at           timestamptz NOT NULL,
    CONSTRAINT coupon_redemptions_pkey PRIMARY KEY (tenant, id),
    CONSTRAINT coupon_redemptions_coupon_fkey FOREIGN KEY (tenant, coupon_code)
        REFERENCES coupons (tenant, code) ON DELETE CASCADE
);
-- Per-customer (and per legal entity) limits count here; the coupon's own lists start with the same columns.
CREATE INDEX coupon_redemptions_customer_idx
    ON coupon_redemptions (tenant, coupon_code, customer_number, legal_entity_id);
-- An order redeems a coupon once: a second redemption for the same order is a 409.
CREATE UNIQUE INDEX coupon_redemptions_order_key
    ON coupon_redemptions (tenant, coupon_code, order_code) WHERE order_code IS NOT NULL;
