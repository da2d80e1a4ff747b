"""Storefront guest tokens: GET /customerlogin/auth/anonymous/login and /refresh (customer-login.yml)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import run_sql

from segment_service.core.auth import TokenKind, TokenService
from segment_service.oauth import service as oauth_service

LOGIN = "/customerlogin/auth/anonymous/login"
REFRESH = "/customerlogin/auth/anonymous/refresh"
INVALID_CLIENT = {
    "fault": {"faultstring": "Invalid client credentials", "detail": {"errorcode": "oauth.v2.InvalidClientIdentifier"}}
}
INVALID_REFRESH = {
    "fault": {"faultstring": "Invalid refresh token", "detail": {"errorcode": "oauth.v2.InvalidRefreshToken"}}
}


def storefront_client(database_url: str, tenant: str) -> str:
    async def create() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            return (await oauth_service.create_storefront_client(conn, tenant=tenant)).client_id
        finally:
            await conn.close()

    return asyncio.run(create())


def login(client: TestClient[Litestar], tenant: str, client_id: str, **params: str) -> Any:
    return client.get(LOGIN, params={"tenant": tenant, "client_id": client_id, **params})


class TestAnonymousLogin:
    def test_returns_an_anonymous_token_with_a_session(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id = storefront_client(database_url, tenant)
        response = login(client, tenant, client_id, currency="EUR", siteCode="main")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
            "sessionId",
            "scope",
        }
        assert (body["token_type"], body["expires_in"], body["refresh_token_expires_in"], body["scope"]) == (
            "Bearer",
            3599,
            86399,
            f"tenant={tenant}",
        )
        stored = run_sql(
            database_url,
            "SELECT kind, context FROM token_sessions WHERE tenant = $1 AND id = $2",
            tenant,
            body["sessionId"],
        )
        assert [(r["kind"], r["context"]) for r in stored] == [("anonymous", '{"currency": "EUR", "siteCode": "main"}')]

    def test_an_anonymous_token_reads_no_segments(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        token = login(client, tenant, storefront_client(database_url, tenant)).json()["access_token"]
        response = client.get(f"/customer-segment/{tenant}/segments", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403
        assert response.json()["message"] == (
            "Required scope(s): customersegment.segment_read, customersegment.segment_read_own."
        )

    def test_unknown_client_is_401(self, client: TestClient[Litestar], tenant: str) -> None:
        response = login(client, tenant, "nobody")
        assert response.status_code == 401
        assert response.json() == INVALID_CLIENT

    def test_a_storefront_client_of_another_tenant_is_401(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        response = login(client, "othertenant", storefront_client(database_url, tenant))
        assert response.status_code == 401
        assert response.json() == INVALID_CLIENT

    def test_a_service_client_cannot_get_anonymous_tokens(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        async def create() -> str:
            conn = await asyncpg.connect(database_url)
            try:
                return (await oauth_service.create_client(conn, tenant=tenant))[0].client_id
            finally:
                await conn.close()

        response = login(client, tenant, asyncio.run(create()))
        assert response.status_code == 401

    @pytest.mark.parametrize("missing", ["tenant", "client_id"])
    def test_missing_parameter_is_400_in_the_customer_error_shape(
        self, client: TestClient[Litestar], missing: str
    ) -> None:
        params = {"tenant": "abc", "client_id": "x"}
        del params[missing]
        response = client.get(LOGIN, params=params)
        assert response.status_code == 400
        body = response.json()
        assert (body["status"], body["type"]) == (400, "validation_violation")
        assert missing in body["message"]


class TestAnonymousRefresh:
    def test_keeps_the_session_and_rotates_the_refresh_token(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id = storefront_client(database_url, tenant)
        first = login(client, tenant, client_id).json()
        response = client.get(
            REFRESH, params={"tenant": tenant, "client_id": client_id, "refresh_token": first["refresh_token"]}
        )
        assert response.status_code == 200, response.text
        second = response.json()
        assert second["sessionId"] == first["sessionId"]
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]
        reused = client.get(
            REFRESH, params={"tenant": tenant, "client_id": client_id, "refresh_token": first["refresh_token"]}
        )
        assert reused.status_code == 401
        assert reused.json() == INVALID_REFRESH

    def test_the_deprecated_anonymous_token_parameter_still_works(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id = storefront_client(database_url, tenant)
        first = login(client, tenant, client_id).json()
        response = client.get(
            REFRESH, params={"tenant": tenant, "client_id": client_id, "anonymous_token": first["access_token"]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["sessionId"] == first["sessionId"]

    def test_unknown_refresh_token_is_401(self, client: TestClient[Litestar], database_url: str, tenant: str) -> None:
        client_id = storefront_client(database_url, tenant)
        response = client.get(REFRESH, params={"tenant": tenant, "client_id": client_id, "refresh_token": "nope"})
        assert response.status_code == 401
        assert response.json() == INVALID_REFRESH

    def test_refresh_with_another_client_is_401(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        first = login(client, tenant, storefront_client(database_url, tenant)).json()
        other = storefront_client(database_url, tenant)
        response = client.get(
            REFRESH, params={"tenant": tenant, "client_id": other, "refresh_token": first["refresh_token"]}
        )
        assert response.status_code == 401

    def test_neither_token_is_400(self, client: TestClient[Litestar], database_url: str, tenant: str) -> None:
        client_id = storefront_client(database_url, tenant)
        response = client.get(REFRESH, params={"tenant": tenant, "client_id": client_id})
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "refresh_token"


class TestEndedSessions:
    def test_tokens_of_an_ended_session_are_401(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id = storefront_client(database_url, tenant)
        body = login(client, tenant, client_id).json()
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        segments = f"/customer-segment/{tenant}/segments"
        assert client.get(segments, headers=headers).status_code == 403  # valid, just without the scope

        async def end() -> None:
            conn = await asyncpg.connect(database_url)
            try:
                await oauth_service.end_session(conn, tenant, body["sessionId"])
            finally:
                await conn.close()

        asyncio.run(end())
        response = client.get(segments, headers=headers)
        assert response.status_code == 401
        assert response.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
        refreshed = client.get(
            REFRESH, params={"tenant": tenant, "client_id": client_id, "refresh_token": body["refresh_token"]}
        )
        assert refreshed.status_code == 401


class TestRefreshSecurity:
    def test_one_refresh_token_refreshes_once_even_when_raced(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id = storefront_client(database_url, tenant)
        first = login(client, tenant, client_id).json()
        params = {"tenant": tenant, "client_id": client_id, "refresh_token": first["refresh_token"]}
        with ThreadPoolExecutor(max_workers=5) as pool:
            statuses = sorted(pool.map(lambda _: client.get(REFRESH, params=params).status_code, range(5)))
        assert statuses == [200, 401, 401, 401, 401]

    def test_the_deprecated_path_refuses_long_expired_tokens_and_keeps_the_refresh_token(
        self, client: TestClient[Litestar], app: Litestar, database_url: str, tenant: str
    ) -> None:
        client_id = storefront_client(database_url, tenant)
        first = login(client, tenant, client_id).json()
        tokens = app.state.tokens
        ancient = tokens.issue(
            tenant=tenant,
            kind=TokenKind.ANONYMOUS,
            subject=first["sessionId"],
            scopes=(),
            ttl_seconds=-(86399 + 60),
            session_id=first["sessionId"],
        )
        response = client.get(REFRESH, params={"tenant": tenant, "client_id": client_id, "anonymous_token": ancient})
        assert response.status_code == 401
        recent = tokens.issue(
            tenant=tenant,
            kind=TokenKind.ANONYMOUS,
            subject=first["sessionId"],
            scopes=(),
            ttl_seconds=-60,
            session_id=first["sessionId"],
        )
        response = client.get(REFRESH, params={"tenant": tenant, "client_id": client_id, "anonymous_token": recent})
        assert response.status_code == 200, response.text
        assert "refresh_token" not in response.json()
        still = client.get(
            REFRESH, params={"tenant": tenant, "client_id": client_id, "refresh_token": first["refresh_token"]}
        )
        assert still.status_code == 200

    def test_short_signing_keys_are_refused(self) -> None:
        with pytest.raises(ValueError, match="at least 32 bytes"):
            TokenService("short")
