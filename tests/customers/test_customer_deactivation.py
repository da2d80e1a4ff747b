"""A customer the tenant deactivates is logged out at once: the tokens issued before answer 401 (`/me`, coupon
redemption) and the refresh token is spent, as after logout."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.coupons.helpers import CouponApi
from tests.customers.customer_api import PASSWORD, CustomerApi, forbidden
from tests.factories import INVALID_TOKEN, Tokens, run_sql

INVALID_REFRESH = {
    "fault": {"faultstring": "Invalid refresh token", "detail": {"errorcode": "oauth.v2.InvalidRefreshToken"}}
}
EMAIL = "jo@example.com"


def deactivate(api: CustomerApi, customer_id: str, how: str) -> None:
    if how == "PATCH":
        response = api.request("PATCH", f"/customers/{customer_id}", json={"active": False})
    else:
        response = api.request(
            "PUT", f"/customers/{customer_id}", json={"contactEmail": EMAIL, "firstName": "Jo", "active": False}
        )
    assert response.status_code in (200, 204), response.text


def refresh(api: CustomerApi, refresh_token: str) -> httpx.Response:
    return api.request("GET", "/refreshauthtoken", token=api.anonymous(), params={"refreshToken": refresh_token})


@pytest.mark.parametrize("how", ["PATCH", "PUT"])
def test_deactivation_ends_the_customer_s_sessions(
    client: TestClient[Litestar], tokens: Tokens, tenant: str, database_url: str, how: str
) -> None:
    api, coupons = CustomerApi(client, tokens, tenant), CouponApi(client, tokens, tenant)
    customer_id = api.signup(EMAIL, firstName="Jo")
    sessions: list[dict[str, Any]] = [api.logged_in(EMAIL), api.logged_in(EMAIL)]  # two devices
    token = sessions[0]["access_token"]
    code = coupons.create()
    assert api.request("GET", "/me", token=token).status_code == 200
    assert coupons.redeem(code, token=token).status_code == 201

    deactivate(api, customer_id, how)

    for session in sessions:
        response = api.request("GET", "/me", token=session["access_token"])
        assert response.status_code == 401, response.text
        assert response.json() == INVALID_TOKEN
        response = coupons.redeem(code, token=session["access_token"])
        assert response.status_code == 401, response.text
        assert response.json() == INVALID_TOKEN
        response = refresh(api, session["refresh_token"])
        assert response.status_code == 401, response.text
        assert response.json() == INVALID_REFRESH
    # Other worker processes see the sessions ended in the table (within their one-second cache).
    open_sessions = run_sql(
        database_url,
        "SELECT count(*) AS n FROM token_sessions WHERE tenant = $1 AND customer_id = $2 AND ended_at IS NULL",
        tenant,
        customer_id,
    )
    assert open_sessions[0]["n"] == 0
    response = api.login(EMAIL)
    assert response.status_code == 403
    assert response.json() == forbidden("The customer account is not active; the shop can activate it.")


def test_reactivation_does_not_revive_old_sessions(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
    api = CustomerApi(client, tokens, tenant)
    customer_id = api.signup(EMAIL, firstName="Jo")
    old = api.logged_in(EMAIL)
    deactivate(api, customer_id, "PATCH")
    assert api.request("PATCH", f"/customers/{customer_id}", json={"active": True}).status_code in (200, 204)
    assert api.request("GET", "/me", token=old["access_token"]).status_code == 401
    assert refresh(api, old["refresh_token"]).status_code == 401
    fresh = api.customer_token(EMAIL, PASSWORD)
    assert api.request("GET", "/me", token=fresh).status_code == 200


def test_other_changes_keep_the_sessions(client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
    api = CustomerApi(client, tokens, tenant)
    customer_id = api.signup(EMAIL, firstName="Jo")
    token = api.customer_token(EMAIL)
    assert api.request("PATCH", f"/customers/{customer_id}", json={"lastName": "Doe"}).status_code in (200, 204)
    assert api.request("GET", "/me", token=token).status_code == 200
