"""Signing keys: kept in the database and rotated (`segment-service keys rotate`), or one configured key
(docs/operations.md#tokens-clients-and-signing-keys)."""

from __future__ import annotations

import secrets
from datetime import datetime

from segment_service.core.auth import SigningKey, TokenService
from segment_service.core.db import Connection, Database
from segment_service.oauth import store
from segment_service.oauth.service import ANONYMOUS_TTL, CUSTOMER_TTL, REFRESH_TTL


def key_retention_seconds(service_ttl_seconds: int) -> int:
    """How long a retired signing key is kept: as long as the longest-lived token it may have signed (a customer
    token; an anonymous one can be refreshed by its expired token for a refresh lifetime)."""
    return max(CUSTOMER_TTL, ANONYMOUS_TTL + REFRESH_TTL, service_ttl_seconds)


async def load_signing_keys(conn: Connection) -> list[SigningKey]:
    """The signing keys kept in the database, newest first (the first one is created on first use)."""
    await store.ensure_first_key(conn, secrets.token_urlsafe(48))
    return [key for key, _ in await store.fetch_keys(conn)]


async def token_service(db: Database, configured: str | None) -> TokenService:
    """The process's token service: with SEGMENT_SERVICE_SIGNING_KEY that key alone; else the keys kept in the
    database, reloaded as they are rotated."""
    if configured:
        return TokenService(configured)

    async def load() -> list[SigningKey]:
        async with db.connection() as conn:
            return await load_signing_keys(conn)

    async with db.connection() as conn:
        keys = await load_signing_keys(conn)
    return TokenService(keys, loader=load)


async def rotate_signing_key(conn: Connection, *, retention_seconds: int) -> tuple[str, list[str]]:
    """A new signing key for new tokens (the others keep verifying theirs); drops the keys retired more than
    `retention_seconds` ago. The new kid and the dropped ones."""
    await store.ensure_first_key(conn, secrets.token_urlsafe(48))
    kid = secrets.token_hex(8)
    await store.insert_key(conn, SigningKey(kid=kid, secret=secrets.token_urlsafe(48)))
    return kid, await store.drop_retired_keys(conn, retention_seconds)


async def signing_keys(conn: Connection) -> list[tuple[str, datetime]]:
    """(kid, created) of every kept signing key, newest (the one that signs) first."""
    await store.ensure_first_key(conn, secrets.token_urlsafe(48))
    return [(key.kid, created) for key, created in await store.fetch_keys(conn)]
