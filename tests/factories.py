"""Tokens of any kind, scope and tenant, and data created through the API."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.core.auth import SERVICE_SCOPES, Scope, TokenKind, TokenService


class Tokens:
    """Mints tokens the way the service does, for tests that are not about getting a token."""

    def __init__(self, service: TokenService) -> None:
        self._service = service

    def service(self, tenant: str, scopes: tuple[str, ...] = SERVICE_SCOPES, ttl: int = 3600) -> str:
        return self._service.issue(tenant=tenant, kind=TokenKind.SERVICE, subject="test-client", scopes=scopes,
                                   ttl_seconds=ttl)

    def customer(self, tenant: str, customer_id: str, legal_entity_id: str | None = None) -> str:
        return self._service.issue(
            tenant=tenant, kind=TokenKind.CUSTOMER, subject=customer_id,
            scopes=(Scope.SEGMENT_READ_OWN, Scope.COUPON_REDEEM), ttl_seconds=3600,
            customer_id=customer_id, legal_entity_id=legal_entity_id,
        )


def segment_body(**overrides: Any) -> dict[str, Any]:
    """The spec's SegmentCreation example, without its id unless given."""
    body: dict[str, Any] = {
        "name": {"en": "Golden Segment"},
        "description": {"en": "Golden Segment"},
        "validity": {"from": "2024-04-17T08:00:00.000Z", "to": "2025-04-17T08:00:00.000Z"},
        "status": "ACTIVE",
        "siteCode": "main",
    }
    body.update(overrides)
    return body


class Api:
    """A client of one tenant, with a service token holding every scope unless told otherwise."""

    def __init__(self, client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
        self.client = client
        self.tokens = tokens
        self.tenant = tenant
        self.token = tokens.service(tenant)

    def url(self, path: str) -> str:
        return f"/customer-segment/{self.tenant}{path}"

    def request(self, method: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None,
                **kwargs: Any) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        return self.client.request(method, self.url(path), headers=all_headers, **kwargs)

    def create_segment(self, **overrides: Any) -> str:
        response = self.request("POST", "/segments", json=segment_body(**overrides))
        assert response.status_code == 201, response.text
        segment_id: str = response.json()["id"]
        return segment_id
