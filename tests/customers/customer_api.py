"""Requests and whole error bodies for the Customer Service tests (customer.yml and customer-login.yml)."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from tests.factories import EXPIRED_TOKEN, INVALID_TOKEN, Api, ErrorFamily

from segment_service.core.auth import CUSTOMER_SCOPES, TokenKind

READ = ("customer.customer_read",)
MANAGE = ("customer.customer_manage",)
PASSWORD = "password123"


def customer_error(
    status: int, message: str, *, type: str, field: str | None = None, detail_type: str | None = None
) -> dict[str, Any]:
    """A whole Customer Service error body (`ErrorMessage`): `details` repeats the message when a field is named."""
    body: dict[str, Any] = {"status": status, "type": type, "message": message}
    if field is not None:
        body["details"] = [{"field": field, "type": detail_type or type, "message": message}]
    return body


def bad_request(message: str, *, field: str | None = None, type: str = "invalid_value") -> dict[str, Any]:
    return customer_error(400, message, type="validation_violation", field=field, detail_type=type)


def body_error(message: str, field: str | None = None) -> dict[str, Any]:
    """The 400 of a body that does not decode: Litestar's message, details only when a field is named."""
    where = f" (at '{field}')" if field else ""
    return bad_request(
        f"Validation problem with request body: {message}{where}.",
        field=field,
        type="invalid_value" if field else "invalid_body",
    )


def missing_field(field: str) -> dict[str, Any]:
    """The 400 of a body without a required field."""
    return bad_request(f"Validation problem with request body: Object missing required field `{field}`.", field=field)


def forbidden(message: str) -> dict[str, Any]:
    return customer_error(403, message, type="insufficient_permissions")


def not_found(customer_id: str) -> dict[str, Any]:
    return customer_error(
        404, f"Couldn't find a customer with customerNumber '{customer_id}'.", type="resource_not_found"
    )


class CustomerApi(Api):
    """A client of one tenant's Customer Service, with a service token holding every scope unless told otherwise."""

    prefix = "/customer"
    error_family = ErrorFamily.TYPED
    unrelated_scopes = ("customersegment.segment_read",)

    def create_customer(self, **body: Any) -> str:
        response = self.request("POST", "/customers", json=body)
        assert response.status_code == 201, response.text
        customer_id: str = response.json()["id"]
        return customer_id

    def get_customer(self, customer_id: str, **params: str) -> dict[str, Any]:
        response = self.request("GET", f"/customers/{customer_id}", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def anonymous(self) -> str:
        return self.tokens.anonymous(self.tenant)

    def signup(self, email: str, password: str = PASSWORD, **details: Any) -> str:
        body: dict[str, Any] = {"email": email, "password": password}
        if details:
            body["customerDetails"] = details
        response = self.request("POST", "/signup", token=self.anonymous(), json=body)
        assert response.status_code == 201, response.text
        customer_id: str = response.json()["id"]
        return customer_id

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.request("POST", "/login", token=self.anonymous(), json={"email": email, "password": password})

    def logged_in(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """The login response of a customer who exists and gives the right password."""
        response = self.login(email, password)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def customer_token(self, email: str, password: str = PASSWORD) -> str:
        token: str = self.logged_in(email, password)["access_token"]
        return token


def expired_customer_token(app: Litestar, tenant: str, customer_id: str) -> str:
    """A customer token that ran out a second ago (no session behind it)."""
    token: str = app.state.tokens.issue(
        tenant=tenant,
        kind=TokenKind.CUSTOMER,
        subject=customer_id,
        scopes=CUSTOMER_SCOPES,
        ttl_seconds=-1,
        customer_id=customer_id,
    )
    return token


#: The kinds of token a storefront operation may be called with, besides the right one.
NEEDS_ANONYMOUS = "This operation needs an anonymous token of the tenant (GET /customerlogin/auth/anonymous/login)."
NEEDS_CUSTOMER = "This operation needs a customer token (POST /customer/{tenant}/login)."


def token_for(api: CustomerApi, app: Litestar, case: str, customer_id: str = "c1") -> str | None:
    """A token for `case`: no token, garbage, expired anonymous/customer, another tenant's, or one of the kinds."""
    other = "o" + api.tenant[1:]
    tokens = api.tokens
    return {
        "no token": None,
        "garbage token": "not-a-token",
        "expired anonymous token": tokens.anonymous(api.tenant, ttl=-1),
        "expired customer token": expired_customer_token(app, api.tenant, customer_id),
        "other tenant anonymous token": tokens.anonymous(other),
        "other tenant customer token": tokens.customer(other, customer_id),
        "service token": tokens.service(api.tenant),
        "anonymous token": tokens.anonymous(api.tenant),
        "customer token": tokens.customer(api.tenant, customer_id),
    }[case]


def refusal(api: CustomerApi, case: str, forbidden_message: str) -> tuple[int, dict[str, Any]]:
    """The status and whole body `case` gets: 401 gateway bodies, 403 for the tenant or the token kind."""
    if case in ("no token", "garbage token"):
        return 401, INVALID_TOKEN
    if case.startswith("expired"):
        return 401, EXPIRED_TOKEN
    if case.startswith("other tenant"):
        other = "o" + api.tenant[1:]
        return 403, forbidden(f"The token belongs to tenant '{other}', not to tenant '{api.tenant}'.")
    return 403, forbidden(forbidden_message)


def assert_token_refused(
    api: CustomerApi, app: Litestar, case: str, method: str, path: str, *, forbidden_message: str, **kwargs: Any
) -> None:
    """Call a storefront operation with the token of `case` and assert the whole refusal."""
    token = token_for(api, app, case)
    if token is None:
        response = api.client.request(method, api.url(path), **kwargs)
    else:
        response = api.request(method, path, token=token, **kwargs)
    status, body = refusal(api, case, forbidden_message)
    assert response.status_code == status, response.text
    assert response.json() == body
