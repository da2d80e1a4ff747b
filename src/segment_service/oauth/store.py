"""API clients and signing keys."""

from __future__ import annotations

from segment_service.core.db import Connection
from segment_service.oauth.models import ApiClient

_INSERT_CLIENT = """
INSERT INTO api_clients (client_id, tenant, name, secret_hash, scopes)
VALUES ($1, $2, $3, $4, $5)
"""

_SELECT_CLIENT = """
SELECT client_id, tenant, name, secret_hash, scopes
FROM api_clients
WHERE client_id = $1
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
                       client.scopes)


async def fetch_client(conn: Connection, client_id: str) -> ApiClient | None:
    """The client with this id, or None."""
    record = await conn.fetchrow(_SELECT_CLIENT, client_id)
    return None if record is None else ApiClient(**record)


async def ensure_key(conn: Connection, name: str, candidate: str) -> str:
    """The stored key `name`, storing `candidate` first when there is none."""
    await conn.execute(_ENSURE_KEY, name, candidate)
    return str(await conn.fetchval(_SELECT_KEY, name))
