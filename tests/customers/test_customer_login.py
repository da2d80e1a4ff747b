"""POST /customer/{tenant}/login (customer-login.yml) and its per-account rate limit.

The lock is tested without waiting: the tests read and set `failed_logins` and `locked_until` in the table.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import (
    NEEDS_ANONYMOUS,
    PASSWORD,
    CustomerApi,
    assert_token_refused,
    body_error,
    customer_error,
    forbidden,
    missing_field,
)
from tests.factories import Tokens, run_sql

REFUSALS = (
    "no token",
    "garbage token",
    "expired anonymous token",
    "other tenant anonymous token",
    "service token",
    "customer token",
)
WRONG = {"fault": {"faultstring": "Invalid email or password", "detail": {"errorcode": "oauth.v2.InvalidCredentials"}}}
LOCKED_UNTIL = "2999-01-01T00:00:00.000Z"
LOCKED = customer_error(
    429, f"Too many failed login attempts for this account; try again after {LOCKED_UNTIL}.", type="too_many_requests"
)


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    api = CustomerApi(client, tokens, tenant)
    api.signup("jo@example.com", firstName="Jo")
    return api


def limit_state(api: CustomerApi, database_url: str, email: str = "jo@example.com") -> dict[str, Any]:
    """The login counters of an account; `lock_seconds` is the lock's length from the last failure."""
    rows = run_sql(
        database_url,
        "SELECT failed_logins, locked_until IS NOT NULL AS locked,"
        " extract(epoch FROM locked_until - last_failed_login)::bigint AS lock_seconds"
        " FROM customers WHERE tenant = $1 AND contact_email = $2",
        api.tenant,
        email,
    )
    return dict(rows[0])


def set_limit(
    api: CustomerApi, database_url: str, failures: int, locked_until: str | None, email: str = "jo@example.com"
) -> None:
    run_sql(
        database_url,
        "UPDATE customers SET failed_logins = $3, locked_until = $4::text::timestamptz,"
        " last_failed_login = now() - interval '1 hour' WHERE tenant = $1 AND contact_email = $2",
        api.tenant,
        email,
        failures,
        locked_until,
    )


class TestLogin:
    @pytest.mark.parametrize("case", REFUSALS)
    def test_refused(self, api: CustomerApi, app: Litestar, case: str) -> None:
        assert_token_refused(
            api,
            app,
            case,
            "POST",
            "/login",
            forbidden_message=NEEDS_ANONYMOUS,
            json={"email": "jo@example.com", "password": PASSWORD},
        )

    def test_response_has_the_spec_fields_and_their_deprecated_twins(self, api: CustomerApi) -> None:
        body = api.logged_in("jo@example.com")
        assert set(body) == {
            "access_token",
            "saas_token",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
            "token_type",
            "session_id",
            "initialPassword",
            "accessToken",
            "saasToken",
            "expiresIn",
            "refreshToken",
            "refreshTokenExpiresIn",
        }
        assert (body["token_type"], body["expires_in"], body["refresh_token_expires_in"]) == ("Bearer", 2591999, 86399)
        assert body["initialPassword"] is False
        assert re.fullmatch(r"[0-9a-f-]{36}", body["session_id"])
        assert body["accessToken"] == body["saas_token"] == body["saasToken"] == body["access_token"]
        assert (body["refreshToken"], body["expiresIn"], body["refreshTokenExpiresIn"]) == (
            body["refresh_token"],
            2591999,
            86399,
        )

    def test_the_token_is_a_customer_token(self, api: CustomerApi) -> None:
        token = api.customer_token("jo@example.com")
        me = api.request("GET", "/me", token=token)
        assert me.status_code == 200
        assert me.json()["contactEmail"] == "jo@example.com"
        segments = api.client.get(
            f"/customer-segment/{api.tenant}/segments", headers={"Authorization": f"Bearer {token}"}
        )
        assert segments.status_code == 200
        assert segments.json() == []

    def test_email_is_case_insensitive(self, api: CustomerApi) -> None:
        assert api.login("JO@EXAMPLE.com").status_code == 200

    def test_every_login_is_a_new_session(self, api: CustomerApi) -> None:
        assert api.logged_in("jo@example.com")["session_id"] != api.logged_in("jo@example.com")["session_id"]

    @pytest.mark.parametrize(
        ("email", "password"),
        [
            ("jo@example.com", "wrong-password"),
            ("nobody@example.com", PASSWORD),
            ("nobody@example.com", "wrong-password"),
        ],
    )
    def test_wrong_email_or_password_is_the_same_401(self, api: CustomerApi, email: str, password: str) -> None:
        response = api.login(email, password)
        assert response.status_code == 401
        assert response.json() == WRONG

    def test_customer_without_password_cannot_log_in(self, api: CustomerApi) -> None:
        api.create_customer(contactEmail="nopw@example.com")
        response = api.login("nopw@example.com")
        assert response.status_code == 401
        assert response.json() == WRONG

    def test_another_tenants_customer_cannot_log_in(
        self, api: CustomerApi, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        other = CustomerApi(client, tokens, "o" + api.tenant[1:])
        assert other.login("jo@example.com").json() == WRONG

    def test_inactive_customer_with_the_right_password_is_403(self, api: CustomerApi) -> None:
        customer_id = api.request("GET", "/customers").json()[0]["id"]
        api.request("PATCH", f"/customers/{customer_id}", json={"active": False})
        response = api.login("jo@example.com")
        assert response.status_code == 403
        assert response.json() == forbidden("The customer account is not active; the shop can activate it.")
        assert api.login("jo@example.com", "wrong-password").json() == WRONG
        assert "lastLogin" not in api.get_customer(customer_id)

    @pytest.mark.parametrize("field", ["email", "password"])
    def test_missing_required_field(self, api: CustomerApi, field: str) -> None:
        body = {"email": "jo@example.com", "password": PASSWORD}
        del body[field]
        response = api.request("POST", "/login", token=api.anonymous(), json=body)
        assert response.status_code == 400
        assert response.json() == missing_field(field)

    @pytest.mark.parametrize(
        ("body", "message", "field"),
        [
            ({"email": "jo@example.com", "password": "12345"}, "Expected `str` of length >= 6", "password"),
            ({"email": "", "password": PASSWORD}, "Expected `str` of length >= 1", "email"),
            ({"email": "jo@example.com", "password": 123456}, "Expected `str`, got `int`", "password"),
        ],
    )
    def test_invalid_body(self, api: CustomerApi, body: dict[str, Any], message: str, field: str) -> None:
        response = api.request("POST", "/login", token=api.anonymous(), json=body)
        assert response.status_code == 400
        assert response.json() == body_error(message, field)

    def test_missing_body(self, api: CustomerApi) -> None:
        response = api.request("POST", "/login", token=api.anonymous())
        assert response.status_code == 400
        assert response.json()["message"] == "The request body is missing; send a JSON body."


class TestLoginRateLimit:
    def test_four_failures_then_success_resets_the_count(self, api: CustomerApi, database_url: str) -> None:
        for _ in range(4):
            assert api.login("jo@example.com", "wrong-password").status_code == 401
        assert limit_state(api, database_url) == {"failed_logins": 4, "locked": False, "lock_seconds": None}
        assert api.login("jo@example.com").status_code == 200
        assert limit_state(api, database_url) == {"failed_logins": 0, "locked": False, "lock_seconds": None}

    def test_the_fifth_failure_locks_for_a_second(self, api: CustomerApi, database_url: str) -> None:
        for _ in range(5):
            assert api.login("jo@example.com", "wrong-password").status_code == 401
        assert limit_state(api, database_url) == {"failed_logins": 5, "locked": True, "lock_seconds": 1}

    @pytest.mark.parametrize("password", [PASSWORD, "wrong-password"])
    def test_locked_account_is_429_whatever_the_password(
        self, api: CustomerApi, database_url: str, password: str
    ) -> None:
        set_limit(api, database_url, 5, LOCKED_UNTIL)
        response = api.login("JO@example.com", password)
        assert response.status_code == 429
        assert response.json() == LOCKED
        assert int(response.headers["Retry-After"]) > 0
        # Refused attempts are not counted: the lock does not grow while it holds.
        assert limit_state(api, database_url)["failed_logins"] == 5

    def test_the_lock_grows_with_every_failure_after_it(self, api: CustomerApi, database_url: str) -> None:
        set_limit(api, database_url, 7, "2000-01-01T00:00:00Z")
        assert api.login("jo@example.com", "wrong-password").json() == WRONG
        assert limit_state(api, database_url) == {"failed_logins": 8, "locked": True, "lock_seconds": 8}

    @pytest.mark.parametrize("failures", [14, 20, 5000])
    def test_the_lock_is_at_most_15_minutes(self, api: CustomerApi, database_url: str, failures: int) -> None:
        set_limit(api, database_url, failures, None)
        assert api.login("jo@example.com", "wrong-password").status_code == 401
        assert limit_state(api, database_url)["lock_seconds"] == 900

    def test_success_after_the_lock_ran_out_resets(self, api: CustomerApi, database_url: str) -> None:
        set_limit(api, database_url, 9, "2000-01-01T00:00:00Z")
        assert api.login("jo@example.com").status_code == 200
        assert limit_state(api, database_url) == {"failed_logins": 0, "locked": False, "lock_seconds": None}

    def test_the_lock_is_per_account(self, api: CustomerApi, database_url: str) -> None:
        api.signup("other@example.com")
        set_limit(api, database_url, 5, LOCKED_UNTIL)
        assert api.login("other@example.com").status_code == 200
        assert api.login("nobody@example.com").json() == WRONG

    def test_signup_cannot_be_used_to_unlock(self, api: CustomerApi, database_url: str) -> None:
        set_limit(api, database_url, 5, LOCKED_UNTIL)
        response = api.request(
            "POST", "/signup", token=api.anonymous(), json={"email": "jo@example.com", "password": "attacker1"}
        )
        assert response.status_code == 409
        assert api.login("jo@example.com").json() == LOCKED
