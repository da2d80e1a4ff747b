"""A customer who is no longer a contact of a legal entity has no segment memberships in its context: its B2B
assignments for it go with the contact, in the same transaction, and its sessions in that context end.

Before, the rows stayed: a B2C token (no legal-entity context sees every assignment of its customer) still listed
the segments and passed their segment-restricted coupons, and the B2B token kept working."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.coupons.helpers import CouponApi, coupon_error, current_window
from tests.customers.customer_api import CustomerApi
from tests.factories import INVALID_TOKEN, Tokens, run_sql, segment_error
from tests.legal_entities.helpers import Management

EMAIL = "buyer@example.com"


class Shop:
    """One tenant with a legal entity, a customer who is its contact (logged in B2C and B2B), a segment the
    customer is a member of for the legal entity, a B2C segment, and a coupon restricted to the B2B segment."""

    def __init__(self, client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
        self.customers = CustomerApi(client, tokens, tenant)
        self.management = Management(client, tokens, tenant)
        self.coupons = CouponApi(client, tokens, tenant)
        self.tenant = tenant
        self.customer_id = self.customers.signup(EMAIL, firstName="Bo")
        self.legal_entity = self.management.create_legal_entity(id="acme")
        self.contact = self.management.create_contact(self.legal_entity, self.customer_id)
        self.b2b_segment = self.coupons.create_segment(name={"en": "B2B"})
        self.b2c_segment = self.coupons.create_segment(name={"en": "B2C"})
        self.assign(self.b2b_segment, self.legal_entity)
        self.assign(self.b2c_segment, None)
        self.coupon = self.coupons.create(
            segmentRestricted=True, restrictions={**current_window(), "segments": [self.b2b_segment]}
        )
        login = self.customers.logged_in(EMAIL)
        self.b2c_token: str = login["access_token"]
        b2b = self.customers.logged_in(EMAIL)
        refreshed = self.customers.request(
            "GET",
            "/refreshauthtoken",
            token=self.customers.anonymous(),
            params={"refreshToken": b2b["refresh_token"], "legalEntityId": self.legal_entity},
        )
        assert refreshed.status_code == 200, refreshed.text
        self.b2b_token: str = refreshed.json()["access_token"]

    def assign(self, segment_id: str, legal_entity_id: str | None) -> None:
        path = f"/customer-segment/{self.tenant}/segments/{segment_id}/customers/{self.customer_id}"
        if legal_entity_id is not None:
            path += f"/{legal_entity_id}"
        response = self.coupons.client.put(path, json={}, headers={"Authorization": f"Bearer {self.coupons.token}"})
        assert response.status_code in (201, 204), response.text

    def my_segments(self, token: str) -> tuple[int, list[str]]:
        response = self.coupons.client.get(
            f"/customer-segment/{self.tenant}/segments", headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, sorted(s["id"] for s in response.json()) if response.status_code == 200 else []

    def validation(self, token: str) -> tuple[int, Any]:
        response = self.coupons.validate(self.coupon, token=token)
        return response.status_code, response.json() if response.content else None


@pytest.fixture
def shop(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> Shop:
    return Shop(client, tokens, tenant)


def not_eligible(shop: Shop) -> dict[str, Any]:
    message = f"The coupon {shop.coupon} is valid only for members of its active customer segments."
    return coupon_error(
        400, message, type="validation_violation", field="restrictions.segments", detail_type="segment_not_eligible"
    )


def memberships(database_url: str, shop: Shop) -> list[tuple[str, str]]:
    rows = run_sql(
        database_url,
        "SELECT segment_id, legal_entity_id FROM segment_customer_assignments"
        " WHERE tenant = $1 AND customer_id = $2 ORDER BY segment_id",
        shop.tenant,
        shop.customer_id,
    )
    return sorted((r["segment_id"], r["legal_entity_id"]) for r in rows)


def test_before_the_removal_both_tokens_see_the_b2b_membership(shop: Shop) -> None:
    both = sorted([shop.b2b_segment, shop.b2c_segment])
    assert shop.my_segments(shop.b2c_token) == (200, both)
    assert shop.my_segments(shop.b2b_token) == (200, both)
    assert shop.validation(shop.b2c_token)[0] == 200
    assert shop.validation(shop.b2b_token)[0] == 200


def test_removing_the_contact_removes_its_memberships_and_b2b_sessions(shop: Shop, database_url: str) -> None:
    response = shop.management.request("DELETE", f"/contact-assignments/{shop.contact}")
    assert response.status_code == 204, response.text
    assert memberships(database_url, shop) == [(shop.b2c_segment, "")]
    assert shop.my_segments(shop.b2c_token) == (200, [shop.b2c_segment])
    assert shop.validation(shop.b2c_token) == (400, not_eligible(shop))
    # The B2B token's session was in the legal entity's context: it ended with the contact.
    assert shop.validation(shop.b2b_token) == (401, INVALID_TOKEN)
    response = shop.coupons.client.get(
        f"/customer-segment/{shop.tenant}/segments", headers={"Authorization": f"Bearer {shop.b2b_token}"}
    )
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN)


def test_moving_the_assignment_to_another_customer_is_a_removal_too(shop: Shop, database_url: str) -> None:
    other = shop.management.create_customer("other")
    response = shop.management.request(
        "PUT",
        f"/contact-assignments/{shop.contact}",
        json={"legalEntity": {"id": shop.legal_entity}, "customer": {"id": other}, "type": "CONTACT", "primary": False},
    )
    assert response.status_code in (200, 204), response.text
    assert memberships(database_url, shop) == [(shop.b2c_segment, "")]
    assert shop.validation(shop.b2c_token) == (400, not_eligible(shop))


def test_a_contact_of_another_type_keeps_the_memberships(shop: Shop, database_url: str) -> None:
    billing = shop.management.create_contact(shop.legal_entity, shop.customer_id, type="BILLING")
    response = shop.management.request("DELETE", f"/contact-assignments/{shop.contact}")
    assert response.status_code == 204
    assert memberships(database_url, shop) == sorted([(shop.b2b_segment, shop.legal_entity), (shop.b2c_segment, "")])
    assert shop.my_segments(shop.b2b_token)[0] == 200
    response = shop.management.request("DELETE", f"/contact-assignments/{billing}")
    assert response.status_code == 204
    assert memberships(database_url, shop) == [(shop.b2c_segment, "")]


def test_a_former_contact_cannot_be_assigned_in_the_legal_entity_s_context(shop: Shop) -> None:
    shop.management.request("DELETE", f"/contact-assignments/{shop.contact}")
    path = (
        f"/customer-segment/{shop.tenant}/segments/{shop.b2b_segment}/customers/{shop.customer_id}/{shop.legal_entity}"
    )
    response = shop.coupons.client.put(path, json={}, headers={"Authorization": f"Bearer {shop.coupons.token}"})
    assert response.status_code == 400
    assert response.json() == segment_error(
        400,
        f"The customer {shop.customer_id} is not a contact of the legal entity {shop.legal_entity}.",
        field="legalEntityId",
        type="missing_reference",
        resource_id=shop.customer_id,
    )


@pytest.mark.parametrize("deleted", ["the entity", "its parent"])
def test_deleting_the_legal_entity_ends_the_b2b_sessions(shop: Shop, database_url: str, deleted: str) -> None:
    """Deleting a legal entity (or a company above it) removes its contact assignments: its contacts' sessions in
    its context end as they do when a contact is removed, and their other sessions go on."""
    target = shop.legal_entity
    if deleted == "its parent":
        target = shop.management.create_legal_entity(id="holding")
        response = shop.management.request(
            "PUT",
            f"/legal-entities/{shop.legal_entity}",
            json={"name": "acme", "type": "SUBSIDIARY", "parentId": target},
        )
        assert response.status_code in (200, 204), response.text
    response = shop.management.request("DELETE", f"/legal-entities/{target}")
    assert response.status_code == 204, response.text
    assert memberships(database_url, shop) == [(shop.b2c_segment, "")]
    assert shop.validation(shop.b2b_token) == (401, INVALID_TOKEN)
    response = shop.customers.request("GET", "/validateauthtoken", token=shop.b2b_token)
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN)
    assert shop.my_segments(shop.b2c_token) == (200, [shop.b2c_segment])
