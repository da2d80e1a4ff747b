"""The customer's own account over HTTP (customer-login.yml): GET and PATCH /me, POST /password/change.

A customer only ever sees and changes itself; customer tokens cannot call the tenant's operations.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import (
    NEEDS_CUSTOMER,
    PASSWORD,
    CustomerApi,
    assert_token_refused,
    bad_request,
    body_error,
    customer_error,
    forbidden,
    missing_field,
    refusal,
    token_for,
)
from tests.factories import INVALID_TOKEN, ISO_MILLIS, Tokens, run_sql

ME_REFUSALS = (
    "no token",
    "garbage token",
    "expired customer token",
    "other tenant customer token",
    "anonymous token",
    "service token",
)
LOCKED_UNTIL = "2999-01-01T00:00:00.000Z"


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    api = CustomerApi(client, tokens, tenant)
    api.signup("jo@example.com", firstName="Jo", lastName="Doe")
    api.signup("ann@example.com", firstName="Ann")
    return api


@pytest.fixture
def jo(api: CustomerApi) -> str:
    """A logged-in customer's token."""
    return api.customer_token("jo@example.com")


def me(api: CustomerApi, token: str, **params: str) -> dict[str, Any]:
    response = api.request("GET", "/me", token=token, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def customer_id_of(api: CustomerApi, email: str) -> str:
    customer_id: str = api.request("GET", "/customers", params={"q": f"contactEmail:{email}"}).json()[0]["id"]
    return customer_id


class TestGetMe:
    @pytest.mark.parametrize("case", ME_REFUSALS)
    def test_refused(self, api: CustomerApi, app: Litestar, case: str) -> None:
        assert_token_refused(
            api, app, case, "GET", "/me", forbidden_message="Required scope(s): customer.customer_read_own."
        )

    def test_own_profile(self, api: CustomerApi, jo: str) -> None:
        customer_id = customer_id_of(api, "jo@example.com")
        assert me(api, jo) == {
            "id": customer_id,
            "customerNumber": customer_id,
            "contactEmail": "jo@example.com",
            "firstName": "Jo",
            "lastName": "Doe",
            "active": True,
            "lastLogin": ISO_MILLIS,
            "metadata": {"version": 1, "createdAt": ISO_MILLIS, "modifiedAt": ISO_MILLIS},
        }

    def test_expand_mixins(self, api: CustomerApi, jo: str) -> None:
        api.request("PATCH", f"/customers/{customer_id_of(api, 'jo@example.com')}", json={"mixins": {"a": {"b": 1}}})
        assert "mixins" not in me(api, jo)
        assert me(api, jo, expand="mixin:*")["mixins"] == {"a": {"b": 1}}

    def test_a_customer_sees_only_itself(self, api: CustomerApi, jo: str) -> None:
        ann = api.customer_token("ann@example.com")
        assert me(api, jo)["firstName"] == "Jo"
        assert me(api, ann)["firstName"] == "Ann"

    def test_a_customer_cannot_read_another_customer(self, api: CustomerApi, jo: str) -> None:
        ann_id = customer_id_of(api, "ann@example.com")
        for method, path in (("GET", f"/customers/{ann_id}"), ("GET", "/customers"), ("POST", "/customers/search")):
            response = api.request(method, path, token=jo)
            assert response.status_code == 403
            assert response.json() == forbidden("Required scope(s): customer.customer_read.")

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/customers", {"contactEmail": "x@example.com"}),
            ("PUT", "/customers/ANN", {"contactEmail": "ann@example.com", "firstName": "Hacked"}),
            ("PATCH", "/customers/ANN", {"firstName": "Hacked"}),
            ("DELETE", "/customers/ANN", None),
        ],
    )
    def test_a_customer_cannot_manage_customers(
        self, api: CustomerApi, jo: str, method: str, path: str, body: Any
    ) -> None:
        ann_id = customer_id_of(api, "ann@example.com")
        response = api.request(method, path.replace("ANN", ann_id), token=jo, json=body)
        assert response.status_code == 403
        assert response.json() == forbidden("Required scope(s): customer.customer_manage.")
        assert api.get_customer(ann_id)["firstName"] == "Ann"

    def test_logged_out_token_is_401(self, api: CustomerApi, jo: str) -> None:
        api.request("GET", "/logout", token=jo)
        response = api.request("GET", "/me", token=jo)
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN

    def test_service_token_with_the_own_scope_is_not_a_customer(self, api: CustomerApi) -> None:
        token = api.tokens.service(api.tenant, ("customer.customer_read_own",))
        response = api.request("GET", "/me", token=token)
        assert response.status_code == 403
        assert response.json() == forbidden(NEEDS_CUSTOMER)

    def test_invalid_expand_is_400(self, api: CustomerApi, jo: str) -> None:
        response = api.request("GET", "/me", token=jo, params={"expand": "x"})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "Invalid expand 'x': use mixin:* (or mixin:<name>), addresses or accounts.",
            field="expand",
            type="invalid_query_parameter",
        )


class TestPatchMe:
    @pytest.mark.parametrize("case", ME_REFUSALS)
    def test_refused_and_nothing_changed(self, api: CustomerApi, app: Litestar, case: str) -> None:
        assert_token_refused(
            api,
            app,
            case,
            "PATCH",
            "/me",
            json={"firstName": "X"},
            forbidden_message="Required scope(s): customer.customer_manage_own.",
        )
        assert api.get_customer(customer_id_of(api, "jo@example.com"))["firstName"] == "Jo"

    def test_spec_example_changes_only_the_caller(self, api: CustomerApi, jo: str) -> None:
        response = api.request(
            "PATCH",
            "/me",
            token=jo,
            json={
                "title": "MR",
                "firstName": "John",
                "lastName": "Doe",
                "contactEmail": "jo@example.com",
                "contactPhone": "123456789",
                "company": "Emporix",
                "preferredLanguage": "en_US",
                "preferredCurrency": "EUR",
                "preferredSite": "main",
                "b2b": {"companyRegistrationId": "123-456-789"},
                "metadata": {"version": 1},
            },
        )
        assert response.status_code == 200
        assert response.content == b""
        doc = me(api, jo)
        assert {k: doc[k] for k in ("title", "firstName", "company", "preferredLanguage")} == {
            "title": "MR",
            "firstName": "John",
            "company": "Emporix",
            "preferredLanguage": "en_US",
        }
        assert doc["metadata"]["version"] == 2
        assert api.get_customer(customer_id_of(api, "ann@example.com"))["metadata"]["version"] == 1

    def test_a_customer_cannot_deactivate_itself(self, api: CustomerApi, jo: str) -> None:
        assert api.request("PATCH", "/me", token=jo, json={"active": False}).status_code == 200
        assert me(api, jo)["active"] is True

    def test_new_email_is_the_new_login(self, api: CustomerApi, jo: str) -> None:
        assert api.request("PATCH", "/me", token=jo, json={"contactEmail": "joe@example.com"}).status_code == 200
        assert api.login("jo@example.com").status_code == 401
        assert api.login("joe@example.com").status_code == 200

    def test_email_of_another_customer_is_409(self, api: CustomerApi, jo: str) -> None:
        response = api.request("PATCH", "/me", token=jo, json={"contactEmail": "Ann@example.com"})
        assert response.status_code == 409
        message = f"Duplicate account 'Ann@example.com' for tenant '{api.tenant}'."
        assert response.json() == customer_error(
            409, message, type="conflict_resource", field="contactEmail", detail_type="duplicate_value"
        )

    def test_email_cannot_be_unset(self, api: CustomerApi, jo: str) -> None:
        response = api.request("PATCH", "/me", token=jo, json={"contactEmail": None})
        assert response.status_code == 400
        assert response.json() == bad_request(
            "contactEmail cannot be removed once it is set; send the current or a new address.", field="contactEmail"
        )

    def test_stale_version_is_409(self, api: CustomerApi, jo: str) -> None:
        response = api.request("PATCH", "/me", token=jo, json={"firstName": "X", "metadata": {"version": 9}})
        assert response.status_code == 409
        assert response.json() == customer_error(
            409, "The resource you are attempting to access has changed.", type="conflict_resource"
        )
        assert me(api, jo)["firstName"] == "Jo"

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"firstName": ["x"]}, "Expected `str | null`, got `array`", "firstName"),
            ({"mixins": 1}, "Expected `object | null`, got `int`", "mixins"),
        ],
    )
    def test_wrong_types(self, api: CustomerApi, jo: str, body: dict[str, Any], message: str, field: str) -> None:
        response = api.request("PATCH", "/me", token=jo, json=body)
        assert response.status_code == 400
        assert response.json() == body_error(message, field)

    def test_malformed_json(self, api: CustomerApi, jo: str) -> None:
        response = api.request(
            "PATCH", "/me", token=jo, content=b"{not json", headers={"Content-Type": "application/merge-patch+json"}
        )
        assert response.status_code == 400
        assert response.json() == bad_request(
            "JSON is malformed: object keys must be strings (byte 1)", type="validation_violation"
        )


class TestChangePassword:
    @pytest.mark.parametrize("case", ME_REFUSALS)
    def test_refused(self, api: CustomerApi, app: Litestar, case: str) -> None:
        token = token_for(api, app, case)
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = api.client.post(
            api.url("/password/change"), headers=headers, json={"currentPassword": PASSWORD, "newPassword": "newpass1"}
        )
        status, body = refusal(api, case, NEEDS_CUSTOMER)
        assert response.status_code == status, response.text
        assert response.json() == body
        assert api.login("jo@example.com").status_code == 200

    def test_changes_the_password(self, api: CustomerApi, jo: str) -> None:
        response = api.request(
            "POST", "/password/change", token=jo, json={"currentPassword": PASSWORD, "newPassword": "P@ssw0rd123"}
        )
        assert response.status_code == 204
        assert response.content == b""
        assert api.login("jo@example.com").status_code == 401
        assert api.login("jo@example.com", "P@ssw0rd123").status_code == 200
        assert api.request("GET", "/me", token=jo).status_code == 200

    def test_an_initial_password_becomes_the_customers(self, api: CustomerApi) -> None:
        api.create_customer(contactEmail="new@example.com", password="initial1")
        token = api.customer_token("new@example.com", "initial1")
        api.request(
            "POST", "/password/change", token=token, json={"currentPassword": "initial1", "newPassword": "mine1234"}
        )
        assert api.logged_in("new@example.com", "mine1234")["initialPassword"] is False

    def test_wrong_current_password_is_400_and_counts_as_a_failure(
        self, api: CustomerApi, jo: str, database_url: str
    ) -> None:
        response = api.request(
            "POST", "/password/change", token=jo, json={"currentPassword": "wrong-one", "newPassword": "newpass1"}
        )
        assert response.status_code == 400
        assert response.json() == bad_request("The current password is not correct.", field="currentPassword")
        rows = run_sql(
            database_url,
            "SELECT failed_logins FROM customers WHERE tenant = $1 AND contact_email = $2",
            api.tenant,
            "jo@example.com",
        )
        assert rows[0]["failed_logins"] == 1
        assert api.login("jo@example.com").status_code == 200  # the password did not change

    def test_locked_account_is_429(self, api: CustomerApi, jo: str, database_url: str) -> None:
        run_sql(
            database_url,
            "UPDATE customers SET failed_logins = 5, locked_until = $3::text::timestamptz"
            " WHERE tenant = $1 AND contact_email = $2",
            api.tenant,
            "jo@example.com",
            LOCKED_UNTIL,
        )
        response = api.request(
            "POST", "/password/change", token=jo, json={"currentPassword": PASSWORD, "newPassword": "newpass1"}
        )
        assert response.status_code == 429
        assert response.json() == customer_error(
            429,
            f"Too many failed login attempts for this account; try again after {LOCKED_UNTIL}.",
            type="too_many_requests",
        )
        assert "Retry-After" in response.headers

    def test_five_wrong_current_passwords_lock_the_login(self, api: CustomerApi, jo: str, database_url: str) -> None:
        for _ in range(5):
            api.request(
                "POST", "/password/change", token=jo, json={"currentPassword": "wrong-one", "newPassword": "newpass1"}
            )
        rows = run_sql(
            database_url,
            "SELECT failed_logins, locked_until IS NOT NULL AS locked FROM customers"
            " WHERE tenant = $1 AND contact_email = $2",
            api.tenant,
            "jo@example.com",
        )
        assert dict(rows[0]) == {"failed_logins": 5, "locked": True}

    def test_short_new_password_is_400(self, api: CustomerApi, jo: str) -> None:
        response = api.request(
            "POST", "/password/change", token=jo, json={"currentPassword": PASSWORD, "newPassword": "short"}
        )
        assert response.status_code == 400
        assert response.json() == body_error("Expected `str` of length >= 6", "newPassword")

    @pytest.mark.parametrize("field", ["currentPassword", "newPassword"])
    def test_missing_required_field(self, api: CustomerApi, jo: str, field: str) -> None:
        body = {"currentPassword": PASSWORD, "newPassword": "newpass1"}
        del body[field]
        response = api.request("POST", "/password/change", token=jo, json=body)
        assert response.status_code == 400
        assert response.json() == missing_field(field)

    def test_customer_without_password_is_400(self, api: CustomerApi) -> None:
        customer_id = api.create_customer(contactEmail="nopw@example.com")
        response = api.request(
            "POST",
            "/password/change",
            token=api.tokens.customer(api.tenant, customer_id),
            json={"currentPassword": PASSWORD, "newPassword": "newpass1"},
        )
        assert response.status_code == 400
        assert response.json() == bad_request(
            "The customer has no password yet; sign up to set one.", type="no_password"
        )
