"""POST /coupons/{code}/validation and /redemptions: every reason a coupon cannot be redeemed, who redeems, and the
legal-entity context."""

from __future__ import annotations

from typing import Any

import pytest
from tests.coupons.helpers import ORDER, CouponApi, current_window, forbidden, iso_in, not_found, not_redeemable
from tests.factories import assign_customer, make_contact, run_sql

OPERATIONS = ("validation", "redemptions")


def order(
    total: float = 100, currency: str = "USD", discount_currency: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "orderTotal": {"amount": total, "currency": currency},
        "discount": {"amount": 5, "currency": discount_currency or currency},
        **extra,
    }


def call(
    coupons: CouponApi, operation: str, code: str, body: dict[str, Any] | None = None, *, token: str | None = None
) -> Any:
    return coupons.request("POST", f"/coupons/{code}/{operation}", json=ORDER if body is None else body, token=token)


@pytest.mark.parametrize("operation", OPERATIONS)
class TestReasons:
    def test_not_yet_valid_and_expired(self, coupons: CouponApi, operation: str) -> None:
        later = coupons.create(restrictions={"validFrom": iso_in(1)})
        past = coupons.create(restrictions={"validUntil": iso_in(-1)})
        token = coupons.customer_token("C1")
        response = call(coupons, operation, later, token=token)
        not_redeemable(response, "coupon_not_yet_valid")
        assert response.json()["details"][0]["field"] == "restrictions.validFrom"
        not_redeemable(call(coupons, operation, past, token=token), "coupon_expired")

    def test_anonymous_not_allowed(self, coupons: CouponApi, operation: str) -> None:
        code = coupons.create()
        not_redeemable(
            call(coupons, operation, code, token=coupons.tokens.anonymous(coupons.tenant)), "anonymous_not_allowed"
        )
        # A service token without customerNumber redeems for no customer: a guest checkout.
        not_redeemable(call(coupons, operation, code), "anonymous_not_allowed")

    def test_customer_not_eligible(self, coupons: CouponApi, operation: str) -> None:
        code = coupons.create(restrictions={"validFor": ["C1"]})
        not_redeemable(call(coupons, operation, code, token=coupons.customer_token("C2")), "customer_not_eligible")
        assert call(coupons, operation, code, token=coupons.customer_token("C1")).status_code in (200, 201)

    def test_min_order_value_not_reached(self, coupons: CouponApi, operation: str) -> None:
        code = coupons.create(restrictions={"minOrderValue": {"amount": 49.99, "currency": "USD"}})
        token = coupons.customer_token("C1")
        not_redeemable(call(coupons, operation, code, order(49.98), token=token), "min_order_value_not_reached")
        assert call(coupons, operation, code, order(49.99), token=token).status_code in (200, 201)

    def test_currency_mismatch(self, coupons: CouponApi, operation: str) -> None:
        euro = coupons.create(discountAbsolute={"amount": 5, "currency": "EUR"})
        minimum = coupons.create(
            discountType="PERCENT",
            discountPercentage=5,
            restrictions={"minOrderValue": {"amount": 1, "currency": "EUR"}},
        )
        plain = coupons.create()
        token = coupons.customer_token("C1")
        not_redeemable(call(coupons, operation, euro, order(), token=token), "currency_mismatch")
        not_redeemable(call(coupons, operation, minimum, order(), token=token), "currency_mismatch")
        not_redeemable(
            call(coupons, operation, plain, order(discount_currency="EUR"), token=token), "currency_mismatch"
        )

    def test_segment_not_eligible(self, coupons: CouponApi, database_url: str, operation: str) -> None:
        active = coupons.create_segment()
        inactive = coupons.create_segment(status="INACTIVE")
        over = coupons.create_segment(validity={"from": iso_in(-30), "to": iso_in(-1)})
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [active, inactive, over]})
        assign_customer(database_url, coupons.tenant, inactive, "C1")
        assign_customer(database_url, coupons.tenant, over, "C1")
        assign_customer(database_url, coupons.tenant, active, "C2")
        not_redeemable(call(coupons, operation, code, token=coupons.customer_token("C1")), "segment_not_eligible")
        not_redeemable(
            call(coupons, operation, code, token=coupons.tokens.anonymous(coupons.tenant)), "anonymous_not_allowed"
        )
        assert call(coupons, operation, code, token=coupons.customer_token("C2")).status_code in (200, 201)


class TestLimits:
    def test_max_redemptions_reached(self, coupons: CouponApi) -> None:
        code = coupons.create(maxRedemptions=2)
        for customer in ("C1", "C2"):
            assert coupons.redeem(code, token=coupons.customer_token(customer)).status_code == 201
        not_redeemable(coupons.validate(code, token=coupons.customer_token("C3")), "max_redemptions_reached")
        not_redeemable(coupons.redeem(code, token=coupons.customer_token("C3")), "max_redemptions_reached")
        assert coupons.get(code)["redemptionCount"] == 2

    def test_validation_redeems_nothing(self, coupons: CouponApi) -> None:
        code = coupons.create(maxRedemptions=1)
        for _ in range(3):
            response = coupons.validate(code, token=coupons.customer_token("C1"))
            assert response.status_code == 200
            assert response.content == b""
        assert coupons.get(code)["redemptionCount"] == 0

    def test_max_redemptions_per_customer_reached(self, coupons: CouponApi) -> None:
        code = coupons.create(maxRedemptionsPerCustomer=2)
        token = coupons.customer_token("C1")
        assert [coupons.redeem(code, token=token).status_code for _ in range(2)] == [201, 201]
        not_redeemable(coupons.redeem(code, token=token), "max_redemptions_per_customer_reached")
        not_redeemable(coupons.validate(code, token=token), "max_redemptions_per_customer_reached")
        assert coupons.redeem(code, token=coupons.customer_token("C2")).status_code == 201

    def test_per_customer_limits_count_per_legal_entity(self, coupons: CouponApi, database_url: str) -> None:
        make_contact(database_url, coupons.tenant, "L1", "C1")
        make_contact(database_url, coupons.tenant, "L2", "C1")
        code = coupons.create(maxRedemptionsPerCustomer=1)
        token = coupons.customer_token("C1", "L1")
        assert coupons.redeem(code, token=token).status_code == 201  # the token's legal entity: L1
        not_redeemable(
            coupons.redeem(code, order(legalEntityId="L1"), token=token), "max_redemptions_per_customer_reached"
        )
        assert coupons.redeem(code, order(legalEntityId="L2"), token=token).status_code == 201
        stored = coupons.get(code)
        assert stored["legalEntityRedemptions"] == [
            {"legalEntityId": "L1", "count": 1},
            {"legalEntityId": "L2", "count": 1},
        ]


class TestRedeemer:
    def test_customer_tokens_redeem_for_themselves_only(self, coupons: CouponApi) -> None:
        code = coupons.create()
        token = coupons.customer_token("C1")
        assert coupons.redeem(code, order(customerNumber="C1"), token=token).status_code == 201
        for operation in OPERATIONS:
            response = call(coupons, operation, code, order(customerNumber="C2"), token=token)
            assert response.status_code == 403
            assert response.json() == forbidden(
                "Acting for another customer (customerNumber) needs the coupon.coupon_redeem_on_behalf scope."
            )

    def test_on_behalf_needs_its_scope_and_an_existing_customer(self, coupons: CouponApi) -> None:
        customer = coupons.create_customer(contactEmail="c@example.com")
        code = coupons.create(restrictions={"validFor": [customer]})
        body = order(customerNumber=customer, orderCode="O-1")
        manage_only = coupons.service_token("coupon.coupon_manage")
        assert coupons.redeem(code, body, token=manage_only).status_code == 403
        on_behalf = coupons.service_token("coupon.coupon_redeem_on_behalf")
        assert coupons.validate(code, body, token=on_behalf).status_code == 200
        response = coupons.redeem(code, body, token=on_behalf)
        assert response.status_code == 201
        redemption = coupons.request("GET", f"/coupons/{code}/redemptions/{response.json()['id']}").json()
        assert redemption["customerNumber"] == customer
        assert redemption["orderCode"] == "O-1"
        unknown = coupons.redeem(code, order(customerNumber="nobody"), token=on_behalf)
        assert unknown.status_code == 400
        assert unknown.json()["details"][0] == {
            "field": "customerNumber",
            "type": "missing_reference",
            "message": unknown.json()["message"],
        }

    def test_anonymous_coupons_take_guests(self, coupons: CouponApi) -> None:
        code = coupons.create(allowAnonymous=True)
        assert coupons.validate(code, token=coupons.tokens.anonymous(coupons.tenant)).status_code == 200
        response = coupons.redeem(code, token=coupons.tokens.anonymous(coupons.tenant))
        assert response.status_code == 201
        redemption = coupons.request("GET", f"/coupons/{code}/redemptions/{response.json()['id']}").json()
        assert "customerNumber" not in redemption
        guest_with_entity = coupons.redeem(
            code, order(legalEntityId="L1"), token=coupons.tokens.anonymous(coupons.tenant)
        )
        assert guest_with_entity.status_code == 400

    def test_a_legal_entity_the_customer_is_not_in_is_403(self, coupons: CouponApi, database_url: str) -> None:
        make_contact(database_url, coupons.tenant, "L1", "C1")
        make_contact(database_url, coupons.tenant, "L2", "C2")
        code = coupons.create()
        for operation in OPERATIONS:
            response = call(coupons, operation, code, order(legalEntityId="L2"), token=coupons.customer_token("C1"))
            assert response.status_code == 403
            assert response.json() == forbidden("The customer C1 is not a contact of legal entity L2.")

    def test_an_order_redeems_a_coupon_once(self, coupons: CouponApi) -> None:
        code = coupons.create()
        token = coupons.customer_token("C1")
        assert coupons.redeem(code, order(orderCode="O-1"), token=token).status_code == 201
        again = coupons.redeem(code, order(orderCode="O-1"), token=token)
        assert again.status_code == 409
        assert again.json()["type"] == "conflict_resource"
        assert coupons.get(code)["redemptionCount"] == 1


class TestSegmentContext:
    def test_memberships_follow_the_legal_entity_context(self, coupons: CouponApi, database_url: str) -> None:
        segment = coupons.create_segment()
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment]})
        make_contact(database_url, coupons.tenant, "L1", "C1")
        make_contact(database_url, coupons.tenant, "L2", "C1")
        assign_customer(database_url, coupons.tenant, segment, "C1", "L1")
        token = coupons.customer_token("C1")
        assert coupons.validate(code, token=token).status_code == 200  # no context: every assignment counts
        assert coupons.validate(code, order(legalEntityId="L1"), token=token).status_code == 200
        not_redeemable(coupons.validate(code, order(legalEntityId="L2"), token=token), "segment_not_eligible")
        not_redeemable(coupons.validate(code, token=coupons.customer_token("C1", "L2")), "segment_not_eligible")
        # A B2C assignment counts in every legal-entity context.
        assign_customer(database_url, coupons.tenant, segment, "C1")
        assert coupons.validate(code, order(legalEntityId="L2"), token=token).status_code == 200

    def test_a_deleted_segment_no_longer_admits(self, coupons: CouponApi, database_url: str) -> None:
        segment = coupons.create_segment()
        code = coupons.create(segmentRestricted=True, restrictions={"segments": [segment]})
        assign_customer(database_url, coupons.tenant, segment, "C1")
        assert coupons.validate(code, token=coupons.customer_token("C1")).status_code == 200
        run_sql(database_url, "DELETE FROM segments WHERE tenant = $1", coupons.tenant)
        not_redeemable(coupons.validate(code, token=coupons.customer_token("C1")), "segment_not_eligible")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_unknown_coupons_and_malformed_bodies(coupons: CouponApi, operation: str) -> None:
    token = coupons.customer_token("C1")
    assert call(coupons, operation, "NOPE", token=token).json() == not_found("NOPE")
    code = coupons.create(restrictions=current_window())
    for body in (
        {},
        {"orderTotal": {"amount": 1}},
        {**ORDER, "discount": {"amount": -1}},
        {**ORDER, "orderTotal": {"amount": 1, "currency": "dollars"}},
        {**ORDER, "customerNumber": 7},
    ):
        response = call(coupons, operation, code, body, token=token)
        assert response.status_code == 400, body
        assert response.json()["type"] == "validation_violation"
    assert coupons.get(code)["redemptionCount"] == 0


class TestPerCustomerLimitWithoutContext:
    def test_without_a_context_every_redemption_of_the_customer_counts(
        self, coupons: CouponApi, database_url: str
    ) -> None:
        make_contact(database_url, coupons.tenant, "L1", "C1")
        code = coupons.create(maxRedemptionsPerCustomer=1)
        token = coupons.customer_token("C1")  # no legal entity in the token
        assert coupons.redeem(code, order(legalEntityId="L1"), token=token).status_code == 201
        for operation in OPERATIONS:
            not_redeemable(call(coupons, operation, code, order(), token=token), "max_redemptions_per_customer_reached")

    def test_with_a_context_only_that_legal_entitys_count(self, coupons: CouponApi, database_url: str) -> None:
        make_contact(database_url, coupons.tenant, "L1", "C1")
        code = coupons.create(maxRedemptionsPerCustomer=1)
        token = coupons.customer_token("C1")
        assert coupons.redeem(code, order(), token=token).status_code == 201
        assert coupons.redeem(code, order(legalEntityId="L1"), token=token).status_code == 201
        not_redeemable(
            coupons.redeem(code, order(legalEntityId="L1"), token=token), "max_redemptions_per_customer_reached"
        )


@pytest.mark.parametrize("operation", OPERATIONS)
class TestUnknownCouponComesFirst:
    def test_a_legal_entity_of_someone_else(self, coupons: CouponApi, database_url: str, operation: str) -> None:
        make_contact(database_url, coupons.tenant, "L2", "C2")
        response = call(coupons, operation, "NOPE", order(legalEntityId="L2"), token=coupons.customer_token("C1"))
        assert response.json() == not_found("NOPE")

    def test_another_customer_without_on_behalf(self, coupons: CouponApi, operation: str) -> None:
        response = call(coupons, operation, "NOPE", order(customerNumber="C2"), token=coupons.customer_token("C1"))
        assert response.json() == not_found("NOPE")

    def test_a_customer_number_that_names_nobody(self, coupons: CouponApi, operation: str) -> None:
        token = coupons.service_token("coupon.coupon_redeem_on_behalf")
        response = call(coupons, operation, "NOPE", order(customerNumber="nobody"), token=token)
        assert response.json() == not_found("NOPE")

    def test_a_deleted_coupon(self, coupons: CouponApi, operation: str) -> None:
        code = coupons.create()
        assert coupons.request("DELETE", f"/coupons/{code}").status_code == 204
        response = call(coupons, operation, code, order(legalEntityId="L9"), token=coupons.customer_token("C1"))
        assert response.json() == not_found(code)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_discount_above_the_order_total_is_400(coupons: CouponApi, operation: str) -> None:
    code = coupons.create()
    token = coupons.customer_token("C1")
    body = {"orderTotal": {"amount": 4.99, "currency": "USD"}, "discount": {"amount": 5, "currency": "USD"}}
    response = call(coupons, operation, code, body, token=token)
    message = "Validation problem with request body: discount (5 USD) must not be more than orderTotal (4.99 USD)."
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "type": "validation_violation",
        "message": message,
        "details": [{"field": "discount.amount", "type": "invalid_value", "message": message}],
    }
    whole = {"orderTotal": {"amount": 5, "currency": "USD"}, "discount": {"amount": 5, "currency": "USD"}}
    assert call(coupons, operation, code, whole, token=token).status_code in (200, 201)
    assert coupons.get(code)["redemptionCount"] == (1 if operation == "redemptions" else 0)
