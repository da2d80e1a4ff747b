"""The scope matrix in docs/scopes.md is current, and the running service enforces every cell of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.core.auth import TokenKind
from segment_service.scope_matrix import DEFAULT_SCOPES, Operation, operations, render
from tests.factories import Tokens

DOC = Path(__file__).resolve().parent.parent / "docs" / "scopes.md"


def test_the_document_is_current(app: Litestar) -> None:
    assert DOC.read_text(encoding="utf-8") == render(app), (
        "docs/scopes.md is out of date: python -m segment_service.scope_matrix > docs/scopes.md"
    )


def test_every_operation_is_in_the_matrix(app: Litestar, client: TestClient[Litestar]) -> None:
    documented = {op.operation_id for op in operations(app)}
    described = {
        operation["operationId"]
        for item in client.get("/openapi.json").json()["paths"].values()
        for operation in item.values()
    }
    assert documented == described


def token_for(tokens: Tokens, tenant: str, kind: TokenKind, customer_id: str) -> str:
    if kind is TokenKind.SERVICE:
        return tokens.service(tenant)
    if kind is TokenKind.CUSTOMER:
        return tokens.customer(tenant, customer_id)
    return tokens.anonymous(tenant)


def call(client: TestClient[Litestar], op: Operation, tenant: str, token: str) -> int:
    path = re.sub(r"\{(\w+)\}", lambda m: tenant if m.group(1) == "tenant" else "x1", op.path)
    body: dict[str, Any] = {"json": {}} if op.method in ("POST", "PUT", "PATCH") else {}
    response = client.request(op.method, path, headers={"Authorization": f"Bearer {token}"}, **body)
    return response.status_code


def matrix_cells(app: Litestar) -> list[tuple[Operation, TokenKind]]:
    return [(op, kind) for op in operations(app) if op.scopes is not None for kind in DEFAULT_SCOPES]


@pytest.fixture(scope="module")
def matrix_tenant(client: TestClient[Litestar], tokens: Tokens) -> tuple[str, str]:
    """A tenant with one customer, so that customer tokens stand for someone who exists."""
    tenant = "scopematrix"
    headers = {"Authorization": f"Bearer {tokens.service(tenant)}"}
    response = client.post(
        f"/customer/{tenant}/customers",
        headers=headers,
        json={"contactEmail": "matrix@example.com", "firstName": "M", "lastName": "X"},
    )
    assert response.status_code == 201, response.text
    return tenant, response.json()["id"]


def test_the_service_enforces_every_cell(
    app: Litestar, client: TestClient[Litestar], tokens: Tokens, matrix_tenant: tuple[str, str]
) -> None:
    tenant, customer_id = matrix_tenant
    wrong: list[str] = []
    for op, kind in matrix_cells(app):
        allowed = op.allows(kind, DEFAULT_SCOPES[kind])
        status = call(client, op, tenant, token_for(tokens, tenant, kind, customer_id))
        if (allowed and status in (401, 403)) or (not allowed and status != 403):
            wrong.append(
                f"{op.method} {op.path} with a {kind} token: {status}, expected "
                f"{'anything but 401/403' if allowed else '403'}"
            )
    assert wrong == [], "\n".join(wrong)


def test_a_service_token_without_scopes_gets_only_the_open_operations(
    app: Litestar, client: TestClient[Litestar], tokens: Tokens
) -> None:
    tenant = "scopeless"
    token = tokens.service(tenant, scopes=())
    for op in operations(app):
        if op.scopes:
            assert call(client, op, tenant, token) == 403, f"{op.method} {op.path}"


def test_the_cells_the_storefront_relies_on() -> None:
    """Spelled out, so that a change of the declarations cannot quietly change them."""
    from segment_service.app import create_app
    from segment_service.settings import Settings

    app = create_app(Settings(database_url="postgresql://unused", signing_key="x" * 32))
    by_id = {op.operation_id: op for op in operations(app)}
    customer = DEFAULT_SCOPES[TokenKind.CUSTOMER]

    def allows(operation_id: str, kind: TokenKind) -> bool:
        return by_id[operation_id].allows(kind, DEFAULT_SCOPES[kind] if kind is not TokenKind.CUSTOMER else customer)

    assert not allows("GET-customer-segment-retrieve-segments", TokenKind.ANONYMOUS)
    assert allows("GET-customer-segment-retrieve-segments", TokenKind.CUSTOMER)
    for admin in (
        "POST-customer-segment-create-segment",
        "GET-customer-tenant-list-customers",
        "POST-customer-mgmt-create-legal-entity",
        "POST-product-create-product",
    ):
        assert not allows(admin, TokenKind.CUSTOMER)
        assert not allows(admin, TokenKind.ANONYMOUS)
    assert allows("POST-customer-authenticate-customer", TokenKind.ANONYMOUS)
    assert not allows("POST-customer-authenticate-customer", TokenKind.CUSTOMER)
    assert not allows("GET-customer-retrieve-customer-profile", TokenKind.ANONYMOUS)
    assert not allows("GET-customer-retrieve-customer-profile", TokenKind.SERVICE)
