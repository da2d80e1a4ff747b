"""Whether a database role may migrate the schema, and whether the schema is as current as this version needs
(docs/operations.md#database-roles-and-migrations)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segment_service.core.db import Connection


class SchemaProblem(Exception):
    """The schema cannot be migrated by this role, or is behind this version: a one-line message saying what to do."""


_RIGHTS = """
SELECT current_user AS role,
       current_schema() AS schema,
       current_schema() IS NOT NULL AND has_schema_privilege(current_schema(), 'CREATE') AS can_create,
       (SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c
        WHERE c.oid = to_regclass('schema_migrations')) AS owns_schema
"""

_APPLIED = """
SELECT version FROM schema_migrations
"""


def _through(variable: str) -> str:
    return f" of {variable}" if variable else ""


async def check_migration_rights(conn: Connection, variable: str) -> None:
    """Refuse, before touching anything, to migrate as a role that does not own the schema: a runtime role with only
    table rights would otherwise fail halfway through the first migration that changes a table."""
    row = await conn.fetchrow(_RIGHTS)
    assert row is not None
    hint = (
        "migrate as the role that owns the schema (SEGMENT_SERVICE_MIGRATION_DATABASE_URL, or `segment-service "
        "migrate` with its URL) and serve with --no-migrate"
    )
    if row["schema"] is None:
        raise SchemaProblem(
            f'cannot migrate: the search_path of role "{row["role"]}"{_through(variable)} names no '
            "existing schema; create one or set search_path"
        )
    if not row["can_create"]:
        raise SchemaProblem(
            f'cannot migrate: role "{row["role"]}"{_through(variable)} has no CREATE right on schema '
            f'"{row["schema"]}"; {hint}'
        )
    if row["owns_schema"] is False:
        raise SchemaProblem(
            f'cannot migrate: role "{row["role"]}"{_through(variable)} does not own the service\'s tables; {hint}'
        )


async def applied_versions(conn: Connection) -> set[str] | None:
    """The migrations the database has seen; None when it has none (no schema_migrations table)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None
    return {r["version"] for r in await conn.fetch(_APPLIED)}


async def check_current(conn: Connection, shipped: Iterable[str]) -> None:
    """Refuse to serve on a schema older than this version needs. A newer one is fine: during a rolling upgrade the
    instances of the previous version keep serving on the migrated schema (docs/operations.md#upgrades)."""
    applied = await applied_versions(conn)
    if applied is None:
        raise SchemaProblem(
            "the database has no schema yet; run `segment-service migrate` as the role that owns the "
            "schema, then start again"
        )
    missing = [version for version in shipped if version not in applied]
    if missing:
        raise SchemaProblem(
            f"the database schema is behind this version (missing migrations: {', '.join(missing)}); "
            "run `segment-service migrate` as the role that owns the schema, then start again"
        )
