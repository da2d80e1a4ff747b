"""API clients and service tokens (oauth.yml, digest §4.1)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest, Unauthorized
from segment_service.oauth import store
from segment_service.oauth.models import AccessToken, AccessTokenRequest, ApiClient

SIGNING_KEY_NAME = "token-signing"
#: Emporix's documented idle time; we do not end idle sessions, the value is informational.
SESSION_IDLE_TIME = 120
_TENANT = r"[a-z][a-z0-9]{2,15}"


def hash_secret(secret: str) -> str:
    """Client secrets are 256-bit random strings, so one SHA-256 round is enough: a slow hash only helps against
    guessable (human) passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_tenant(tenant: str) -> str:
    """A tenant name as Emporix allows it: lowercase, starts with a letter, 3-16 characters."""
    if not re.fullmatch(_TENANT, tenant):
        raise BadRequest(f"Invalid tenant '{tenant}': use 3-16 lowercase letters and digits, starting with a letter.")
    return tenant


async def create_client(conn: Connection, *, tenant: str, scopes: Iterable[str] | None = None,
                        name: str = "") -> tuple[ApiClient, str]:
    """A new API client of `tenant` and its secret (shown once; only its hash is stored)."""
    check_tenant(tenant)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=secrets.token_urlsafe(24),
        tenant=tenant,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(SERVICE_SCOPES if scopes is None else scopes)),
    )
    await store.insert_client(conn, client)
    return client, secret


async def signing_key(conn: Connection, configured: str | None) -> str:
    """The token signing key: the configured one, else the one kept in the database (created on first use)."""
    if configured:
        return configured
    return await store.ensure_key(conn, SIGNING_KEY_NAME, secrets.token_urlsafe(48))


async def issue_service_token(conn: Connection, tokens: TokenService, form: AccessTokenRequest, *,
                              ttl_seconds: int) -> AccessToken:
    """A service token for valid client credentials, with all the client's scopes or the requested subset."""
    if form.grant_type != "client_credentials":
        raise BadRequest("Unsupported grant_type: only 'client_credentials' is supported.", field="grant_type",
                         type="unsupported_grant_type")
    if not form.client_id or not form.client_secret:
        raise Unauthorized("Invalid client credentials", errorcode="oauth.v2.InvalidClientIdentifier")
    client = await store.fetch_client(conn, form.client_id)
    if client is None or not hmac.compare_digest(client.secret_hash, hash_secret(form.client_secret)):
        raise Unauthorized("Invalid client credentials", errorcode="oauth.v2.InvalidClientIdentifier")
    scopes = set(client.scopes)
    if form.scope and form.scope.strip():
        requested = set()
        for item in form.scope.split():
            if item.startswith("tenant="):
                if item != f"tenant={client.tenant}":
                    raise BadRequest(f"Invalid scope '{item}': the client belongs to tenant '{client.tenant}'.",
                                     field="scope", type="invalid_scope")
                continue
            requested.add(item)
        missing = requested - scopes
        if missing:
            raise BadRequest(f"Invalid scope: the client does not have {', '.join(sorted(missing))}.",
                             field="scope", type="invalid_scope")
        scopes = requested
    token = tokens.issue(tenant=client.tenant, kind=TokenKind.SERVICE, subject=client.client_id, scopes=scopes,
                         ttl_seconds=ttl_seconds)
    return AccessToken(
        access_token=token,
        token_type="Bearer",
        expires_in=ttl_seconds,
        session_idle_time=SESSION_IDLE_TIME,
        refresh_token="",
        refresh_token_expires_in=0,
        scope=" ".join([f"tenant={client.tenant}", *sorted(scopes)]),
    )
