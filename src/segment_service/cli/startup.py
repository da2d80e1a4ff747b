"""What every command shares before it does its work: one-line errors instead of tracebacks for bad configuration
and an edited migration (exit code 2) and for a database that cannot be reached or used (exit code 1), and the
database check of `serve`."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from segment_service.core import schema_state
from segment_service.core.db import migrate, migration_files
from segment_service.core.dbconnect import DatabaseUnreachable, open_connection
from segment_service.settings import ConfigError, Settings

#: Exit code of a configuration error (as for a usage error); 1 is any other failure.
CONFIG_EXIT_CODE = 2


class Commands(click.Group):
    """The command group: turns the errors an operator can fix into one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, schema_state.MigrationChanged) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(CONFIG_EXIT_CODE)
        except (DatabaseUnreachable, schema_state.SchemaProblem) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


def migration_target(settings: Settings, dsn: str, *, embedded: bool) -> tuple[str, str]:
    """(URL, its variable) to migrate with: SEGMENT_SERVICE_MIGRATION_DATABASE_URL when set, else the service's."""
    if embedded:
        return dsn, ""
    if settings.migration_database_url:
        return settings.migration_database_url, "SEGMENT_SERVICE_MIGRATION_DATABASE_URL"
    return dsn, "DATABASE_URL"


async def _check_current(settings: Settings, dsn: str, variable: str) -> None:
    conn = await open_connection(settings, dsn, variable=variable, as_pool=True)
    try:
        await schema_state.check_current(conn, [version for version, _ in migration_files()])
    finally:
        await conn.close()


def prepare_database(settings: Settings, dsn: str, *, run_migrations: bool, embedded: bool) -> list[str]:
    """Before serving: apply pending migrations (unless `run_migrations` is off), then check that the service's own URL
    answers and its schema is current, so that a problem is one line here rather than a failure in every worker.
    The migrations applied."""
    applied: list[str] = []
    if run_migrations:
        url, variable = migration_target(settings, dsn, embedded=embedded)
        applied = asyncio.run(migrate(url, settings, variable=variable))
    asyncio.run(_check_current(settings, dsn, "" if embedded else "DATABASE_URL"))
    return applied


async def _is_current(settings: Settings, dsn: str, variable: str) -> bool:
    try:
        await _check_current(settings, dsn, variable)
    except schema_state.SchemaProblem:
        return False
    return True


def ensure_schema(settings: Settings, dsn: str, *, embedded: bool) -> None:
    """For commands other than `serve`: migrate only when the schema is behind, so that they work as a runtime role
    (which may not migrate) on a current schema, and on a fresh database as the first thing a user runs."""
    if not asyncio.run(_is_current(settings, dsn, "" if embedded else "DATABASE_URL")):
        url, variable = migration_target(settings, dsn, embedded=embedded)
        asyncio.run(migrate(url, settings, variable=variable))
