"""What can end a valid token before it expires: its session (logout, password change, deactivation) and, for a
service token, its API client (deleted, or its scopes narrowed).

Both checks read the database and keep the answer for a second per process, so that a burst of calls costs one
lookup. Whatever ends a session or changes a client evicts it here at once; other worker processes (and a change
made from the CLI) take effect within that second.
"""

from __future__ import annotations

import time

import msgspec

from segment_service.core.db import Database

_SESSION_ACTIVE = """
SELECT ended_at IS NULL AND expires_at > now()
FROM token_sessions
WHERE tenant = $1 AND id = $2
"""

_SERVICE_CLIENT = """
SELECT tenant, scopes
FROM api_clients
WHERE client_id = $1 AND kind = 'service'
"""


class SessionCheck:
    """Whether a storefront token's session is still open (logout ends it at once).

    A positive answer is kept for a second so that a burst of storefront calls costs one lookup; ending a session
    evicts it here, and other worker processes notice within that second. The eviction also marks the session ended
    for that second: a request that looks it up before the ending transaction commits must not cache it as open."""

    TTL_SECONDS = 1.0
    _LIMIT = 10_000

    def __init__(self) -> None:
        self._open_until: dict[str, float] = {}
        self._ended_until: dict[str, float] = {}

    async def is_open(self, db: Database, tenant: str, session_id: str) -> bool:
        now = time.monotonic()
        if self._open_until.get(session_id, 0.0) > now:
            return True
        if self._ended_until.get(session_id, 0.0) > now:
            return False
        async with db.connection() as conn:
            is_open = bool(await conn.fetchval(_SESSION_ACTIVE, tenant, session_id))
        if is_open:
            if len(self._open_until) >= self._LIMIT:
                self._open_until.clear()
            self._open_until[session_id] = now + self.TTL_SECONDS
        return is_open

    def forget(self, session_id: str) -> None:
        self._open_until.pop(session_id, None)
        now = time.monotonic()
        if len(self._ended_until) >= self._LIMIT:
            self._ended_until = {k: v for k, v in self._ended_until.items() if v > now}
        self._ended_until[session_id] = now + self.TTL_SECONDS


class ClientState(msgspec.Struct, frozen=True):
    """A service client as its tokens are checked against: its tenant and its current scopes."""

    tenant: str
    scopes: frozenset[str]


class ClientCheck:
    """The current state of the API client a service token was issued to; None once the client is deleted.

    Answers (the absent ones too, so that a deleted client's tokens cannot make every call a lookup) are kept for a
    second per process."""

    TTL_SECONDS = 1.0
    _LIMIT = 10_000

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, ClientState | None]] = {}

    async def current(self, db: Database, client_id: str) -> ClientState | None:
        now = time.monotonic()
        cached = self._known.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with db.connection() as conn:
            record = await conn.fetchrow(_SERVICE_CLIENT, client_id)
        state = None if record is None else ClientState(tenant=record["tenant"], scopes=frozenset(record["scopes"]))
        if len(self._known) >= self._LIMIT:
            self._known.clear()
        self._known[client_id] = (now + self.TTL_SECONDS, state)
        return state

    def forget(self, client_id: str) -> None:
        self._known.pop(client_id, None)


#: One of each per process, shared by the guard and whatever ends sessions or changes clients.
SESSIONS = SessionCheck()
CLIENTS = ClientCheck()
