"""Direct access to the test database for what no API writes or reads: one connection per test session (per xdist
worker), kept on an event loop of its own, so that a statement costs a round trip instead of a new server process."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import asyncpg


class SessionConnection:
    """One connection to one database, used from the main thread between tests.

    The statement cache is off: most statements run a handful of times, so caching would buy little and could keep a
    plan that a test invalidates."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = None

    async def _fetch(self, query: str, args: tuple[Any, ...]) -> list[asyncpg.Record]:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.url, statement_cache_size=0)
        return list(await self._conn.fetch(query, *args))

    def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return self._loop.run_until_complete(self._fetch(query, args))

    def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            self._loop.run_until_complete(self._conn.close())
        self._loop.close()


_session: dict[str, SessionConnection] = {}


def open_session_connection(url: str) -> SessionConnection:
    """Make `fetch(url, ...)` reuse one connection until `close_session_connections()`."""
    connection = _session.get(url)
    if connection is None:
        connection = _session[url] = SessionConnection(url)
    return connection


def close_session_connections() -> None:
    while _session:
        _session.popitem()[1].close()


def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement against `url`: on the session's connection when there is one and the caller is the main
    thread (a worker thread or another database gets a connection of its own, as before)."""
    connection = _session.get(url)
    if connection is not None and threading.current_thread() is threading.main_thread():
        return connection.fetch(query, *args)

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())
