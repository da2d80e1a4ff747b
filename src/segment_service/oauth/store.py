"""API clients and signing keys."""

from __future__ import annotations

from datetime import datetime

from segment_service.core.auth import SigningKey
from segment_service.core.db import Connection
from segment_service.oauth.models import ApiClient, ClientKind, SessionRow

_INSERT_CLIENT = """
INSERT INTO api_clients (client_id, tenant, name, secret_hash, scopes, kind)
VALUES ($1, $2, $3, $4, $5, $6)
"""

_SELECT_CLIENT = """
SELECT client_id, tenant, name, secret_hash, scopes, kind
FROM api_clients
WHERE client_id = $1
"""

_INSERT_SESSION = """
INSERT INTO token_sessions (tenant, id, kind, client_id, customer_id, legal_entity_id, context, refresh_hash,
                            refresh_expires_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), now() + make_interval(secs => $10))
"""

# Only an open, unexpired session can be refreshed.
_SELECT_SESSION_BY_REFRESH = """
SELECT tenant, id, kind, client_id, customer_id, legal_entity_id
FROM token_sessions
WHERE refresh_hash = $1 AND tenant = $2 AND ended_at IS NULL AND refresh_expires_at > now()
"""

_SELECT_OPEN_SESSION = """
SELECT tenant, id, kind, client_id, customer_id, legal_entity_id
FROM token_sessions
WHERE tenant = $1 AND id = $2 AND ended_at IS NULL AND expires_at > now()
"""

# A refresh rotates the refresh token in one statement that names the old one, so that of two requests racing with
# the same refresh token exactly one wins: a stolen token cannot be replayed unnoticed.
_ROTATE_REFRESH = """
UPDATE token_sessions
SET refresh_hash = $4, legal_entity_id = $5, refresh_expires_at = now() + make_interval(secs => $6),
    expires_at = now() + make_interval(secs => $7)
WHERE refresh_hash = $1 AND tenant = $2 AND kind = $3 AND ended_at IS NULL AND refresh_expires_at > now()
RETURNING tenant, id, kind, client_id, customer_id, legal_entity_id
"""

_END_CUSTOMER_SESSIONS = """
UPDATE token_sessions
SET ended_at = now()
WHERE tenant = $1 AND customer_id = $2 AND ended_at IS NULL AND ($3::text IS NULL OR id <> $3)
  AND ($4::text IS NULL OR legal_entity_id = $4)
RETURNING id
"""

# Sessions are kept a day past their end for support questions, then purged a few at a time.
_PURGE_SESSIONS = """
DELETE FROM token_sessions
WHERE ctid = ANY (ARRAY(SELECT ctid FROM token_sessions WHERE expires_at < now() - interval '1 day' LIMIT $1))
"""

_END_SESSION = """
UPDATE token_sessions
SET ended_at = now()
WHERE tenant = $1 AND id = $2 AND ended_at IS NULL
"""

_SELECT_CLIENTS = """
SELECT client_id, tenant, name, secret_hash, scopes, kind, created_at
FROM api_clients
WHERE $1::text IS NULL OR tenant = $1
ORDER BY tenant, created_at, client_id
"""

_DELETE_CLIENT = """
DELETE FROM api_clients
WHERE client_id = $1
RETURNING kind
"""

_UPDATE_CLIENT = """
UPDATE api_clients
SET scopes = coalesce($2, scopes), name = coalesce($3, name)
WHERE client_id = $1
"""

_SET_CLIENT_SECRET = """
UPDATE api_clients
SET secret_hash = $2
WHERE client_id = $1 AND kind = 'service'
"""

_END_CLIENT_SESSIONS = """
UPDATE token_sessions
SET ended_at = now()
WHERE client_id = $1 AND ended_at IS NULL
RETURNING id
"""

# Two processes starting at once must agree on one first key: the fixed kid of the first one makes the second insert
# a no-op, and a table that has keys gets none.
_ENSURE_FIRST_KEY = """
INSERT INTO signing_keys (kid, secret)
SELECT 'initial', $1
WHERE NOT EXISTS (SELECT 1 FROM signing_keys)
ON CONFLICT (kid) DO NOTHING
"""

_SELECT_KEYS = """
SELECT kid, secret, created_at
FROM signing_keys
ORDER BY created_at DESC, kid
"""

_INSERT_KEY = """
INSERT INTO signing_keys (kid, secret)
VALUES ($1, $2)
"""

# A key is retired when a newer one exists; it goes once it has been retired for longer than any token it signed lives.
_DROP_RETIRED_KEYS = """
DELETE FROM signing_keys k
WHERE EXISTS (SELECT 1 FROM signing_keys n
              WHERE n.created_at > k.created_at AND n.created_at < now() - make_interval(secs => $1))
RETURNING kid
"""


async def insert_client(conn: Connection, client: ApiClient) -> None:
    """Store a new API client."""
    await conn.execute(
        _INSERT_CLIENT,
        client.client_id,
        client.tenant,
        client.name,
        client.secret_hash,
        client.scopes,
        client.kind.value,
    )


async def fetch_client(conn: Connection, client_id: str) -> ApiClient | None:
    """The client with this id, or None."""
    record = await conn.fetchrow(_SELECT_CLIENT, client_id)
    return None if record is None else ApiClient(**{**record, "kind": ClientKind(record["kind"])})


async def list_clients(conn: Connection, tenant: str | None) -> list[tuple[ApiClient, datetime]]:
    """Every client (of `tenant`, when given) with the time it was created."""
    return [
        (
            ApiClient(
                client_id=r["client_id"],
                tenant=r["tenant"],
                name=r["name"],
                secret_hash=r["secret_hash"],
                scopes=list(r["scopes"]),
                kind=ClientKind(r["kind"]),
            ),
            r["created_at"],
        )
        for r in await conn.fetch(_SELECT_CLIENTS, tenant)
    ]


async def delete_client(conn: Connection, client_id: str) -> bool:
    """Delete a client; whether it existed."""
    return await conn.fetchval(_DELETE_CLIENT, client_id) is not None


async def update_client(conn: Connection, client_id: str, *, scopes: list[str] | None, name: str | None) -> None:
    """Replace a client's scopes and/or name (None keeps them)."""
    await conn.execute(_UPDATE_CLIENT, client_id, scopes, name)


async def set_client_secret(conn: Connection, client_id: str, secret_hash: str) -> None:
    """Replace a service client's secret hash."""
    await conn.execute(_SET_CLIENT_SECRET, client_id, secret_hash)


async def end_client_sessions(conn: Connection, client_id: str) -> list[str]:
    """End every open session a (storefront) client opened; the ids of those ended."""
    return [r["id"] for r in await conn.fetch(_END_CLIENT_SESSIONS, client_id)]


async def ensure_first_key(conn: Connection, candidate: str) -> None:
    """Store `candidate` as the first signing key when there is none."""
    await conn.execute(_ENSURE_FIRST_KEY, candidate)


async def fetch_keys(conn: Connection) -> list[tuple[SigningKey, datetime]]:
    """Every signing key, newest first, with the time it was made."""
    return [(SigningKey(kid=r["kid"], secret=r["secret"]), r["created_at"]) for r in await conn.fetch(_SELECT_KEYS)]


async def insert_key(conn: Connection, key: SigningKey) -> None:
    """Store a new signing key (the newest signs from now on)."""
    await conn.execute(_INSERT_KEY, key.kid, key.secret)


async def drop_retired_keys(conn: Connection, retention_seconds: int) -> list[str]:
    """Delete the keys retired more than `retention_seconds` ago; their kids."""
    return [r["kid"] for r in await conn.fetch(_DROP_RETIRED_KEYS, retention_seconds)]


async def insert_session(
    conn: Connection,
    session: SessionRow,
    *,
    refresh_hash: str,
    context: dict[str, str] | None,
    refresh_ttl: int,
    ttl: int,
) -> None:
    """Store a new open session."""
    await conn.execute(
        _INSERT_SESSION,
        session.tenant,
        session.id,
        session.kind,
        session.client_id,
        session.customer_id,
        session.legal_entity_id,
        context,
        refresh_hash,
        refresh_ttl,
        ttl,
    )


async def fetch_session_by_refresh(conn: Connection, tenant: str, refresh_hash: str) -> SessionRow | None:
    """The open session a refresh token belongs to, or None."""
    record = await conn.fetchrow(_SELECT_SESSION_BY_REFRESH, refresh_hash, tenant)
    return None if record is None else SessionRow(**record)


async def fetch_open_session(conn: Connection, tenant: str, session_id: str) -> SessionRow | None:
    """The session with this id while it is open, or None."""
    record = await conn.fetchrow(_SELECT_OPEN_SESSION, tenant, session_id)
    return None if record is None else SessionRow(**record)


async def rotate_refresh(
    conn: Connection,
    tenant: str,
    kind: str,
    *,
    old_hash: str,
    new_hash: str,
    legal_entity_id: str | None,
    refresh_ttl: int,
    ttl: int,
) -> SessionRow | None:
    """Swap an open session's refresh token for a new one and extend it; None when the old token is not (any more)
    the session's."""
    record = await conn.fetchrow(_ROTATE_REFRESH, old_hash, tenant, kind, new_hash, legal_entity_id, refresh_ttl, ttl)
    return None if record is None else SessionRow(**record)


async def end_customer_sessions(
    conn: Connection, tenant: str, customer_id: str, *, keep: str | None, legal_entity_id: str | None = None
) -> list[str]:
    """End every open session of a customer but `keep` (only those in the context of `legal_entity_id`, when given);
    the ids of those ended."""
    return [r["id"] for r in await conn.fetch(_END_CUSTOMER_SESSIONS, tenant, customer_id, keep, legal_entity_id)]


async def purge_sessions(conn: Connection, limit: int) -> None:
    """Delete up to `limit` sessions that ended more than a day ago."""
    await conn.execute(_PURGE_SESSIONS, limit)


async def end_session(conn: Connection, tenant: str, session_id: str) -> None:
    """Mark a session ended; its tokens stop working."""
    await conn.execute(_END_SESSION, tenant, session_id)
