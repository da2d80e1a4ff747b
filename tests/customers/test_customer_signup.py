"""POST /customer/{tenant}/signup (customer-login.yml): a customer creates an account with an anonymous token."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import (
    NEEDS_ANONYMOUS,
    PASSWORD,
    CustomerApi,
    assert_token_refused,
    bad_request,
    body_error,
    customer_error,
    missing_field,
)
from tests.factories import ISO_MILLIS, Tokens

#: customer-login.yml's "Create account" example.
EXAMPLE: dict[str, Any] = {
    "email": "example@customer.com",
    "password": "password123",
    "customerDetails": {
        "title": "MR",
        "firstName": "John",
        "middleName": "",
        "lastName": "Doe",
        "contactEmail": "example@customer.com",
        "contactPhone": "123456789",
        "company": "Emporix",
        "preferredLanguage": "en_US",
        "preferredCurrency": "EUR",
        "preferredSite": "main",
        "b2b": {"companyRegistrationId": "123-456-789"},
    },
    "customerAddress": {
        "contactName": "John Doe",
        "companyName": "Emporix",
        "street": "Platz der Republik",
        "streetNumber": "1",
        "zipCode": "11011",
        "city": "Berlin",
        "country": "DE",
        "state": "Berlin",
        "contactPhone": "123456789",
        "tags": ["BILLING", "SHIPPING"],
    },
}
REFUSALS = (
    "no token",
    "garbage token",
    "expired anonymous token",
    "other tenant anonymous token",
    "service token",
    "customer token",
)


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    return CustomerApi(client, tokens, tenant)


def signup(api: CustomerApi, body: Any, **kwargs: Any) -> Any:
    return api.request("POST", "/signup", token=api.anonymous(), json=body, **kwargs)


def all_customers(api: CustomerApi) -> list[dict[str, Any]]:
    response = api.request("GET", "/customers")
    assert response.status_code == 200, response.text
    customers: list[dict[str, Any]] = response.json()
    return customers


class TestSignup:
    @pytest.mark.parametrize("case", REFUSALS)
    def test_refused_and_nothing_stored(self, api: CustomerApi, app: Litestar, case: str) -> None:
        assert_token_refused(api, app, case, "POST", "/signup", forbidden_message=NEEDS_ANONYMOUS, json=EXAMPLE)
        assert all_customers(api) == []

    def test_spec_example(self, api: CustomerApi) -> None:
        response = signup(api, EXAMPLE)
        assert response.status_code == 201, response.text
        customer_id = response.json()["id"]
        assert response.json() == {"id": customer_id}
        assert api.get_customer(customer_id) == {
            "id": customer_id,
            "customerNumber": customer_id,
            "contactEmail": "example@customer.com",
            "title": "MR",
            "firstName": "John",
            "lastName": "Doe",
            "company": "Emporix",
            "preferredLanguage": "en_US",
            "active": True,
            "metadata": {"version": 1, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
        }
        assert api.login("example@customer.com", "password123").status_code == 200

    def test_email_and_password_are_enough(self, api: CustomerApi) -> None:
        customer_id = api.signup("jo@example.com")
        assert api.get_customer(customer_id)["contactEmail"] == "jo@example.com"
        assert api.logged_in("jo@example.com")["initialPassword"] is False

    def test_mixins_of_a_new_customer(self, api: CustomerApi) -> None:
        customer_id = api.signup(
            "jo@example.com",
            mixins={"prefs": {"news": True}},
            metadata={"mixins": {"prefs": "https://example.com/prefs.json"}},
        )
        doc = api.get_customer(customer_id, expand="mixin:*")
        assert doc["mixins"] == {"prefs": {"news": True}}
        assert doc["metadata"]["mixins"] == {"prefs": "https://example.com/prefs.json"}

    @pytest.mark.parametrize("email", ["jo@example.com", "JO@Example.COM"])
    def test_email_with_a_password_is_409(self, api: CustomerApi, email: str) -> None:
        api.signup("jo@example.com", firstName="First")
        response = signup(api, {"email": email, "password": "another1"})
        assert response.status_code == 409
        message = f"Duplicate account '{email}' for tenant '{api.tenant}'."
        assert response.json() == customer_error(
            409, message, type="conflict_resource", field="email", detail_type="duplicate_value"
        )
        assert [c["firstName"] for c in all_customers(api)] == ["First"]
        assert api.login("jo@example.com", "another1").status_code == 401

    def test_tenant_set_initial_password_is_409(self, api: CustomerApi) -> None:
        api.create_customer(contactEmail="jo@example.com", password="initial1")
        assert signup(api, {"email": "jo@example.com", "password": PASSWORD}).status_code == 409
        assert api.login("jo@example.com", "initial1").status_code == 200

    def test_completes_a_tenant_managed_customer_without_password(self, api: CustomerApi) -> None:
        api.create_customer(
            id="c1",
            contactEmail="Jo@Example.com",
            firstName="Old",
            company="Acme",
            active=True,
            mixins={"crm": {"segment": "gold"}},
        )
        response = signup(
            api,
            {
                "email": "jo@example.com",
                "password": PASSWORD,
                "customerDetails": {"firstName": "Jo", "lastName": "Doe", "mixins": {"x": 1}},
            },
        )
        assert response.status_code == 201
        assert response.json() == {"id": "c1"}
        assert api.get_customer("c1", expand="mixin:*") == {
            "id": "c1",
            "customerNumber": "c1",
            "contactEmail": "Jo@Example.com",
            "firstName": "Jo",
            "lastName": "Doe",
            "company": "Acme",
            "active": True,
            "mixins": {"crm": {"segment": "gold"}},
            "metadata": {"version": 2, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
        }
        assert len(all_customers(api)) == 1
        assert api.logged_in("jo@example.com")["initialPassword"] is False
        assert signup(api, {"email": "jo@example.com", "password": PASSWORD}).status_code == 409

    def test_same_email_in_another_tenant(self, api: CustomerApi, client: TestClient[Litestar], tokens: Tokens) -> None:
        api.signup("jo@example.com")
        other = CustomerApi(client, tokens, "o" + api.tenant[1:])
        other.signup("jo@example.com", password="different1")
        assert api.login("jo@example.com", "different1").status_code == 401
        assert other.login("jo@example.com", "different1").status_code == 200

    def test_contact_email_must_match(self, api: CustomerApi) -> None:
        response = signup(
            api,
            {"email": "jo@example.com", "password": PASSWORD, "customerDetails": {"contactEmail": "other@example.com"}},
        )
        assert response.status_code == 400
        assert response.json() == bad_request(
            "customerDetails.contactEmail must be the same as email.", field="customerDetails.contactEmail"
        )
        assert all_customers(api) == []

    def test_separate_signup_credentials_are_refused(self, api: CustomerApi) -> None:
        response = signup(api, {**EXAMPLE, "signup": {"email": "login@example.com", "password": "password1234"}})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "Separate sign-up credentials are not supported: customers log in with `email`, which is also their "
            "contactEmail. Leave `signup` out.",
            field="signup",
            type="not_supported",
        )
        assert all_customers(api) == []

    def test_invalid_email_is_400(self, api: CustomerApi) -> None:
        response = signup(api, {"email": "not-an-email", "password": PASSWORD})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "Invalid email 'not-an-email': expected an email address such as john.doe@example.com.", field="email"
        )

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"email": "", "password": PASSWORD}, "Expected `str` of length >= 1", "email"),
            ({"email": "jo@example.com", "password": "12345"}, "Expected `str` of length >= 6", "password"),
            ({"email": 5, "password": PASSWORD}, "Expected `str`, got `int`", "email"),
            (
                {"email": "jo@example.com", "password": PASSWORD, "customerDetails": []},
                "Expected `object | null`, got `array`",
                "customerDetails",
            ),
            (
                {"email": "jo@example.com", "password": PASSWORD, "customerDetails": {"firstName": 1}},
                "Expected `str | null`, got `int`",
                "customerDetails.firstName",
            ),
        ],
    )
    def test_invalid_body(self, api: CustomerApi, body: dict[str, Any], message: str, field: str) -> None:
        response = signup(api, body)
        assert response.status_code == 400
        assert response.json() == body_error(message, field)
        assert all_customers(api) == []

    @pytest.mark.parametrize("field", ["email", "password"])
    def test_missing_required_field(self, api: CustomerApi, field: str) -> None:
        body = {"email": "jo@example.com", "password": PASSWORD}
        del body[field]
        response = signup(api, body)
        assert response.status_code == 400
        assert response.json() == missing_field(field)
        assert all_customers(api) == []

    def test_malformed_json(self, api: CustomerApi) -> None:
        response = api.request(
            "POST", "/signup", token=api.anonymous(), content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == bad_request(
            "JSON is malformed: object keys must be strings (byte 1)", type="validation_violation"
        )
