"""OAuth routes: POST /oauth/token (client credentials)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from segment_service.core.db import Database
from segment_service.core.http import json_response
from segment_service.core.openapi import CustomerError, error_responses
from segment_service.oauth import service
from segment_service.oauth.models import AccessToken, AccessTokenRequest, AnonymousAccessToken


class OAuthController(Controller):
    path = "/oauth"
    tags = ["Service Access Token"]

    @post(
        "/token",
        status_code=200,
        operation_id="POST-oauth-request-client-credentials",
        summary="Requesting a service access token",
        responses=error_responses(400),
    )
    async def request_token(
        self,
        db: Database,
        state: State,
        data: Annotated[AccessTokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[AccessToken]:
        """Returns a service access token for client credentials (no refresh tokens)."""
        async with db.connection() as conn:
            token = await service.issue_service_token(
                conn, state.tokens, data, ttl_seconds=state.settings.token_ttl_seconds
            )
        return json_response(token)


class AnonymousLoginController(Controller):
    """GET /customerlogin/auth/anonymous/login and /refresh (customer-login.yml): storefront guest tokens."""

    path = "/customerlogin/auth/anonymous"
    tags = ["Authentication and authorization"]

    @get(
        "/login",
        operation_id="GET-oauth-generate-anonymous-access-token",
        summary="Requesting an anonymous token",
        responses=error_responses(400, body=CustomerError),
    )
    async def anonymous_login(
        self,
        db: Database,
        state: State,
        tenant: str,
        client_id: str,
        currency: str | None = None,
        site_code: str | None = Parameter(query="siteCode", default=None),
        # Not `language`: that name is the app-wide dependency for Content-Language.
        session_language: str | None = Parameter(query="language", default=None),
        target_location: str | None = Parameter(query="targetLocation", default=None),
    ) -> Response[AnonymousAccessToken]:
        """Returns an anonymous token and a new session; the optional values are kept as the session's context."""
        context = {
            k: v
            for k, v in (
                ("currency", currency),
                ("siteCode", site_code),
                ("language", session_language),
                ("targetLocation", target_location),
            )
            if v is not None
        }
        async with db.transaction() as conn:
            token = await service.start_anonymous_session(
                conn, state.tokens, tenant=tenant, client_id=client_id, context=context
            )
        return json_response(token)

    @get(
        "/refresh",
        operation_id="GET-oauth-refresh-anonymous-access-token",
        summary="Refreshing an anonymous token",
        responses=error_responses(400, body=CustomerError),
    )
    async def anonymous_refresh(
        self,
        db: Database,
        state: State,
        tenant: str,
        client_id: str,
        refresh_token: str | None = None,
        anonymous_token: str | None = Parameter(default=None, description="Deprecated: use refresh_token."),
    ) -> Response[AnonymousAccessToken]:
        """Returns a new anonymous token for the same session (sessionId is kept)."""
        async with db.transaction() as conn:
            token = await service.refresh_anonymous_session(
                conn,
                state.tokens,
                tenant=tenant,
                client_id=client_id,
                refresh_token=refresh_token,
                anonymous_token=anonymous_token,
            )
        return json_response(token)
