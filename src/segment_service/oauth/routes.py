"""OAuth routes: POST /oauth/token (client credentials)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body

from segment_service.core.db import Database
from segment_service.core.http import json_response
from segment_service.core.openapi import error_responses
from segment_service.oauth import service
from segment_service.oauth.models import AccessToken, AccessTokenRequest


class OAuthController(Controller):
    path = "/oauth"
    tags = ["Service Access Token"]

    @post("/token", status_code=200, operation_id="POST-oauth-request-client-credentials",
          summary="Requesting a service access token",
          responses=error_responses(400))
    async def request_token(
        self, db: Database, state: State,
        data: Annotated[AccessTokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[AccessToken]:
        """Returns a service access token for client credentials (no refresh tokens)."""
        async with db.connection() as conn:
            token = await service.issue_service_token(conn, state.tokens, data,
                                                      ttl_seconds=state.settings.token_ttl_seconds)
        return json_response(token)
