"""Customer sessions over HTTP (customer-login.yml): GET /refreshauthtoken, /validateauthtoken and /logout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.customers.customer_api import (
    NEEDS_CUSTOMER,
    CustomerApi,
    assert_token_refused,
    bad_request,
    forbidden,
)
from tests.factories import INVALID_TOKEN, Tokens, run_sql

from segment_service.core.auth import CUSTOMER_SCOPES, scope_text

NEEDS_STOREFRONT = "This operation needs an anonymous or a customer token of the tenant."
INVALID_REFRESH = {
    "fault": {"faultstring": "Invalid refresh token", "detail": {"errorcode": "oauth.v2.InvalidRefreshToken"}}
}


@pytest.fixture
def api(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> CustomerApi:
    api = CustomerApi(client, tokens, tenant)
    api.signup("jo@example.com")
    return api


def refresh(api: CustomerApi, refresh_token: str, *, token: str | None = None, **params: str) -> Any:
    return api.request(
        "GET", "/refreshauthtoken", token=token or api.anonymous(), params={"refreshToken": refresh_token, **params}
    )


def validate(api: CustomerApi, token: str) -> Any:
    return api.request("GET", "/validateauthtoken", token=token)


def contact_of(api: CustomerApi, legal_entity_id: str, customer_id: str) -> None:
    """A legal entity with the customer as its contact, through the Customer Management API."""
    base = f"/customer-management/{api.tenant}"
    auth = {"Authorization": f"Bearer {api.token}"}
    response = api.client.post(f"{base}/legal-entities", headers=auth, json={"id": legal_entity_id, "name": "Acme"})
    assert response.status_code == 201, response.text
    response = api.client.post(
        f"{base}/contact-assignments",
        headers=auth,
        json={"legalEntity": {"id": legal_entity_id}, "customer": {"id": customer_id}},
    )
    assert response.status_code == 201, response.text


def jo_id(api: CustomerApi) -> str:
    customer_id: str = api.request("GET", "/customers", params={"q": "contactEmail:jo@example.com"}).json()[0]["id"]
    return customer_id


class TestRefreshAuthToken:
    @pytest.mark.parametrize(
        ("case", "message"),
        [
            ("no token", ""),
            ("garbage token", ""),
            ("expired anonymous token", ""),
            ("other tenant anonymous token", ""),
            ("service token", NEEDS_STOREFRONT),
        ],
    )
    def test_refused(self, api: CustomerApi, app: Litestar, case: str, message: str) -> None:
        refresh_token = api.logged_in("jo@example.com")["refresh_token"]
        assert_token_refused(
            api,
            app,
            case,
            "GET",
            "/refreshauthtoken",
            forbidden_message=message,
            params={"refreshToken": refresh_token},
        )
        assert refresh(api, refresh_token).status_code == 200  # nothing was used up

    def test_with_an_anonymous_token(self, api: CustomerApi) -> None:
        login = api.logged_in("jo@example.com")
        response = refresh(api, login["refresh_token"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "access_token",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
            "token_type",
            "session_id",
            "accessToken",
            "expiresIn",
            "refreshToken",
            "refreshTokenExpiresIn",
        }
        assert (body["session_id"], body["token_type"], body["expires_in"], body["refresh_token_expires_in"]) == (
            login["session_id"],
            "Bearer",
            2591999,
            86399,
        )
        assert (body["accessToken"], body["refreshToken"]) == (body["access_token"], body["refresh_token"])
        assert body["refresh_token"] != login["refresh_token"]
        assert api.request("GET", "/me", token=body["access_token"]).status_code == 200

    def test_with_the_customers_own_token(self, api: CustomerApi) -> None:
        login = api.logged_in("jo@example.com")
        assert refresh(api, login["refresh_token"], token=login["access_token"]).status_code == 200

    def test_with_another_customers_token_is_403(self, api: CustomerApi) -> None:
        api.signup("ann@example.com")
        response = refresh(
            api, api.logged_in("jo@example.com")["refresh_token"], token=api.customer_token("ann@example.com")
        )
        assert response.status_code == 403
        assert response.json() == forbidden("The refresh token belongs to another customer's session.")

    def test_the_refresh_token_rotates(self, api: CustomerApi) -> None:
        first = api.logged_in("jo@example.com")["refresh_token"]
        assert refresh(api, first).status_code == 200
        response = refresh(api, first)
        assert response.status_code == 401
        assert response.json() == INVALID_REFRESH

    def test_unknown_refresh_token_is_401(self, api: CustomerApi) -> None:
        assert refresh(api, "no-such-token").json() == INVALID_REFRESH

    def test_another_tenants_refresh_token_is_401(
        self, api: CustomerApi, client: TestClient[Litestar], tokens: Tokens
    ) -> None:
        refresh_token = api.logged_in("jo@example.com")["refresh_token"]
        other = CustomerApi(client, tokens, "o" + api.tenant[1:])
        assert refresh(other, refresh_token).json() == INVALID_REFRESH

    def test_missing_refresh_token_is_400(self, api: CustomerApi) -> None:
        response = api.request("GET", "/refreshauthtoken", token=api.anonymous())
        assert response.status_code == 400
        assert response.json() == bad_request("Missing required query parameter 'refreshToken'.", field="refreshToken")

    def test_after_logout_is_401(self, api: CustomerApi) -> None:
        login = api.logged_in("jo@example.com")
        assert api.request("GET", "/logout", token=login["access_token"]).status_code == 204
        assert refresh(api, login["refresh_token"]).json() == INVALID_REFRESH

    def test_deactivated_customer_is_401(self, api: CustomerApi) -> None:
        """Deactivation ends the customer's sessions, as logout does: the refresh token is spent."""
        login = api.logged_in("jo@example.com")
        api.request("PATCH", f"/customers/{jo_id(api)}", json={"active": False})
        response = refresh(api, login["refresh_token"])
        assert response.status_code == 401
        assert response.json() == INVALID_REFRESH

    def test_deleted_customer_is_401(self, api: CustomerApi) -> None:
        login = api.logged_in("jo@example.com")
        api.request("DELETE", f"/customers/{jo_id(api)}")
        assert refresh(api, login["refresh_token"]).json() == INVALID_REFRESH

    def test_legal_entity_of_which_the_customer_is_no_contact_is_403(self, api: CustomerApi) -> None:
        contact_of(api, "le1", api.signup("ann@example.com"))
        refresh_token = api.logged_in("jo@example.com")["refresh_token"]
        for legal_entity_id in ("le1", "nowhere"):
            response = refresh(api, refresh_token, legalEntityId=legal_entity_id)
            assert response.status_code == 403
            assert response.json() == forbidden(f"The customer is not a contact of legal entity '{legal_entity_id}'.")
        assert refresh(api, refresh_token).status_code == 200  # the refresh token was not used up

    def test_b2b_token_for_a_legal_entity_of_the_customer(self, api: CustomerApi) -> None:
        contact_of(api, "le1", jo_id(api))
        first = refresh(api, api.logged_in("jo@example.com")["refresh_token"], legalEntityId="le1").json()
        assert validate(api, first["access_token"]).json()["legalEntityId"] == "le1"
        # Without the parameter the session keeps its legal entity; an empty one goes back to B2C.
        kept = refresh(api, first["refresh_token"]).json()
        assert validate(api, kept["access_token"]).json()["legalEntityId"] == "le1"
        cleared = refresh(api, kept["refresh_token"], legalEntityId="").json()
        assert "legalEntityId" not in validate(api, cleared["access_token"]).json()

    def test_kept_legal_entity_is_checked_again(self, api: CustomerApi, database_url: str) -> None:
        contact_of(api, "le1", jo_id(api))
        first = refresh(api, api.logged_in("jo@example.com")["refresh_token"], legalEntityId="le1").json()
        # Every API that ends a contact also ends the session (tests/legal_entities/test_contact_removal.py); the
        # refresh checks the contact anyway, in case the row went some other way.
        run_sql(database_url, "DELETE FROM contact_assignments WHERE tenant = $1", api.tenant)
        response = refresh(api, first["refresh_token"])
        assert response.status_code == 403
        assert response.json() == forbidden("The customer is not a contact of legal entity 'le1'.")


class TestValidateAuthToken:
    @pytest.mark.parametrize(
        "case",
        [
            "no token",
            "garbage token",
            "expired customer token",
            "other tenant customer token",
            "anonymous token",
            "service token",
        ],
    )
    def test_refused(self, api: CustomerApi, app: Litestar, case: str) -> None:
        assert_token_refused(api, app, case, "GET", "/validateauthtoken", forbidden_message=NEEDS_CUSTOMER)

    def test_token_details(self, api: CustomerApi) -> None:
        login = api.logged_in("jo@example.com")
        response = validate(api, login["access_token"])
        assert response.status_code == 200
        body = response.json()
        assert 0 < body.pop("expires_in") <= 2591999
        assert body == {
            "token_type": "Bearer",
            "scope": scope_text(api.tenant, CUSTOMER_SCOPES),
            "sessionId": login["session_id"],
            "email": "jo@example.com",
        }

    def test_logged_out_token_is_401(self, api: CustomerApi) -> None:
        token = api.customer_token("jo@example.com")
        api.request("GET", "/logout", token=token)
        response = validate(api, token)
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN


class TestLogout:
    @pytest.mark.parametrize(
        "case",
        [
            "no token",
            "garbage token",
            "expired customer token",
            "other tenant customer token",
            "anonymous token",
            "service token",
        ],
    )
    def test_refused(self, api: CustomerApi, app: Litestar, case: str) -> None:
        assert_token_refused(api, app, case, "GET", "/logout", forbidden_message=NEEDS_CUSTOMER)

    def test_every_token_of_the_session_stops_working(self, api: CustomerApi) -> None:
        login = api.logged_in("jo@example.com")
        renewed = refresh(api, login["refresh_token"]).json()
        other_session = api.customer_token("jo@example.com")
        response = api.request("GET", "/logout", token=login["access_token"])
        assert response.status_code == 204
        assert response.content == b""
        for token in (login["access_token"], renewed["access_token"]):
            response = api.request("GET", "/me", token=token)
            assert response.status_code == 401
            assert response.json() == INVALID_TOKEN
            segments = api.client.get(
                f"/customer-segment/{api.tenant}/segments", headers={"Authorization": f"Bearer {token}"}
            )
            assert segments.status_code == 401
        assert refresh(api, renewed["refresh_token"]).json() == INVALID_REFRESH
        assert api.request("GET", "/me", token=other_session).status_code == 200

    def test_access_token_parameter_ends_that_session(self, api: CustomerApi) -> None:
        phone = api.customer_token("jo@example.com")
        laptop = api.customer_token("jo@example.com")
        assert api.request("GET", "/logout", token=laptop, params={"accessToken": phone}).status_code == 204
        assert api.request("GET", "/me", token=phone).status_code == 401
        assert api.request("GET", "/me", token=laptop).status_code == 200

    def test_access_token_of_another_customer_is_403(self, api: CustomerApi) -> None:
        api.signup("ann@example.com")
        ann = api.customer_token("ann@example.com")
        response = api.request(
            "GET", "/logout", token=api.customer_token("jo@example.com"), params={"accessToken": ann}
        )
        assert response.status_code == 403
        assert response.json() == forbidden("accessToken is not a token of the calling customer.")
        assert api.request("GET", "/me", token=ann).status_code == 200

    def test_garbage_access_token_is_400(self, api: CustomerApi) -> None:
        response = api.request(
            "GET", "/logout", token=api.customer_token("jo@example.com"), params={"accessToken": "garbage"}
        )
        assert response.status_code == 400
        assert response.json() == bad_request("accessToken is not a token issued by this service.", field="accessToken")

    def test_logout_twice_is_401(self, api: CustomerApi) -> None:
        token = api.customer_token("jo@example.com")
        assert api.request("GET", "/logout", token=token).status_code == 204
        assert api.request("GET", "/logout", token=token).json() == INVALID_TOKEN

    def test_session_ids_are_uuids(self, api: CustomerApi) -> None:
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            api.logged_in("jo@example.com")["session_id"],
        )
