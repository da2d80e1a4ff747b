"""Whether a database role may migrate the schema, whether the applied migrations are still the shipped files, and
whether the schema is as current as this version needs (docs/operations.md#database-roles-and-migrations,
docs/operations.md#upgrades)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segment_service.core.db import Connection


class SchemaProblem(Exception):
    """The schema cannot be migrated by this role, or is behind this version: a one-line message saying what to do."""


class MigrationChanged(SchemaProblem):
    """A migration's file is not the one the database applied: a release was edited, not extended. The operator fixes
    it (restores the file), so the command exits as for a configuration error."""


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


_CHECKSUMS = """
SELECT version, checksum FROM schema_migrations
"""

# The migrator's own bookkeeping, kept current at every migrate rather than in a numbered migration: a database
# migrated before checksums existed gains the column, and the checksums of the files it applied are recorded then.
_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), checksum text)",
    "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
)

_RECORD_MISSING_CHECKSUMS = """
UPDATE schema_migrations m SET checksum = shipped.checksum
FROM unnest($1::text[], $2::text[]) AS shipped(version, checksum)
WHERE m.version = shipped.version AND m.checksum IS NULL
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


async def installation(conn: Connection) -> str | None:
    """The database's own id (migration 0020): the same for every process that uses it, by whatever URL; None
    before that migration."""
    if await conn.fetchval("SELECT to_regclass('service_installation')") is None:
        return None
    found: str = await conn.fetchval("SELECT id FROM service_installation")
    return found


async def applied_versions(conn: Connection) -> set[str] | None:
    """The migrations the database has seen; None when it has none (no schema_migrations table)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None
    return {r["version"] for r in await conn.fetch(_APPLIED)}


async def _recorded_checksums(conn: Connection) -> dict[str, str | None] | None:
    """Each applied migration's recorded checksum (None where none was recorded yet); None when the bookkeeping table
    or its checksum column does not exist yet."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT FROM pg_attribute"
        " WHERE attrelid = to_regclass('schema_migrations') AND attname = 'checksum' AND NOT attisdropped)"
    ):
        return None
    return {r["version"]: r["checksum"] for r in await conn.fetch(_CHECKSUMS)}


async def keep_checksums(conn: Connection, shipped: dict[str, str], lock_id: int) -> None:
    """Bring the bookkeeping table up to date (created, with its checksum column, the checksum of every applied
    migration this version ships recorded), then refuse to go on when an applied migration's file has changed since.

    `shipped` maps each shipped migration to the sha256 of its file. Writes only when something is missing, under the
    migration lock `lock_id`, so that an up-to-date database is only read at every start."""
    recorded = await _recorded_checksums(conn)
    if recorded is None or any(recorded.get(version, "") is None for version in shipped):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_id)
            for statement in _BOOKKEEPING:
                await conn.execute(statement)
            await conn.execute(_RECORD_MISSING_CHECKSUMS, list(shipped), list(shipped.values()))
        recorded = await _recorded_checksums(conn)
        assert recorded is not None
    for version, checksum in shipped.items():
        # A migration applied by a newer release is not shipped here, and one not applied yet has nothing recorded.
        if recorded.get(version, checksum) != checksum:
            raise MigrationChanged(
                f"migration {version} has changed since it was applied (its file's sha256 is not the one recorded "
                "in schema_migrations); restore the file as released and put schema changes in a new migration"
            )


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
