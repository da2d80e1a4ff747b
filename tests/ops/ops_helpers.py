"""What the operations tests share: a database of their own on the test server, and an app over it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from litestar.testing import TestClient

from segment_service.app import create_served_app
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings


def other_database(database_url: str) -> tuple[str, str]:
    """A new, empty database on the test server: (its name, its URL)."""
    name = "ops_" + secrets.token_hex(4)

    async def create() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    parts = urlsplit(database_url)
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def sql(database_url: str, statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def served(settings: Settings, routes: Sequence[Any] = (), **changes: object) -> Iterator[TestClient[FastLane]]:
    """A served app of its own (its own pool and metrics) with `changes` to the test settings and `routes` added."""
    app = create_served_app(replace(settings, **changes))  # type: ignore[arg-type]
    for route in routes:
        app.app.register(route)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
