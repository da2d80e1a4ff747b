"""Tokens of any kind, scope and tenant, and data created through the API."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.core.auth import CLIENTS, CUSTOMER_SCOPES, SERVICE_SCOPES, TokenKind, TokenService

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
            import asyncio

            import asyncpg

            async def ensure() -> None:
                conn = await asyncpg.connect(self._database_url)
                try:
                    await conn.execute(_ENSURE_TEST_CLIENT, client_id, tenant, list(scopes))
                finally:
                    await conn.close()

            asyncio.run(ensure())
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


class Api:
    """A client of one tenant, with a service token holding every scope unless told otherwise."""

    def __init__(self, client: TestClient[Litestar], tokens: Tokens, tenant: str) -> None:
        self.client = client
        self.tokens = tokens
        self.tenant = tenant
        self.token = tokens.service(tenant)

    def url(self, path: str) -> str:
        return f"/customer-segment/{self.tenant}{path}"

    def request(
        self, method: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        return self.client.request(method, self.url(path), headers=all_headers, **kwargs)

    def create_segment(self, **overrides: Any) -> str:
        response = self.request("POST", "/segments", json=segment_body(**overrides))
        assert response.status_code == 201, response.text
        segment_id: str = response.json()["id"]
        return segment_id


# ---------------------------------------------------------------------------------------------------------------
# Shared assertions and direct database access (appended for the segment tests; usable by any service's tests).

import asyncio  # noqa: E402
import re  # noqa: E402

import asyncpg  # noqa: E402

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
    valid_scopes: tuple[str, ...],
    required: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Send a request that `case` (one of AUTH_FAILURES) makes fail and assert its status and whole body.

    `valid_scopes` are real scopes that lack every scope the operation accepts; `required` are the accepted ones,
    in the order the 403 message names them.
    """
    tokens, tenant = api.tokens, api.tenant
    forbidden: dict[str, Any] = {"code": 403, "status": "Forbidden"}
    body: dict[str, Any]
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
        body = {**forbidden, "message": f"The token belongs to tenant '{other}', not to tenant '{tenant}'."}
    else:
        assert case == "missing scope", case
        response, status = api.request(method, path, token=tokens.service(tenant, valid_scopes), **kwargs), 403
        body = {**forbidden, "message": f"Required scope(s): {', '.join(required)}."}
    assert response.status_code == status, response.text
    assert response.json() == body


def run_sql(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement directly against the test database (for rows no API writes yet)."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


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
