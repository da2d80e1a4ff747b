"""API clients and signing keys."""

from __future__ import annotations

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

# Two processes starting at once must agree on one key: insert if absent, then read whichever won.
_ENSURE_KEY = """
INSERT INTO service_keys (name, secret)
VALUES ($1, $2)
ON CONFLICT (name) DO NOTHING
"""

_SELECT_KEY = """
SELECT secret
FROM service_keys
WHERE name = $1
"""


async def insert_client(conn: Connection, client: ApiClient) -> None:
    """Store a new API client."""
    await conn.execute(_INSERT_CLIENT, client.client_id, client.tenant, client.name, client.secret_hash,
                       client.scopes, client.kind.value)


async def fetch_client(conn: Connection, client_id: str) -> ApiClient | None:
    """The client with this id, or None."""
    record = await conn.fetchrow(_SELECT_CLIENT, client_id)
    return None if record is None else ApiClient(**{**record, "kind": ClientKind(record["kind"])})


async def ensure_key(conn: Connection, name: str, candidate: str) -> str:
    """The stored key `name`, storing `candidate` first when there is none."""
    await conn.execute(_ENSURE_KEY, name, candidate)
    return str(await conn.fetchval(_SELECT_KEY, name))


async def insert_session(conn: Connection, session: SessionRow, *, refresh_hash: str, context: dict[str, str] | None,
                         refresh_ttl: int, ttl: int) -> None:
    """Store a new open session."""
    await conn.execute(_INSERT_SESSION, session.tenant, session.id, session.kind, session.client_id,
                       session.customer_id, session.legal_entity_id, context, refresh_hash, refresh_ttl, ttl)


async def fetch_session_by_refresh(conn: Connection, tenant: str, refresh_hash: str) -> SessionRow | None:
    """The open session a refresh token belongs to, or None."""
    record = await conn.fetchrow(_SELECT_SESSION_BY_REFRESH, refresh_hash, tenant)
    return None if record is None else SessionRow(**record)


async def fetch_open_session(conn: Connection, tenant: str, session_id: str) -> SessionRow | None:
    """The session with this id while it is open, or None."""
    record = await conn.fetchrow(_SELECT_OPEN_SESSION, tenant, session_id)
    return None if record is None else SessionRow(**record)


async def rotate_refresh(conn: Connection, tenant: str, kind: str, *, old_hash: str, new_hash: str,
                         legal_entity_id: str | None, refresh_ttl: int, ttl: int) -> SessionRow | None:
    """Swap an open session's refresh token for a new one and extend it; None when the old token is not (any more)
    the session's."""
    record = await conn.fetchrow(_ROTATE_REFRESH, old_hash, tenant, kind, new_hash, legal_entity_id, refresh_ttl, ttl)
    return None if record is None else SessionRow(**record)


async def end_customer_sessions(conn: Connection, tenant: str, customer_id: str, *, keep: str | None) -> list[str]:
    """End every open session of a customer but `keep`; the ids of those ended."""
    return [r["id"] for r in await conn.fetch(_END_CUSTOMER_SESSIONS, tenant, customer_id, keep)]


async def purge_sessions(conn: Connection, limit: int) -> None:
    """Delete up to `limit` sessions that ended more than a day ago."""
    await conn.execute(_PURGE_SESSIONS, limit)


async def end_session(conn: Connection, tenant: str, session_id: str) -> None:
    """Mark a session ended; its tokens stop working."""
    await conn.execute(_END_SESSION, tenant, session_id)
