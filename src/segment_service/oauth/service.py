"""API clients and service tokens (oauth.yml; docs/behaviour.md#tokens-and-scopes)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import datetime

from segment_service.core.auth import (
    ANONYMOUS_SCOPES,
    CLIENTS,
    CUSTOMER_SCOPES,
    SERVICE_SCOPES,
    SESSIONS,
    TokenKind,
    TokenService,
    scope_text,
)
from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest, NotFound, Unauthorized
from segment_service.core.ids import new_client_id
from segment_service.oauth import store
from segment_service.oauth.models import (
    AccessToken,
    AccessTokenRequest,
    AnonymousAccessToken,
    ApiClient,
    ClientKind,
    CustomerSession,
    SessionRow,
    SessionTokens,
)

#: Emporix's documented idle time; we do not end idle sessions, the value is informational.
SESSION_IDLE_TIME = 120
_TENANT = r"[a-z][a-z0-9]{2,15}"

# Lifetimes as Emporix documents them (docs/decisions.md#storefront-tokens): anonymous 1 h, customer 30 days, refresh
# tokens 24 h.
ANONYMOUS_TTL = 3599
CUSTOMER_TTL = 2591999
REFRESH_TTL = 86399
INVALID_CLIENT = "Invalid client credentials"


def hash_secret(secret: str) -> str:
    """Client secrets are 256-bit random strings, so one SHA-256 round is enough: a slow hash only helps against
    guessable (human) passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_tenant(tenant: str) -> str:
    """A tenant name as Emporix allows it: lowercase, starts with a letter, 3-16 characters."""
    if not re.fullmatch(_TENANT, tenant):
        raise BadRequest(f"Invalid tenant '{tenant}': use 3-16 lowercase letters and digits, starting with a letter.")
    return tenant


async def create_client(
    conn: Connection, *, tenant: str, scopes: Iterable[str] | None = None, name: str = ""
) -> tuple[ApiClient, str]:
    """A new API client of `tenant` and its secret (shown once; only its hash is stored)."""
    check_tenant(tenant)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=new_client_id(),
        tenant=tenant,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(SERVICE_SCOPES if scopes is None else scopes)),
    )
    await store.insert_client(conn, client)
    return client, secret


# ----------------------------------------------------------------------------------------------- client changes


async def list_clients(conn: Connection, tenant: str | None = None) -> list[tuple[ApiClient, datetime]]:
    """Every API client (of `tenant`), with its creation time."""
    return await store.list_clients(conn, tenant)


async def _existing_client(conn: Connection, client_id: str) -> ApiClient:
    client = await store.fetch_client(conn, client_id)
    if client is None:
        raise NotFound(f"No API client '{client_id}'.")
    return client


async def revoke_client(conn: Connection, client_id: str) -> ApiClient:
    """Delete a client: its tokens answer 401 at once (other processes within a second), a storefront client's
    anonymous sessions end. The deleted client."""
    client = await _existing_client(conn, client_id)
    await store.delete_client(conn, client_id)
    for session_id in await store.end_client_sessions(conn, client_id):
        SESSIONS.forget(session_id)
    CLIENTS.forget(client_id)
    return client


async def update_client(
    conn: Connection, client_id: str, *, scopes: Iterable[str] | None, name: str | None
) -> ApiClient:
    """Replace a service client's scopes (its issued tokens keep only those they share with them) and/or name."""
    client = await _existing_client(conn, client_id)
    new_scopes = None if scopes is None else sorted(set(scopes))
    if new_scopes is not None and client.kind is ClientKind.STOREFRONT:
        raise BadRequest(
            "A storefront client has no scopes; its tokens are anonymous or customer tokens.",
            field="scope",
            type="invalid_value",
        )
    await store.update_client(conn, client_id, scopes=new_scopes, name=name)
    CLIENTS.forget(client_id)
    return await _existing_client(conn, client_id)


async def rotate_client_secret(conn: Connection, client_id: str) -> tuple[ApiClient, str]:
    """A new secret for a service client (shown once); the old one stops working. Tokens already issued stay valid
    until they expire: revoke the client to end them too."""
    client = await _existing_client(conn, client_id)
    if client.kind is not ClientKind.SERVICE:
        raise BadRequest("A storefront client has no secret.", field="client_id", type="invalid_value")
    secret = secrets.token_urlsafe(32)
    await store.set_client_secret(conn, client_id, hash_secret(secret))
    return client, secret


async def issue_service_token(
    conn: Connection, tokens: TokenService, form: AccessTokenRequest, *, ttl_seconds: int
) -> AccessToken:
    """A service token for valid client credentials, with all the client's scopes or the requested subset."""
    if form.grant_type != "client_credentials":
        raise BadRequest(
            "Unsupported grant_type: only 'client_credentials' is supported.",
            field="grant_type",
            type="unsupported_grant_type",
        )
    if not form.client_id or not form.client_secret:
        raise Unauthorized("Invalid client credentials", errorcode="oauth.v2.InvalidClientIdentifier")
    client = await store.fetch_client(conn, form.client_id)
    if (
        client is None
        or client.secret_hash is None
        or not hmac.compare_digest(client.secret_hash, hash_secret(form.client_secret))
    ):
        raise Unauthorized("Invalid client credentials", errorcode="oauth.v2.InvalidClientIdentifier")
    scopes = set(client.scopes)
    if form.scope and form.scope.strip():
        requested = set()
        for item in form.scope.split():
            if item.startswith("tenant="):
                if item != f"tenant={client.tenant}":
                    raise BadRequest(
                        f"Invalid scope '{item}': the client belongs to tenant '{client.tenant}'.",
                        field="scope",
                        type="invalid_scope",
                    )
                continue
            requested.add(item)
        missing = requested - scopes
        if missing:
            raise BadRequest(
                f"Invalid scope: the client does not have {', '.join(sorted(missing))}.",
                field="scope",
                type="invalid_scope",
            )
        scopes = requested
    await tokens.reload_keys()
    token = tokens.issue(
        tenant=client.tenant, kind=TokenKind.SERVICE, subject=client.client_id, scopes=scopes, ttl_seconds=ttl_seconds
    )
    return AccessToken(
        access_token=token,
        token_type="Bearer",
        expires_in=ttl_seconds,
        session_idle_time=SESSION_IDLE_TIME,
        refresh_token="",
        refresh_token_expires_in=0,
        scope=scope_text(client.tenant, scopes),
    )


async def create_storefront_client(conn: Connection, *, tenant: str, name: str = "") -> ApiClient:
    """A public storefront client of `tenant`: a client_id that gets anonymous tokens, no secret."""
    check_tenant(tenant)
    client = ApiClient(
        client_id=new_client_id(), tenant=tenant, name=name, secret_hash=None, scopes=[], kind=ClientKind.STOREFRONT
    )
    await store.insert_client(conn, client)
    return client


async def _check_storefront_client(conn: Connection, tenant: str, client_id: str) -> None:
    client = await store.fetch_client(conn, client_id)
    if client is None or client.kind is not ClientKind.STOREFRONT or client.tenant != tenant:
        raise Unauthorized(INVALID_CLIENT, errorcode="oauth.v2.InvalidClientIdentifier")


async def start_anonymous_session(
    conn: Connection, tokens: TokenService, *, tenant: str, client_id: str, context: dict[str, str]
) -> AnonymousAccessToken:
    """A new anonymous session for a storefront client, with its first token (scope `tenant=T` only)."""
    await _check_storefront_client(conn, tenant, client_id)
    session = SessionRow(
        tenant=tenant,
        id=str(uuid.uuid4()),
        kind=TokenKind.ANONYMOUS.value,
        client_id=client_id,
        customer_id=None,
        legal_entity_id=None,
    )
    refresh_token = secrets.token_urlsafe(24)
    await store.insert_session(
        conn,
        session,
        refresh_hash=hash_secret(refresh_token),
        context=context or None,
        refresh_ttl=REFRESH_TTL,
        ttl=max(REFRESH_TTL, ANONYMOUS_TTL),
    )
    # Anyone with a storefront client_id can open sessions, so every new one clears away a few long-dead ones.
    await store.purge_sessions(conn, limit=20)
    await tokens.reload_keys()
    return _anonymous_token(tokens, session, refresh_token)


def _anonymous_token(tokens: TokenService, session: SessionRow, refresh_token: str | None) -> AnonymousAccessToken:
    access_token = tokens.issue(
        tenant=session.tenant,
        kind=TokenKind.ANONYMOUS,
        subject=session.id,
        scopes=ANONYMOUS_SCOPES,
        ttl_seconds=ANONYMOUS_TTL,
        session_id=session.id,
    )
    token = AnonymousAccessToken(
        access_token=access_token,
        token_type="Bearer",
        expires_in=ANONYMOUS_TTL,
        sessionId=session.id,
        scope=scope_text(session.tenant, ANONYMOUS_SCOPES),
    )
    if refresh_token is not None:
        token.refresh_token = refresh_token
        token.refresh_token_expires_in = REFRESH_TTL
    return token


async def refresh_anonymous_session(
    conn: Connection,
    tokens: TokenService,
    *,
    tenant: str,
    client_id: str,
    refresh_token: str | None,
    anonymous_token: str | None,
) -> AnonymousAccessToken:
    """A new anonymous token for the same session, by its refresh token (which rotates), or by the deprecated
    `anonymous_token` (an access token of the session that expired less than a refresh lifetime ago)."""
    await _check_storefront_client(conn, tenant, client_id)
    invalid = Unauthorized("Invalid refresh token", errorcode="oauth.v2.InvalidRefreshToken")
    if refresh_token:
        new_refresh = secrets.token_urlsafe(24)
        session = await store.rotate_refresh(
            conn,
            tenant,
            TokenKind.ANONYMOUS.value,
            old_hash=hash_secret(refresh_token),
            new_hash=hash_secret(new_refresh),
            legal_entity_id=None,
            refresh_ttl=REFRESH_TTL,
            ttl=max(REFRESH_TTL, ANONYMOUS_TTL),
        )
        if session is None or session.client_id != client_id:
            raise invalid  # (a rotation for another client rolls back with this error)
        await tokens.reload_keys()
        return _anonymous_token(tokens, session, new_refresh)
    if not anonymous_token:
        raise BadRequest(
            "Send the refresh_token you got with the anonymous token.", field="refresh_token", type="missing_value"
        )
    previous = await tokens.decode_ignoring_expiry(anonymous_token)
    if (
        previous.tenant != tenant
        or previous.kind is not TokenKind.ANONYMOUS
        or previous.session_id is None
        or previous.expires_at + REFRESH_TTL < time.time()
    ):
        raise invalid
    session = await store.fetch_open_session(conn, tenant, previous.session_id)
    if session is None or session.client_id != client_id:
        raise invalid
    # The refresh token stays as it is: this old path must not log out the client that holds it.
    return _anonymous_token(tokens, session, None)


def _customer_tokens(tokens: TokenService, session: SessionRow, refresh_token: str) -> SessionTokens:
    assert session.customer_id is not None
    access_token = tokens.issue(
        tenant=session.tenant,
        kind=TokenKind.CUSTOMER,
        subject=session.customer_id,
        scopes=CUSTOMER_SCOPES,
        ttl_seconds=CUSTOMER_TTL,
        customer_id=session.customer_id,
        legal_entity_id=session.legal_entity_id,
        session_id=session.id,
    )
    return SessionTokens(
        access_token=access_token,
        refresh_token=refresh_token,
        session_id=session.id,
        expires_in=CUSTOMER_TTL,
        refresh_token_expires_in=REFRESH_TTL,
        scope=scope_text(session.tenant, CUSTOMER_SCOPES),
    )


async def start_customer_session(
    conn: Connection, tokens: TokenService, *, tenant: str, customer_id: str, legal_entity_id: str | None = None
) -> SessionTokens:
    """A new session for a customer who proved who they are (login, signup), with its tokens."""
    session = SessionRow(
        tenant=tenant,
        id=str(uuid.uuid4()),
        kind=TokenKind.CUSTOMER.value,
        client_id=None,
        customer_id=customer_id,
        legal_entity_id=legal_entity_id,
    )
    refresh_token = secrets.token_urlsafe(24)
    await store.insert_session(
        conn,
        session,
        refresh_hash=hash_secret(refresh_token),
        context=None,
        refresh_ttl=REFRESH_TTL,
        ttl=max(REFRESH_TTL, CUSTOMER_TTL),
    )
    await tokens.reload_keys()
    return _customer_tokens(tokens, session, refresh_token)


async def find_customer_session(conn: Connection, *, tenant: str, refresh_token: str) -> CustomerSession:
    """The open customer session a refresh token belongs to; 401 when it is unknown, used up, expired or ended."""
    session = await store.fetch_session_by_refresh(conn, tenant, hash_secret(refresh_token))
    if session is None or session.kind != TokenKind.CUSTOMER.value or session.customer_id is None:
        raise Unauthorized("Invalid refresh token", errorcode="oauth.v2.InvalidRefreshToken")
    return CustomerSession(
        session_id=session.id,
        tenant=session.tenant,
        customer_id=session.customer_id,
        legal_entity_id=session.legal_entity_id,
        refresh_hash=hash_secret(refresh_token),
    )


async def renew_customer_session(
    conn: Connection, tokens: TokenService, session: CustomerSession, *, legal_entity_id: str | None
) -> SessionTokens:
    """New tokens for the session, carrying `legal_entity_id` (checked by the caller); the refresh token rotates."""
    refresh_token = secrets.token_urlsafe(24)
    row = await store.rotate_refresh(
        conn,
        session.tenant,
        TokenKind.CUSTOMER.value,
        old_hash=session.refresh_hash,
        new_hash=hash_secret(refresh_token),
        legal_entity_id=legal_entity_id,
        refresh_ttl=REFRESH_TTL,
        ttl=max(REFRESH_TTL, CUSTOMER_TTL),
    )
    if row is None or row.id != session.session_id:
        raise Unauthorized("Invalid refresh token", errorcode="oauth.v2.InvalidRefreshToken")
    await tokens.reload_keys()
    return _customer_tokens(tokens, row, refresh_token)


async def end_session(conn: Connection, tenant: str, session_id: str) -> None:
    """Log out: every token of the session stops working at once (in other worker processes within a second)."""
    await store.end_session(conn, tenant, session_id)
    SESSIONS.forget(session_id)


async def end_customer_sessions(
    conn: Connection, tenant: str, customer_id: str, *, keep: str | None = None, legal_entity_id: str | None = None
) -> None:
    """End every session of a customer (but `keep`, the caller's own; only those in the context of
    `legal_entity_id`, when given): after a password change, a deactivation, a deletion or the end of a contact,
    tokens handed out before must stop working."""
    for session_id in await store.end_customer_sessions(
        conn, tenant, customer_id, keep=keep, legal_entity_id=legal_entity_id
    ):
        SESSIONS.forget(session_id)
