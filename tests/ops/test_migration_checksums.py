"""The migrator records the sha256 of each migration it applies and refuses to go on when an applied migration's file
has changed since; a database migrated before checksums existed gets them recorded on its first migrate
(docs/operations.md#upgrades)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from segment_service.core import db, schema_state
from segment_service.core.db import migrate, migration_files
from tests.ops.serving import command_env, run_command

MIGRATIONS = Path(db.__file__).resolve().parent.parent / "migrations"


def _file_checksums() -> dict[str, str]:
    return {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(MIGRATIONS.glob("*.sql"))}


async def _run(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _recorded(url: str) -> dict[str, str | None]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return {row["version"]: row["checksum"] for row in rows}


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """The URL of a new, empty database of the test server, dropped afterwards."""
    name = f"segment_checksums_{secrets.token_hex(4)}"
    asyncio.run(_run(database_url, f"CREATE DATABASE {name}"))
    parts = urlsplit(database_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        asyncio.run(_run(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_a_fresh_database_records_the_checksum_of_every_migration(fresh_database: str) -> None:
    applied = asyncio.run(migrate(fresh_database))

    assert applied == [version for version, _ in migration_files()]
    assert asyncio.run(_recorded(fresh_database)) == _file_checksums()
    assert asyncio.run(migrate(fresh_database)) == []


def test_a_database_migrated_before_checksums_gets_them_recorded(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The previous release: every migration but the last, and a bookkeeping table without checksums.
    *previous, (last, _) = migration_files()
    monkeypatch.setattr(db, "migration_files", lambda: previous)
    monkeypatch.setattr(db, "migration_checksums", lambda: {v: c for v, c in _file_checksums().items() if v != last})
    asyncio.run(migrate(fresh_database))
    asyncio.run(_run(fresh_database, "ALTER TABLE schema_migrations DROP COLUMN checksum"))
    monkeypatch.undo()

    assert asyncio.run(migrate(fresh_database)) == [last]
    assert asyncio.run(_recorded(fresh_database)) == _file_checksums()
    assert asyncio.run(migrate(fresh_database)) == []


def test_an_edited_applied_migration_is_refused(fresh_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(migrate(fresh_database))
    edited = migration_files()[1][0]
    checksums = db.migration_checksums()
    checksums[edited] = hashlib.sha256(b"-- edited after the release\n").hexdigest()
    monkeypatch.setattr(db, "migration_checksums", lambda: checksums)

    with pytest.raises(schema_state.MigrationChanged) as refused:
        asyncio.run(migrate(fresh_database))

    assert str(refused.value) == (
        f"migration {edited} has changed since it was applied (its file's sha256 is not the one recorded in "
        "schema_migrations); restore the file as released and put schema changes in a new migration"
    )
    assert asyncio.run(_recorded(fresh_database)) == _file_checksums()


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"]])
def test_the_commands_refuse_to_start_with_one_line(fresh_database: str, command: list[str]) -> None:
    asyncio.run(migrate(fresh_database))
    edited = migration_files()[0][0]
    # What the database recorded no longer matches the shipped file: as if the file had been edited since.
    asyncio.run(
        _run(fresh_database, f"UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = '{edited}'")
    )

    result = run_command(*command, env=command_env(DATABASE_URL=fresh_database))

    assert (result.returncode, result.stderr) == (
        2,
        f"error: migration {edited} has changed since it was applied (its file's sha256 is not the one recorded in "
        "schema_migrations); restore the file as released and put schema changes in a new migration\n",
    )
