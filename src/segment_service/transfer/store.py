"""The SQL that dump and restore need about the database as a whole."""

from __future__ import annotations

import asyncpg

# Anything in the public schema (where the migrations put every table) makes a database not empty.
_HAS_OBJECTS = """
SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')
"""

_DROP_PUBLIC = "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"


async def server_major_version(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return conn.get_server_version().major
    finally:
        await conn.close()


async def has_objects(dsn: str) -> bool:
    """Whether the database holds any table, sequence or index in the public schema."""
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(_HAS_OBJECTS))
    finally:
        await conn.close()


async def drop_everything(dsn: str) -> None:
    """Drop the public schema with everything in it, and create it again empty."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_DROP_PUBLIC)
    finally:
        await conn.close()
