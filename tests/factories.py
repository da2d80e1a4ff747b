"""Tokens of any kind, scope and tenant, and data created through the API."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

import asyncpg
import httpx
from litestar.testing import TestClient

from segment_service.core.auth import CLIENTS, CUSTOMER_SCOPES, SERVICE_SCOPES, TokenKind, TokenService
from tests import database

_ENSURE_TEST_CLIENT = """
INSERT INTO api_clients (client_id, tenant, name, secret_hash, scopes)
VALUES ($1, $2, 'tests', 'not a hash', $3)
ON CONFLICT (client_id) DO UPDATE
SET scopes = ARRAY(SELECT DISTINCT unnest(api_clients.scopes || excluded.scopes) ORDER BY 1)
"""


class Tokens:
    """Mints tokens the way the service does, for tests that are not about getting a token.

    A service token names its API client, which must exist (a deleted client's tokens are refused): each tenant gets
    a client `test-client-<tenant>` that holds every scope its tokens were minted with."""

    def __init__(self, service: TokenService, database_url: str) -> None:
        self._service = service
        self._database_url = database_url
        self._client_scopes: dict[str, set[str]] = {}

    def client_id(self, tenant: str) -> str:
        return f"test-client-{tenant}"

    def _ensure_client(self, tenant: str, scopes: tuple[str, ...]) -> str:
        client_id = self.client_id(tenant)
        if tenant not in self._client_scopes or not set(scopes) <= self._client_scopes[tenant]:
            run_sql(self._database_url, _ENSURE_TEST_CLIENT, client_id, tenant, list(scopes))
            CLIENTS.forget(client_id)  # the app runs in this process: it sees the new scopes at once
            self._client_scopes.setdefault(tenant, set()).update(scopes)
        return client_id

    def service(self, tenant: str, scopes: tuple[str, ...] = SERVICE_SCOPES, ttl: int = 3600) -> str:
        client_id = self._ensure_client(tenant, scopes)
        return self._service.issue(
            tenant=tenant, kind=TokenKind.SERVICE, subject=client_id, scopes=scopes, ttl_seconds=ttl
        )

    def anonymous(self, tenant: str, ttl: int = 3600) -> str:
        """A guest token of the tenant (no session behind it, so it never ends early)."""
        return self._service.issue(tenant=tenant, kind=TokenKind.ANONYMOUS, subject="guest", scopes=(), ttl_seconds=ttl)

    def customer(self, tenant: str, customer_id: str, legal_entity_id: str | None = None) -> str:
        return self._service.issue(
            tenant=tenant,
            kind=TokenKind.CUSTOMER,
            subject=customer_id,
            scopes=CUSTOMER_SCOPES,
            ttl_seconds=3600,
            customer_id=customer_id,
            legal_entity_id=legal_entity_id,
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


class ErrorFamily(Enum):
    """How a service shapes the body of an error that names no field: the Emporix specs differ per service."""

    #: `{code, status, message}`: segments, products.
    CODE = "code"
    #: `{code, status, message, details: [message]}`: categories, customer management.
    CODE_DETAILS = "code, details"
    #: `{status, type, message}` (`ErrorMessage`): customers, coupons.
    TYPED = "typed"

    def forbidden(self, message: str) -> dict[str, Any]:
        """The whole body of a 403."""
        if self is ErrorFamily.TYPED:
            return {"status": 403, "type": "insufficient_permissions", "message": message}
        body: dict[str, Any] = {"code": 403, "status": "Forbidden", "message": message}
        if self is ErrorFamily.CODE_DETAILS:
            body["details"] = [message]
        return body


class Api:
    """A client of one tenant of one service (`prefix`, the path before the tenant), with a service token holding
    every scope unless told otherwise. Subclasses name their service in `prefix` and `error_family`."""

    prefix = "/customer-segment"
    error_family = ErrorFamily.CODE
    #: Real scopes that grant none of the service's operations: what assert_refused's "missing scope" token holds
    #: unless told otherwise.
    unrelated_scopes: tuple[str, ...] = ()

    def __init__(
        self,
        client: TestClient[Any],
        tokens: Tokens,
        tenant: str,
        *,
        prefix: str | None = None,
        error_family: ErrorFamily | None = None,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.tenant = tenant
        self.token = tokens.service(tenant)
        if prefix is not None:
            self.prefix = prefix
        if error_family is not None:
            self.error_family = error_family

    def url(self, path: str) -> str:
        return f"{self.prefix}/{self.tenant}{path}"

    def request(
        self, method: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        return self.client.request(method, self.url(path), headers=all_headers, **kwargs)

    def create_segment(self, **overrides: Any) -> str:
        response = self.client.post(
            f"/customer-segment/{self.tenant}/segments",
            json=segment_body(**overrides),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 201, response.text
        segment_id: str = response.json()["id"]
        return segment_id


#: The 401 bodies of the gateway (docs/decisions.md#error-bodies).
INVALID_TOKEN = {
    "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
}
EXPIRED_TOKEN = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}
#: The ways a request can be refused before it reaches the operation: 401 for the token, 403 for tenant or scope.
AUTH_FAILURES = ("no token", "garbage token", "expired token", "missing scope", "other tenant")
#: The refusals of an operation that needs a token of the tenant but no scope.
TOKEN_FAILURES = tuple(case for case in AUTH_FAILURES if case != "missing scope")
#: The refusals of an operation only a service token may call: a storefront token lacks the scope.
SERVICE_TOKEN_FAILURES = (*AUTH_FAILURES, "customer token", "anonymous token")


class _IsoMillis:
    """Equal to any `2024-05-14T12:00:00.000Z`-shaped string (UTC, milliseconds, `Z`)."""

    _PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(self._PATTERN.fullmatch(other))

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<ISO 8601 UTC date-time with milliseconds>"


ISO_MILLIS: Any = _IsoMillis()


def assert_refused(
    api: Api,
    case: str,
    method: str,
    path: str,
    *,
    required: tuple[str, ...],
    valid_scopes: tuple[str, ...] | None = None,
    **kwargs: Any,
) -> None:
    """Send a request that `case` (one of SERVICE_TOKEN_FAILURES) makes fail and assert its status and whole body,
    a 403 in the shape of `api.error_family`.

    `valid_scopes` are real scopes that lack every scope the operation accepts (`api.unrelated_scopes` unless
    given); `required` are the accepted ones, in the order the 403 message names them.
    """
    tokens, tenant = api.tokens, api.tenant
    body: dict[str, Any]
    lacks_scope = f"Required scope(s): {', '.join(required)}."
    if case == "no token":
        response, status, body = api.client.request(method, api.url(path), **kwargs), 401, INVALID_TOKEN
    elif case == "garbage token":
        response, status, body = api.request(method, path, token="not-a-token", **kwargs), 401, INVALID_TOKEN
    elif case == "expired token":
        response = api.request(method, path, token=tokens.service(tenant, ttl=-1), **kwargs)
        status, body = 401, EXPIRED_TOKEN
    elif case == "other tenant":
        other = "o" + tenant[1:]
        response, status = api.request(method, path, token=tokens.service(other), **kwargs), 403
        body = api.error_family.forbidden(f"The token belongs to tenant '{other}', not to tenant '{tenant}'.")
    elif case == "customer token":
        response, status = api.request(method, path, token=tokens.customer(tenant, "c1"), **kwargs), 403
        body = api.error_family.forbidden(lacks_scope)
    elif case == "anonymous token":
        response, status = api.request(method, path, token=tokens.anonymous(tenant), **kwargs), 403
        body = api.error_family.forbidden(lacks_scope)
    else:
        assert case == "missing scope", case
        scopes = api.unrelated_scopes if valid_scopes is None else valid_scopes
        assert scopes, "name real scopes that lack the operation's: a token without scopes proves less"
        response, status = api.request(method, path, token=tokens.service(tenant, scopes), **kwargs), 403
        body = api.error_family.forbidden(lacks_scope)
    assert response.status_code == status, response.text
    assert response.json() == body


def run_sql(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement directly against the test database (for rows no API writes yet), on the session's
    connection (tests/database.py)."""
    return database.fetch(database_url, query, *args)


def assign_customer(
    database_url: str, tenant: str, segment_id: str, customer_id: str, legal_entity_id: str = ""
) -> None:
    """A customer assignment row; `legal_entity_id` '' is B2C."""
    run_sql(
        database_url,
        "INSERT INTO segment_customer_assignments (tenant, segment_id, customer_id, legal_entity_id, created_at,"
        " modified_at) VALUES ($1, $2, $3, $4, now(), now())",
        tenant,
        segment_id,
        customer_id,
        legal_entity_id,
    )


def assign_item(database_url: str, tenant: str, segment_id: str, item_id: str, item_type: str = "PRODUCT") -> None:
    """An item assignment row."""
    run_sql(
        database_url,
        "INSERT INTO segment_item_assignments (tenant, segment_id, item_type, item_id, created_at, modified_at)"
        " VALUES ($1, $2, $3, $4, now(), now())",
        tenant,
        segment_id,
        item_type,
        item_id,
    )


def assignment_count(database_url: str, tenant: str, segment_id: str) -> int:
    """Customer plus item assignments of a segment."""
    rows = run_sql(
        database_url,
        "SELECT (SELECT count(*) FROM segment_customer_assignments WHERE tenant = $1 AND segment_id = $2)"
        " + (SELECT count(*) FROM segment_item_assignments WHERE tenant = $1 AND segment_id = $2) AS n",
        tenant,
        segment_id,
    )
    return int(rows[0]["n"])


def segment_error(
    status: int, message: str, *, field: str | None = None, type: str | None = None, resource_id: str | None = None
) -> dict[str, Any]:
    """A whole segment-service error body: `details` repeats the message when the error names a field."""
    from http import HTTPStatus

    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if resource_id is not None:
        body["resourceId"] = resource_id
    if field is not None:
        body["details"] = {"field": field, "type": type or "validation_violation", "message": message}
    return body


def make_contact(database_url: str, tenant: str, legal_entity_id: str, customer_id: str) -> None:
    """Make a customer a contact of a legal entity (created if need be), straight in the tables."""
    run_sql(
        database_url,
        "INSERT INTO legal_entities (tenant, id, name, type, created_at, modified_at)"
        " VALUES ($1, $2, $2, 'COMPANY', now(), now()) ON CONFLICT DO NOTHING",
        tenant,
        legal_entity_id,
    )
    run_sql(
        database_url,
        "INSERT INTO contact_assignments (tenant, id, legal_entity_id, customer_id, type, created_at, modified_at)"
        " VALUES ($1, $2, $3, $4, 'CONTACT', now(), now())",
        tenant,
        f"{legal_entity_id}-{customer_id}",
        legal_entity_id,
        customer_id,
    )


#: What a 400 for a bad pageNumber or pageSize says it expects (core/paging.py).
PAGE_BOUNDS = {
    "pageNumber": "an integer from 1 to 10000000",
    "pageSize": "an integer of at least 1 (above 1000, 1000 is used)",
}
