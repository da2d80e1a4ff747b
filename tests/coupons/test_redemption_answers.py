"""POST /coupons/{code}/validation and /redemptions: the whole answer of every way a validation or redemption can fail,
the same for both operations, which reason comes first when several apply, and that a failed redemption writes
nothing (docs/coupons.md#validation-and-redemption)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.coupons.helpers import ORDER, CouponApi, coupon_error, forbidden, iso_in, not_found
from tests.factories import assign_customer, make_contact, run_sql

OPERATIONS = ("validation", "redemptions")


def order(total: float = 100, currency: str = "USD", discount: float = 5, **extra: Any) -> dict[str, Any]:
    return {
        "orderTotal": {"amount": total, "currency": currency},
        "discount": {"amount": discount, "currency": currency},
        **extra,
    }


def reason(message: str, field: str, detail_type: str) -> dict[str, Any]:
    """The whole 400 of a coupon that cannot be redeemed."""
    return coupon_error(400, message, type="validation_violation", field=field, detail_type=detail_type)


def call(coupons: CouponApi, operation: str, code: str, body: dict[str, Any], token: str | None) -> httpx.Response:
    return coupons.request("POST", f"/coupons/{code}/{operation}", json=body, token=token)


def stored(coupons: CouponApi, database_url: str, code: str) -> tuple[int, int]:
    """The coupon's redemption rows and its redemptionCount."""
    rows = run_sql(
        database_url,
        "SELECT (SELECT count(*) FROM coupon_redemptions r WHERE r.tenant = c.tenant AND r.coupon_code = c.code) AS n,"
        " c.redemption_count FROM coupons c WHERE c.tenant = $1 AND c.code = $2",
        coupons.tenant,
        code,
    )
    return int(rows[0]["n"]), int(rows[0]["redemption_count"])


def answers_alike(
    coupons: CouponApi,
    database_url: str,
    code: str,
    body: dict[str, Any],
    token: str | None,
    status: int,
    expected: dict[str, Any],
) -> None:
    """Validation and redemption answer `expected` with `status`, and the redemption wrote nothing."""
    before = stored(coupons, database_url, code) if status != 404 else None
    for operation in OPERATIONS:
        response = call(coupons, operation, code, body, token)
        assert response.status_code == status, (operation, response.text)
        assert response.json() == expected, operation
    if before is not None:
        assert stored(coupons, database_url, code) == before


class TestEachReason:
    def test_not_yet_valid(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(restrictions={"validFrom": "2999-01-01T00:00:00.000Z"})
        message = f"The coupon {code} is valid only from 2999-01-01T00:00:00.000Z."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            coupons.customer_token("C1"),
            400,
            reason(message, "restrictions.validFrom", "coupon_not_yet_valid"),
        )

    def test_expired(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(restrictions={"validUntil": "2001-01-31T23:59:59.999Z"})
        message = f"The coupon {code} expired at 2001-01-31T23:59:59.999Z."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            coupons.customer_token("C1"),
            400,
            reason(message, "restrictions.validUntil", "coupon_expired"),
        )

    def test_anonymous_not_allowed(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create()
        message = f"The coupon {code} can only be redeemed by a logged-in customer."
        expected = reason(message, "customerNumber", "anonymous_not_allowed")
        for token in (coupons.tokens.anonymous(coupons.tenant), None):  # None: a service token, no customerNumber
            answers_alike(coupons, database_url, code, order(), token, 400, expected)

    def test_customer_not_eligible(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(restrictions={"validFor": ["C1"]})
        message = f"The coupon {code} is not valid for this customer."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            coupons.customer_token("C2"),
            400,
            reason(message, "customerNumber", "customer_not_eligible"),
        )

    def test_own_referral_coupon(self, coupons: CouponApi, database_url: str) -> None:
        customer = coupons.create_customer(contactEmail="ref@example.com", firstName="Ann", lastName="Lee")
        response = coupons.request("POST", f"/referral-coupons/{customer}")
        assert response.status_code == 200, response.text
        code = response.json()["code"]
        message = f"The coupon {code} is the customer's own referral coupon; it is meant for the customers they refer."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            coupons.customer_token(customer),
            400,
            reason(message, "customerNumber", "customer_not_eligible"),
        )

    def test_segment_not_eligible(self, coupons: CouponApi, database_url: str) -> None:
        segment = coupons.create_segment()
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment]})
        assign_customer(database_url, coupons.tenant, segment, "C2")
        message = f"The coupon {code} is valid only for members of its active customer segments."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            coupons.customer_token("C1"),
            400,
            reason(message, "restrictions.segments", "segment_not_eligible"),
        )

    def test_currency_mismatches(self, coupons: CouponApi, database_url: str) -> None:
        token = coupons.customer_token("C1")
        plain = coupons.create()
        mixed = {"orderTotal": {"amount": 100, "currency": "USD"}, "discount": {"amount": 5, "currency": "EUR"}}
        answers_alike(
            coupons,
            database_url,
            plain,
            mixed,
            token,
            400,
            reason("The discount is in EUR, the order total in USD.", "discount.currency", "currency_mismatch"),
        )
        euro = coupons.create(discountAbsolute={"amount": 5, "currency": "EUR"})
        answers_alike(
            coupons,
            database_url,
            euro,
            order(),
            token,
            400,
            reason(
                "The coupon's discount is in EUR, the order total in USD.", "orderTotal.currency", "currency_mismatch"
            ),
        )
        minimum = coupons.create(
            discountType="PERCENT",
            discountPercentage=5,
            restrictions={"minOrderValue": {"amount": 1, "currency": "EUR"}},
        )
        answers_alike(
            coupons,
            database_url,
            minimum,
            order(),
            token,
            400,
            reason(
                "The coupon's minimum order value is in EUR, the order total in USD.",
                "orderTotal.currency",
                "currency_mismatch",
            ),
        )

    def test_min_order_value_not_reached(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(restrictions={"minOrderValue": {"amount": 49.99, "currency": "USD"}})
        message = "The order total 49.98 USD is below the coupon's minimum order value 49.99 USD."
        answers_alike(
            coupons,
            database_url,
            code,
            order(49.98),
            coupons.customer_token("C1"),
            400,
            reason(message, "orderTotal.amount", "min_order_value_not_reached"),
        )

    def test_max_redemptions_reached(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(maxRedemptions=1)
        assert coupons.redeem(code, token=coupons.customer_token("C1")).status_code == 201
        message = f"The coupon {code} has reached its maximum number of redemptions (1)."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            coupons.customer_token("C2"),
            400,
            reason(message, "maxRedemptions", "max_redemptions_reached"),
        )

    def test_max_redemptions_per_customer_reached(self, coupons: CouponApi, database_url: str) -> None:
        make_contact(database_url, coupons.tenant, "L1", "C1")
        code = coupons.create(maxRedemptionsPerCustomer=2)
        token = coupons.customer_token("C1")
        for body in (order(), order(legalEntityId="L1"), order(legalEntityId="L1")):
            assert coupons.redeem(code, body, token=token).status_code == 201
        without = "The customer has reached the coupon's maximum number of redemptions per customer (2)."
        answers_alike(
            coupons,
            database_url,
            code,
            order(),
            token,
            400,
            reason(without, "maxRedemptionsPerCustomer", "max_redemptions_per_customer_reached"),
        )
        within = (
            "The customer has reached the coupon's maximum number of redemptions per customer (2) for legal entity L1."
        )
        answers_alike(
            coupons,
            database_url,
            code,
            order(legalEntityId="L1"),
            token,
            400,
            reason(within, "maxRedemptionsPerCustomer", "max_redemptions_per_customer_reached"),
        )


class TestWhoRedeems:
    def test_unknown_and_deleted_coupons(self, coupons: CouponApi, database_url: str) -> None:
        token = coupons.customer_token("C1")
        answers_alike(coupons, database_url, "NOPE", order(), token, 404, not_found("NOPE"))
        code = coupons.create()
        assert coupons.request("DELETE", f"/coupons/{code}").status_code == 204
        answers_alike(coupons, database_url, code, order(customerNumber="C2"), token, 404, not_found(code))

    def test_another_customer_without_on_behalf(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create()
        answers_alike(
            coupons,
            database_url,
            code,
            order(customerNumber="C2"),
            coupons.customer_token("C1"),
            403,
            forbidden("Acting for another customer (customerNumber) needs the coupon.coupon_redeem_on_behalf scope."),
        )

    def test_a_customer_number_that_names_nobody(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create()
        message = "Validation problem with request body: customerNumber nobody names no customer."
        answers_alike(
            coupons,
            database_url,
            code,
            order(customerNumber="nobody", legalEntityId="L1"),
            coupons.service_token("coupon.coupon_redeem_on_behalf"),
            400,
            reason(message, "customerNumber", "missing_reference"),
        )

    def test_a_legal_entity_without_a_customer(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(allowAnonymous=True)
        message = (
            "Validation problem with request body: legalEntityId needs a customer; anonymous redemptions have no legal "
            "entity."
        )
        answers_alike(
            coupons,
            database_url,
            code,
            order(legalEntityId="L1"),
            coupons.tokens.anonymous(coupons.tenant),
            400,
            reason(message, "legalEntityId", "invalid_value"),
        )

    def test_a_legal_entity_the_customer_is_not_in(self, coupons: CouponApi, database_url: str) -> None:
        make_contact(database_url, coupons.tenant, "L2", "C2")
        code = coupons.create(restrictions={"validUntil": iso_in(-1)})  # the redeemer is checked before the coupon
        answers_alike(
            coupons,
            database_url,
            code,
            order(legalEntityId="L2"),
            coupons.customer_token("C1"),
            403,
            forbidden("The customer C1 is not a contact of legal entity L2."),
        )

    def test_a_second_redemption_for_an_order(self, coupons: CouponApi, database_url: str) -> None:
        for limit in (-1, 5):  # without and with a per-customer limit: both ways of storing a redemption
            code = coupons.create(maxRedemptionsPerCustomer=limit)
            token = coupons.customer_token("C1")
            assert coupons.redeem(code, order(orderCode="O-1"), token=token).status_code == 201
            assert coupons.validate(code, order(orderCode="O-1"), token=token).status_code == 200
            again = coupons.redeem(code, order(orderCode="O-1"), token=token)
            assert again.status_code == 409
            message = f"The coupon {code} has already been redeemed for order O-1."
            assert again.json() == coupon_error(
                409, message, type="conflict_resource", field="orderCode", detail_type="duplicate_value"
            )
            assert stored(coupons, database_url, code) == (1, 1)


class TestFirstReasonWins:
    def test_the_window_before_everything_else(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(maxRedemptions=1, restrictions={"validUntil": iso_in(-1), "validFor": ["C9"]})
        run_sql(database_url, "UPDATE coupons SET redemption_count = 1 WHERE tenant = $1", coupons.tenant)
        for operation in OPERATIONS:
            response = call(coupons, operation, code, order(), coupons.tokens.anonymous(coupons.tenant))
            assert response.json()["details"][0]["type"] == "coupon_expired"

    def test_eligibility_before_money_before_limits(self, coupons: CouponApi, database_url: str) -> None:
        segment = coupons.create_segment()
        code = coupons.create(
            segmentRestricted=True,
            maxRedemptions=1,
            restrictions={"segments": [segment], "minOrderValue": {"amount": 50, "currency": "USD"}},
        )
        run_sql(database_url, "UPDATE coupons SET redemption_count = 1 WHERE tenant = $1", coupons.tenant)
        assign_customer(database_url, coupons.tenant, segment, "C2")
        for operation in OPERATIONS:
            outsider = call(coupons, operation, code, order(10), coupons.customer_token("C1"))
            assert outsider.json()["details"][0]["type"] == "segment_not_eligible"
            member = call(coupons, operation, code, order(10), coupons.customer_token("C2"))
            assert member.json()["details"][0]["type"] == "min_order_value_not_reached"
            enough = call(coupons, operation, code, order(60), coupons.customer_token("C2"))
            assert enough.json()["details"][0]["type"] == "max_redemptions_reached"

    def test_the_total_limit_before_the_customers(self, coupons: CouponApi, database_url: str) -> None:
        code = coupons.create(maxRedemptions=1, maxRedemptionsPerCustomer=1)
        token = coupons.customer_token("C1")
        assert coupons.redeem(code, token=token).status_code == 201
        for operation in OPERATIONS:
            response = call(coupons, operation, code, ORDER, token)
            assert response.json()["details"][0]["type"] == "max_redemptions_reached"
        assert stored(coupons, database_url, code) == (1, 1)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_discount_above_the_order_total(coupons: CouponApi, database_url: str, operation: str) -> None:
    code = coupons.create(maxRedemptionsPerCustomer=1)
    message = "Validation problem with request body: discount (5 USD) must not be more than orderTotal (4.99 USD)."
    response = call(coupons, operation, code, order(4.99), coupons.customer_token("C1"))
    assert response.status_code == 400
    assert response.json() == reason(message, "discount.amount", "invalid_value")
    assert stored(coupons, database_url, code) == (0, 0)
