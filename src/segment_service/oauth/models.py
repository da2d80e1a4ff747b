"""OAuth API shapes, as `oauth.yml` names them."""

from __future__ import annotations

import msgspec


class AccessTokenRequest(msgspec.Struct):
    """The form fields of `POST /oauth/token`."""

    grant_type: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class AccessToken(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    session_idle_time: int
    refresh_token: str
    refresh_token_expires_in: int
    scope: str


class ApiClient(msgspec.Struct):
    """A stored API client; the secret itself is never stored, only its hash."""

    client_id: str
    tenant: str
    name: str
    secret_hash: str
    scopes: list[str]
