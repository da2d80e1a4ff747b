"""Single-customer operations of customer.yml over HTTP: POST /customers, GET/PUT /customers/{customerNumber}.

PATCH is in test_customers_patch.py, DELETE in test_customers_delete.py, lists and search in test_customers_list.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import (
    MANAGE,
    READ,
    CustomerApi,
    bad_request,
    body_error,
    customer_error,
    not_found,
)
from tests.factories import ISO_MILLIS, SERVICE_TOKEN_FAILURES, Tokens, assert_refused

#: The spec's create example (CustomerSignupBySellerDto), with the fields this project does not store.
EXAMPLE = {
    "contactEmail": "john.doe@emporix.com",
    "title": "MR",
    "firstName": "John",
    "lastName": "Doe",
    "contactPhone": "123456789",
    "company": "Emporix",
    "preferredLanguage": "en_US",
    "preferredCurrency": "EUR",
    "preferredSite": "main",
    "b2b": {"companyRegistrationId": "123-456-789"},
}
STORED = {
    "contactEmail": "john.doe@emporix.com",
    "title": "MR",
    "firstName": "John",
    "lastName": "Doe",
    "company": "Emporix",
    "preferredLanguage": "en_US",
    "active": True,
}
RESERVED = ("bulk", "import", "search")


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    return CustomerApi(client, tokens, tenant)


def metadata(version: int = 1, **extra: Any) -> dict[str, Any]:
    return {"version": version, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS, **extra}


def no_customers(api: CustomerApi) -> bool:
    response = api.request("GET", "/customers")
    assert response.status_code == 200, response.text
    return bool(response.json() == [])


class TestCreateCustomer:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused_and_nothing_stored(self, api: CustomerApi, case: str) -> None:
        assert_refused(api, case, "POST", "/customers", required=MANAGE, json={"id": "nope", **EXAMPLE})
        assert no_customers(api)

    def test_spec_example_and_stored_document(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers", json=EXAMPLE)
        assert response.status_code == 201, response.text
        body = response.json()
        assert list(body) == ["id"]
        assert re.fullmatch(r"[0-9a-f]{24}", body["id"])
        assert api.get_customer(body["id"]) == {
            "id": body["id"],
            "customerNumber": body["id"],
            **STORED,
            "metadata": metadata(),
        }

    def test_empty_body_makes_an_empty_active_profile(self, api: CustomerApi) -> None:
        customer_id = api.create_customer()
        assert api.get_customer(customer_id) == {
            "id": customer_id,
            "customerNumber": customer_id,
            "active": True,
            "metadata": metadata(),
        }

    def test_created_and_modified_at_are_equal(self, api: CustomerApi) -> None:
        doc = api.get_customer(api.create_customer())
        assert doc["metadata"]["createdAt"] == doc["metadata"]["modifiedAt"]

    @pytest.mark.parametrize("customer_id", ["C-1_x", "x" * 66, "13869000"])
    def test_custom_id(self, api: CustomerApi, customer_id: str) -> None:
        assert api.create_customer(id=customer_id) == customer_id
        assert api.get_customer(customer_id)["customerNumber"] == customer_id

    def test_inactive_on_create(self, api: CustomerApi) -> None:
        assert api.get_customer(api.create_customer(active=False))["active"] is False

    def test_version_sent_on_create_is_ignored(self, api: CustomerApi) -> None:
        assert api.get_customer(api.create_customer(metadata={"version": 7}))["metadata"]["version"] == 1

    def test_nulls_are_left_out(self, api: CustomerApi) -> None:
        customer_id = api.create_customer(firstName=None, contactEmail=None, mixins=None, metadata=None)
        assert set(api.get_customer(customer_id)) == {"id", "customerNumber", "active", "metadata"}

    def test_duplicate_id_is_409_and_keeps_the_first(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", firstName="First")
        response = api.request("POST", "/customers", json={"id": "c1", "firstName": "Second"})
        assert response.status_code == 409
        assert response.json() == customer_error(
            409,
            "A customer with id 'c1' already exists.",
            type="conflict_resource",
            field="id",
            detail_type="duplicate_value",
        )
        assert api.get_customer("c1")["firstName"] == "First"

    @pytest.mark.parametrize("email", ["john.doe@emporix.com", "John.Doe@Emporix.COM"])
    def test_duplicate_email_is_409_whatever_its_case(self, api: CustomerApi, email: str) -> None:
        api.create_customer(**EXAMPLE)
        response = api.request("POST", "/customers", json={"contactEmail": email})
        assert response.status_code == 409
        message = f"Duplicate account '{email}' for tenant '{api.tenant}'."
        assert response.json() == customer_error(
            409, message, type="conflict_resource", field="contactEmail", detail_type="duplicate_value"
        )
        assert len(api.request("GET", "/customers").json()) == 1

    def test_same_email_in_another_tenant_is_fine(
        self, api: CustomerApi, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        api.create_customer(**EXAMPLE)
        other = CustomerApi(client, tokens, "o" + api.tenant[1:])
        assert other.create_customer(**EXAMPLE)

    def test_email_keeps_its_case(self, api: CustomerApi) -> None:
        assert api.get_customer(api.create_customer(contactEmail="Jane.Doe@Example.com"))["contactEmail"] == (
            "Jane.Doe@Example.com"
        )

    @pytest.mark.parametrize("email", ["", "plain", "a@", "@b", "a b@c.d", "a@b@c"])
    def test_invalid_email_is_400(self, api: CustomerApi, email: str) -> None:
        response = api.request("POST", "/customers", json={"contactEmail": email})
        assert response.status_code == 400
        assert response.json() == bad_request(
            f"Invalid contactEmail '{email}': expected an email address such as john.doe@example.com.",
            field="contactEmail",
        )
        assert no_customers(api)

    @pytest.mark.parametrize("customer_id", RESERVED)
    def test_reserved_id_is_400(self, api: CustomerApi, customer_id: str) -> None:
        response = api.request("POST", "/customers", json={"id": customer_id})
        assert response.status_code == 400
        assert response.json() == bad_request(
            f"Invalid id '{customer_id}': it is reserved by the API's paths (bulk, import, search).", field="id"
        )

    @pytest.mark.parametrize("customer_id", ["", "a b", "x" * 67, "ä"])
    def test_invalid_id_is_400(self, api: CustomerApi, customer_id: str) -> None:
        response = api.request("POST", "/customers", json={"id": customer_id})
        assert response.status_code == 400
        assert response.json() == bad_request(
            f"Invalid id '{customer_id}': use 1 to 66 characters of letters, digits, '_' and '-'.", field="id"
        )
        assert no_customers(api)

    def test_initial_password_lets_the_customer_log_in(self, api: CustomerApi) -> None:
        api.create_customer(contactEmail="jo@example.com", password="initial1")
        body = api.logged_in("jo@example.com", "initial1")
        assert body["initialPassword"] is True

    def test_short_password_is_400(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers", json={"contactEmail": "jo@example.com", "password": "12345"})
        assert response.status_code == 400
        assert response.json() == body_error("Expected `str` of length >= 6", "password")
        assert no_customers(api)

    def test_malformed_json(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers", content=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "JSON is malformed: object keys must be strings (byte 1)", type="validation_violation"
        )

    def test_missing_body(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers")
        assert response.status_code == 400
        assert response.json() == bad_request(
            "The request body is missing; send a JSON body.", type="validation_violation"
        )

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"firstName": 5}, "Expected `str | null`, got `int`", "firstName"),
            ({"firstName": "x" * 257}, "Expected `str` of length <= 256", "firstName"),
            ({"contactEmail": ["a@b.c"]}, "Expected `str | null`, got `array`", "contactEmail"),
            ({"active": "yes"}, "Expected `bool`, got `str`", "active"),
            ({"mixins": [1]}, "Expected `object | null`, got `array`", "mixins"),
            ({"metadata": {"version": "x"}}, "Expected `int`, got `str`", "metadata.version"),
            ({"id": 5}, "Expected `str`, got `int`", "id"),
            ({"password": 123456}, "Expected `str`, got `int`", "password"),
        ],
    )
    def test_wrong_types(self, api: CustomerApi, body: dict[str, Any], message: str, field: str) -> None:
        response = api.request("POST", "/customers", json=body)
        assert response.status_code == 400
        assert response.json() == body_error(message, field)
        assert no_customers(api)

    def test_body_must_be_an_object(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers", json=[EXAMPLE])
        assert response.status_code == 400
        assert response.json() == body_error("Expected `object`, got `array`")

    def test_nul_character_is_400(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers", json={"firstName": "a\u0000b"})
        assert response.status_code == 400
        assert response.json() == bad_request("Invalid input: text cannot contain the NUL character (\\u0000).")
        assert no_customers(api)

    def test_send_password_reset_notifications_is_accepted(self, api: CustomerApi) -> None:
        response = api.request("POST", "/customers", params={"sendPasswordResetNotifications": "false"}, json={})
        assert response.status_code == 201, response.text


class TestGetCustomer:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused(self, api: CustomerApi, case: str) -> None:
        api.create_customer(id="c1")
        assert_refused(api, case, "GET", "/customers/c1", required=READ)

    def test_read_scope_alone_is_enough(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", **EXAMPLE)
        response = api.request("GET", "/customers/c1", token=api.tokens.service(api.tenant, READ))
        assert response.status_code == 200
        assert response.json() == {"id": "c1", "customerNumber": "c1", **STORED, "metadata": metadata()}

    def test_unknown_is_404(self, api: CustomerApi) -> None:
        response = api.request("GET", "/customers/nobody")
        assert response.status_code == 404
        assert response.json() == not_found("nobody")

    def test_another_tenants_customer_is_404(
        self, api: CustomerApi, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        CustomerApi(client, tokens, "o" + api.tenant[1:]).create_customer(id="theirs")
        assert api.request("GET", "/customers/theirs").json() == not_found("theirs")

    @pytest.mark.parametrize(
        ("expand", "mixins"),
        [
            (None, None),
            ("addresses", None),
            ("mixin:*", {"loyalty": {"level": 3}, "prefs": {"news": True}}),
            ("addresses,mixin:*", {"loyalty": {"level": 3}, "prefs": {"news": True}}),
            ("mixin:loyalty", {"loyalty": {"level": 3}}),
            ("mixin:loyalty,mixin:nothing", {"loyalty": {"level": 3}}),
        ],
    )
    def test_mixins_only_when_expanded(self, api: CustomerApi, expand: str | None, mixins: Any) -> None:
        api.create_customer(
            id="c1",
            mixins={"loyalty": {"level": 3}, "prefs": {"news": True}},
            metadata={"mixins": {"loyalty": "https://example.com/loyalty.json"}},
        )
        doc = api.get_customer("c1", **({} if expand is None else {"expand": expand}))
        assert doc.get("mixins") == mixins
        assert doc["metadata"] == metadata(mixins={"loyalty": "https://example.com/loyalty.json"})

    @pytest.mark.parametrize("expand", ["mixins", "mixin:", "foo"])
    def test_invalid_expand_is_400(self, api: CustomerApi, expand: str) -> None:
        api.create_customer(id="c1")
        response = api.request("GET", "/customers/c1", params={"expand": expand})
        assert response.status_code == 400
        assert response.json() == bad_request(
            f"Invalid expand '{expand}': use mixin:* (or mixin:<name>), addresses or accounts.",
            field="expand",
            type="invalid_query_parameter",
        )


class TestUpsertCustomer:
    @pytest.mark.parametrize("case", SERVICE_TOKEN_FAILURES)
    def test_refused_and_nothing_stored(self, api: CustomerApi, case: str) -> None:
        assert_refused(api, case, "PUT", "/customers/c1", required=MANAGE, json=EXAMPLE)
        assert api.request("GET", "/customers/c1").status_code == 404

    def test_spec_example_creates_when_absent(self, api: CustomerApi) -> None:
        response = api.request("PUT", "/customers/13869000", json={"contactEmail": "example@customer.com"})
        assert response.status_code == 201
        assert response.json() == {"id": "13869000"}
        assert api.get_customer("13869000") == {
            "id": "13869000",
            "customerNumber": "13869000",
            "contactEmail": "example@customer.com",
            "active": True,
            "metadata": metadata(),
        }

    def test_is_a_full_replace_when_present(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", active=False, mixins={"a": {"b": 1}}, **EXAMPLE)
        created = api.get_customer("c1")["metadata"]["createdAt"]
        response = api.request("PUT", "/customers/c1", json={"contactEmail": "new@example.com", "lastName": "Roe"})
        assert response.status_code == 204
        assert response.content == b""
        assert api.get_customer("c1", expand="mixin:*") == {
            "id": "c1",
            "customerNumber": "c1",
            "contactEmail": "new@example.com",
            "lastName": "Roe",
            "active": True,
            "metadata": {"version": 2, "createdAt": created, "modifiedAt": ISO_MILLIS},
        }

    def test_matching_version_updates(self, api: CustomerApi) -> None:
        api.create_customer(id="c1")
        response = api.request("PUT", "/customers/c1", json={"firstName": "A", "metadata": {"version": 1}})
        assert response.status_code == 204
        assert api.get_customer("c1")["metadata"]["version"] == 2

    def test_stale_version_is_409_and_nothing_changes(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", firstName="A")
        before = api.get_customer("c1")
        response = api.request("PUT", "/customers/c1", json={"firstName": "B", "metadata": {"version": 3}})
        assert response.status_code == 409
        assert response.json() == customer_error(
            409, "The resource you are attempting to access has changed.", type="conflict_resource"
        )
        assert api.get_customer("c1") == before

    def test_omitted_version_means_no_lock(self, api: CustomerApi) -> None:
        api.create_customer(id="c1")
        for _ in range(3):
            assert api.request("PUT", "/customers/c1", json={}).status_code == 204
        assert api.get_customer("c1")["metadata"]["version"] == 4

    def test_email_cannot_be_removed(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", contactEmail="a@example.com")
        response = api.request("PUT", "/customers/c1", json={"firstName": "A"})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "contactEmail cannot be removed once it is set; send the current or a new address.", field="contactEmail"
        )
        assert api.get_customer("c1")["contactEmail"] == "a@example.com"

    def test_email_of_another_customer_is_409(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", contactEmail="a@example.com")
        api.create_customer(id="c2", contactEmail="b@example.com")
        response = api.request("PUT", "/customers/c2", json={"contactEmail": "A@example.com"})
        assert response.status_code == 409
        assert response.json()["message"] == f"Duplicate account 'A@example.com' for tenant '{api.tenant}'."
        assert api.get_customer("c2")["contactEmail"] == "b@example.com"

    def test_changing_only_the_case_of_the_own_email(self, api: CustomerApi) -> None:
        api.create_customer(id="c1", contactEmail="a@example.com")
        assert api.request("PUT", "/customers/c1", json={"contactEmail": "A@Example.com"}).status_code == 204
        assert api.get_customer("c1")["contactEmail"] == "A@Example.com"

    def test_password_survives_a_put(self, api: CustomerApi) -> None:
        api.signup("jo@example.com")
        customer_id = api.request("GET", "/customers").json()[0]["id"]
        assert (
            api.request(
                "PUT", f"/customers/{customer_id}", json={"contactEmail": "jo@example.com", "firstName": "Jo"}
            ).status_code
            == 204
        )
        assert api.login("jo@example.com").status_code == 200

    @pytest.mark.parametrize("customer_id", RESERVED[:2])
    def test_reserved_id_is_400(self, api: CustomerApi, customer_id: str) -> None:
        response = api.request("PUT", f"/customers/{customer_id}", json={})
        assert response.status_code == 400
        assert response.json() == bad_request(
            f"Invalid customerNumber '{customer_id}': it is reserved by the API's paths (bulk, import, search).",
            field="customerNumber",
        )

    def test_invalid_id_is_400(self, api: CustomerApi) -> None:
        response = api.request("PUT", "/customers/a%20b", json={})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "Invalid customerNumber 'a b': use 1 to 66 characters of letters, digits, '_' and '-'.",
            field="customerNumber",
        )

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"active": None}, "Expected `bool`, got `null`", "active"),
            ({"metadata": {"version": -1}}, "Expected `int` >= 0", "metadata.version"),
            ({"title": {"en": "MR"}}, "Expected `str | null`, got `object`", "title"),
        ],
    )
    def test_wrong_types(self, api: CustomerApi, body: dict[str, Any], message: str, field: str) -> None:
        response = api.request("PUT", "/customers/c1", json=body)
        assert response.status_code == 400
        assert response.json() == body_error(message, field)

    def test_malformed_json(self, api: CustomerApi) -> None:
        response = api.request(
            "PUT", "/customers/c1", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == bad_request(
            "JSON is malformed: object keys must be strings (byte 1)", type="validation_violation"
        )
        assert api.request("GET", "/customers/c1").status_code == 404
