"""OAuth API shapes, as `oauth.yml` names them."""

from __future__ import annotations

from enum import StrEnum

import msgspec
from msgspec import UNSET, UnsetType


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


class ClientKind(StrEnum):
    SERVICE = "service"
    """A back-office client: client_id and secret, for service tokens."""
    STOREFRONT = "storefront"
    """A public storefront client: a client_id only, for anonymous tokens."""


class ApiClient(msgspec.Struct):
    """A stored API client; the secret itself is never stored, only its hash (none for a storefront client)."""

    client_id: str
    tenant: str
    name: str
    secret_hash: str | None
    scopes: list[str]
    kind: ClientKind = ClientKind.SERVICE


class AnonymousAccessToken(msgspec.Struct, omit_defaults=True):
    """The anonymous-token response of customer-login.yml."""

    access_token: str
    token_type: str
    expires_in: int
    sessionId: str  # noqa: N815 - the spec's name
    scope: str
    refresh_token: str | UnsetType = UNSET
    """Left out when the deprecated `anonymous_token` refresh is used, as in Emporix's example."""
    refresh_token_expires_in: int | UnsetType = UNSET


class SessionTokens(msgspec.Struct):
    """A customer session's tokens, for the customer service to shape into its responses."""

    access_token: str
    refresh_token: str
    session_id: str
    expires_in: int
    refresh_token_expires_in: int
    scope: str


class CustomerSession(msgspec.Struct):
    """An open customer session, found by its refresh token."""

    session_id: str
    tenant: str
    customer_id: str
    legal_entity_id: str | None
    refresh_hash: str = ""
    """Which refresh token found the session: renewing it succeeds only while that one is still current."""


class SessionRow(msgspec.Struct):
    """A stored storefront session."""

    tenant: str
    id: str
    kind: str
    client_id: str | None
    customer_id: str | None
    legal_entity_id: str | None
