"""POST /oauth/token: client credentials, as oauth.yml describes it."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from segment_service.core.auth import SERVICE_SCOPES, Scope
from segment_service.oauth import service as oauth_service

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
INVALID_CLIENT = {
    "fault": {"faultstring": "Invalid client credentials", "detail": {"errorcode": "oauth.v2.InvalidClientIdentifier"}}
}


def make_client(database_url: str, tenant: str, scopes: list[str] | None = None) -> tuple[str, str]:
    async def create() -> tuple[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            client, secret = await oauth_service.create_client(conn, tenant=tenant, scopes=scopes)
        finally:
            await conn.close()
        return client.client_id, secret

    return asyncio.run(create())


def request_token(client: TestClient[Any], **form: str) -> Any:
    return client.post("/oauth/token", data={"grant_type": "client_credentials", **form}, headers=FORM)


class TestRequestToken:
    def test_returns_a_service_token_with_every_scope_of_the_client(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id, secret = make_client(database_url, tenant)
        response = request_token(client, client_id=client_id, client_secret=secret)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {
            "access_token",
            "token_type",
            "expires_in",
            "session_idle_time",
            "refresh_token",
            "refresh_token_expires_in",
            "scope",
        }
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 14399
        assert body["refresh_token"] == ""
        assert body["refresh_token_expires_in"] == 0
        scope = body["scope"].split()
        assert scope[0] == f"tenant={tenant}"
        assert set(scope[1:]) == set(SERVICE_SCOPES)

    def test_the_token_works_on_the_api(self, client: TestClient[Litestar], database_url: str, tenant: str) -> None:
        client_id, secret = make_client(database_url, tenant)
        token = request_token(client, client_id=client_id, client_secret=secret).json()["access_token"]
        response = client.get(f"/customer-segment/{tenant}/segments", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json() == []

    def test_requested_scopes_narrow_the_token(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id, secret = make_client(database_url, tenant)
        body = request_token(
            client, client_id=client_id, client_secret=secret, scope=f"tenant={tenant} {Scope.SEGMENT_READ}"
        ).json()
        assert body["scope"] == f"tenant={tenant} {Scope.SEGMENT_READ}"
        headers = {"Authorization": f"Bearer {body['access_token']}", "Content-Type": "application/json"}
        created = client.post(
            f"/customer-segment/{tenant}/segments", headers=headers, content=b'{"name":{"en":"x"},"siteCode":"main"}'
        )
        assert created.status_code == 403
        assert created.json()["code"] == 403

    def test_a_scope_the_client_lacks_is_refused(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id, secret = make_client(database_url, tenant, scopes=[Scope.SEGMENT_READ])
        response = request_token(client, client_id=client_id, client_secret=secret, scope=str(Scope.SEGMENT_MANAGE))
        assert response.status_code == 400
        assert response.json()["message"] == ("Invalid scope: the client does not have customersegment.segment_manage.")

    def test_another_tenant_in_scope_is_refused(
        self, client: TestClient[Litestar], database_url: str, tenant: str
    ) -> None:
        client_id, secret = make_client(database_url, tenant)
        response = request_token(client, client_id=client_id, client_secret=secret, scope="tenant=other")
        assert response.status_code == 400
        assert "belongs to tenant" in response.json()["message"]

    @pytest.mark.parametrize(
        "form",
        [
            {"client_id": "nobody", "client_secret": "nothing"},
            {"client_id": "", "client_secret": ""},
            {},
        ],
    )
    def test_unknown_client_is_401(self, client: TestClient[Litestar], form: dict[str, str]) -> None:
        response = request_token(client, **form)
        assert response.status_code == 401
        assert response.json() == INVALID_CLIENT

    def test_wrong_secret_is_401(self, client: TestClient[Litestar], database_url: str, tenant: str) -> None:
        client_id, _ = make_client(database_url, tenant)
        response = request_token(client, client_id=client_id, client_secret="not-the-secret")
        assert response.status_code == 401
        assert response.json() == INVALID_CLIENT

    def test_other_grant_types_are_400(self, client: TestClient[Litestar], database_url: str, tenant: str) -> None:
        client_id, secret = make_client(database_url, tenant)
        response = client.post(
            "/oauth/token",
            headers=FORM,
            data={"grant_type": "password", "client_id": client_id, "client_secret": secret},
        )
        assert response.status_code == 400
        assert response.json()["message"] == "Unsupported grant_type: only 'client_credentials' is supported."

    def test_secrets_are_stored_hashed(self, database_url: str, tenant: str) -> None:
        client_id, secret = make_client(database_url, tenant)

        async def stored() -> str:
            conn = await asyncpg.connect(database_url)
            try:
                return str(await conn.fetchval("SELECT secret_hash FROM api_clients WHERE client_id = $1", client_id))
            finally:
                await conn.close()

        assert secret not in asyncio.run(stored())


class TestTokens:
    """How the API treats the bearer token, whatever the operation."""

    def test_expired_token_is_401_with_the_gateway_body(
        self, client: TestClient[Litestar], tokens: Any, tenant: str
    ) -> None:
        token = tokens.service(tenant, ttl=-1)
        response = client.get(f"/customer-segment/{tenant}/segments", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json() == {
            "fault": {
                "faultstring": "Access Token expired",
                "detail": {"errorcode": "keymanagement.service.access_token_expired"},
            }
        }

    def test_token_signed_by_another_key_is_401(self, client: TestClient[Litestar], tenant: str) -> None:
        from segment_service.core.auth import TokenKind, TokenService

        foreign = TokenService("another-key-" + "y" * 40).issue(
            tenant=tenant, kind=TokenKind.SERVICE, subject="x", scopes=SERVICE_SCOPES, ttl_seconds=600
        )
        response = client.get(f"/customer-segment/{tenant}/segments", headers={"Authorization": f"Bearer {foreign}"})
        assert response.status_code == 401
        assert response.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"

    @pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "Bearer not.a.jwt", "Bearer a b"])
    def test_malformed_authorization_is_401(self, client: TestClient[Litestar], tenant: str, header: str) -> None:
        response = client.get(f"/customer-segment/{tenant}/segments", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json() == {
            "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
        }
