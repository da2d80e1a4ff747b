"""Readiness SQL."""

from __future__ import annotations

import asyncpg

from segment_service.core.db import Connection


async def applied_migrations(conn: Connection) -> set[str]:
    """The migration versions the database has applied; none when it was never migrated."""
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations")
    except asyncpg.UndefinedTableError:
        return set()
    return {row["version"] for row in rows}
