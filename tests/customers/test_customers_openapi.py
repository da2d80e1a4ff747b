"""The OpenAPI document describes the customer operations with the operationIds of customer.yml and
customer-login.yml, their scopes, their status codes and the Customer Service's error body."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

CUSTOMERS = "/customer/{tenant}/customers"
CUSTOMER = "/customer/{tenant}/customers/{customerNumber}"
OPERATIONS = {
    ("post", CUSTOMERS): "POST-customer-tenant-create-customer",
    ("get", CUSTOMERS): "GET-customer-tenant-list-customers",
    ("post", f"{CUSTOMERS}/search"): "POST-customer-tenant-search",
    ("get", CUSTOMER): "GET-customer-tenant-retrieve-customer",
    ("put", CUSTOMER): "PUT-customer-tenant-update-customer",
    ("patch", CUSTOMER): "PATCH-customer-tenant-update-customer",
    ("delete", CUSTOMER): "DELETE-customer-tenant-remove-customer",
    ("post", "/customer/{tenant}/signup"): "POST-customer-create-customer-account",
    ("post", "/customer/{tenant}/login"): "POST-customer-authenticate-customer",
    ("get", "/customer/{tenant}/refreshauthtoken"): "GET-customer-refresh-authtoken",
    ("get", "/customer/{tenant}/validateauthtoken"): "GET-customer-validate-token",
    ("get", "/customer/{tenant}/me"): "GET-customer-retrieve-customer-profile",
    ("patch", "/customer/{tenant}/me"): "PATCH-customer-update-customer",
    ("get", "/customer/{tenant}/logout"): "GET-customer-logout-customer",
    ("post", "/customer/{tenant}/password/change"): "POST-customer-change-account-password",
}


@pytest.fixture(scope="module")
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_every_customer_operation_has_its_operation_id(document: dict[str, Any]) -> None:
    found = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        if path.startswith("/customer/")
        for method, operation in item.items()
    }
    assert found == OPERATIONS


@pytest.mark.parametrize(
    ("method", "path", "scopes", "codes"),
    [
        ("post", CUSTOMERS, ["customer.customer_manage"], {"201", "400", "401", "403", "409"}),
        ("get", CUSTOMERS, ["customer.customer_read"], {"200", "400", "401", "403"}),
        ("get", CUSTOMER, ["customer.customer_read"], {"200", "400", "401", "403", "404"}),
        ("put", CUSTOMER, ["customer.customer_manage"], {"201", "204", "400", "401", "403", "409"}),
        ("patch", CUSTOMER, ["customer.customer_manage"], {"200", "400", "401", "403", "404", "409"}),
        ("delete", CUSTOMER, ["customer.customer_manage"], {"202", "400", "401", "403", "404"}),
        ("post", "/customer/{tenant}/login", [], {"200", "400", "401", "403", "429"}),
        ("get", "/customer/{tenant}/me", ["customer.customer_read_own"], {"200", "400", "401", "403"}),
        ("post", "/customer/{tenant}/password/change", [], {"204", "400", "401", "403", "429"}),
    ],
)
def test_scopes_and_status_codes(
    document: dict[str, Any], method: str, path: str, scopes: list[str], codes: set[str]
) -> None:
    operation = document["paths"][path][method]
    assert operation["security"] == [{"OAuth2": scopes}]
    assert set(operation["responses"]) == codes
    error = operation["responses"]["403"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/CustomerError"}


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("delete", CUSTOMER, "202"), ("patch", CUSTOMER, "200"), ("patch", "/customer/{tenant}/me", "200")],
)
def test_answers_without_a_body_declare_none(document: dict[str, Any], method: str, path: str, code: str) -> None:
    assert "content" not in document["paths"][path][method]["responses"][code]


def test_token_responses_carry_the_spec_names(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["CustomerToken"]["properties"]) == {
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
    assert set(schemas["ValidateTokenResponse"]["properties"]) == {
        "token_type",
        "expires_in",
        "scope",
        "sessionId",
        "email",
        "legalEntityId",
    }
