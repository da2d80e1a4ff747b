"""A migration role that owns the schema and a runtime role with only table rights, set up as
docs/operations.md#database-roles-and-migrations says; `serve --no-migrate` as the runtime role; `--version`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from segment_service import __version__
from segment_service.core.db import migrate, migration_files
from tests.factories import segment_body
from tests.ops.serving import FAST_HASHES, Served, command_env, create_client, run_command

ROLE_PASSWORD = "role-test-password"


def as_role(database_url: str, role: str, database: str) -> str:
    """`database_url` with another role (and its password) and another database of the same server."""
    parts = urlsplit(database_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{role}:{ROLE_PASSWORD}@{host}", f"/{database}", parts.query, ""))


@dataclass(frozen=True, slots=True)
class Roles:
    database: str
    owner: str
    runtime: str
    owner_url: str
    runtime_url: str


async def _run(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def roles(database_url: str) -> Iterator[Roles]:
    """A database of its own, owned by a migration role, with a runtime role granted table rights as the docs say."""
    suffix = secrets.token_hex(4)
    owner, runtime, database = f"segment_owner_{suffix}", f"segment_runtime_{suffix}", f"segment_roles_{suffix}"
    # As a superuser (docs/operations.md): the roles and the database.
    asyncio.run(
        _run(
            database_url,
            f"CREATE ROLE {owner} LOGIN PASSWORD '{ROLE_PASSWORD}'",
            f"CREATE ROLE {runtime} LOGIN PASSWORD '{ROLE_PASSWORD}'",
            f"CREATE DATABASE {database} OWNER {owner}",
        )
    )
    parts = urlsplit(database_url)
    superuser_in_new = urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))
    owner_url, runtime_url = as_role(database_url, owner, database), as_role(database_url, runtime, database)
    try:
        # In the new database, as a superuser and then as the owner: exactly the docs' statements.
        asyncio.run(
            _run(superuser_in_new, "REVOKE ALL ON SCHEMA public FROM PUBLIC", f"ALTER SCHEMA public OWNER TO {owner}")
        )
        asyncio.run(
            _run(
                owner_url,
                f"GRANT USAGE ON SCHEMA public TO {runtime}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE ON SEQUENCES TO {runtime}",
            )
        )
        result = run_command("migrate", env=command_env(DATABASE_URL=owner_url))
        assert result.returncode == 0, result.stderr
        yield Roles(database, owner, runtime, owner_url, runtime_url)
    finally:
        asyncio.run(
            _run(
                database_url,
                f"DROP DATABASE IF EXISTS {database} WITH (FORCE)",
                f"DROP ROLE IF EXISTS {runtime}",
                f"DROP ROLE IF EXISTS {owner}",
            )
        )


def test_the_runtime_role_serves_with_no_migrate(roles: Roles, database_url: str) -> None:
    env = command_env(DATABASE_URL=roles.runtime_url, **FAST_HASHES)
    client = create_client(env, "rolesshop")  # a current schema: the command does not try to migrate
    server = Served(env, "--no-migrate").wait_healthy()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            token = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", **{k: client[k] for k in ("client_id", "client_secret")}},
            )
            assert token.status_code == 200, token.text
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = http.post("/customer-segment/rolesshop/segments", headers=auth, json=segment_body())
            assert created.status_code == 201, created.text
            segment_id = created.json()["id"]
            changed = http.delete(f"/customer-segment/rolesshop/segments/{segment_id}", headers=auth)
            assert changed.status_code == 204, changed.text
            listed = http.get("/customer-segment/rolesshop/segments", headers=auth)
            assert (listed.status_code, listed.json()) == (200, [])

        async def connections() -> list[tuple[str, str]]:
            conn = await asyncpg.connect(database_url)
            try:
                rows = await conn.fetch(
                    "SELECT usename, application_name FROM pg_stat_activity WHERE datname = $1", roles.database
                )
            finally:
                await conn.close()
            return sorted({(r["usename"], r["application_name"]) for r in rows})

        assert asyncio.run(connections()) == [(roles.runtime, "segment-service")]
    finally:
        server.close()
    assert "Traceback" not in server.output()


def test_serve_as_the_runtime_role_without_no_migrate_fails_with_one_line(roles: Roles) -> None:
    result = run_command("serve", "--port", "0", env=command_env(DATABASE_URL=roles.runtime_url), timeout=60)

    assert (result.returncode, result.stderr, result.stdout) == (
        1,
        f'error: cannot migrate: role "{roles.runtime}" of DATABASE_URL has no CREATE right on schema "public"; '
        "migrate as the role that owns the schema (SEGMENT_SERVICE_MIGRATION_DATABASE_URL, or `segment-service "
        "migrate` with its URL) and serve with --no-migrate\n",
        "",
    )


def test_serve_migrates_as_the_migration_role_and_serves_as_the_runtime_role(roles: Roles) -> None:
    env = command_env(DATABASE_URL=roles.runtime_url, SEGMENT_SERVICE_MIGRATION_DATABASE_URL=roles.owner_url)
    server = Served(env).wait_healthy()
    server.close()
    assert "Traceback" not in server.output()


def test_migrate_refuses_a_role_that_does_not_own_the_schema_naming_the_variable(roles: Roles) -> None:
    env = command_env(DATABASE_URL=roles.runtime_url, SEGMENT_SERVICE_MIGRATION_DATABASE_URL=roles.runtime_url)

    no_create = run_command("migrate", env=env, timeout=60)
    asyncio.run(_run(roles.owner_url, f"GRANT CREATE ON SCHEMA public TO {roles.runtime}"))
    try:
        not_owner = run_command("migrate", env=env, timeout=60)
    finally:
        asyncio.run(_run(roles.owner_url, f"REVOKE CREATE ON SCHEMA public FROM {roles.runtime}"))

    hint = (
        "migrate as the role that owns the schema (SEGMENT_SERVICE_MIGRATION_DATABASE_URL, or `segment-service "
        "migrate` with its URL) and serve with --no-migrate"
    )
    where = f'role "{roles.runtime}" of SEGMENT_SERVICE_MIGRATION_DATABASE_URL'
    assert (no_create.returncode, no_create.stderr) == (
        1,
        f'error: cannot migrate: {where} has no CREATE right on schema "public"; {hint}\n',
    )
    assert (not_owner.returncode, not_owner.stderr) == (
        1,
        f"error: cannot migrate: {where} does not own the service's tables; {hint}\n",
    )


def test_no_migrate_refuses_a_schema_behind_this_version(database_url: str) -> None:
    name = "segment_behind_" + secrets.token_hex(4)
    parts = urlsplit(database_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    asyncio.run(_run(database_url, f"CREATE DATABASE {name}"))
    try:
        env = command_env(DATABASE_URL=url)
        empty = run_command("serve", "--no-migrate", "--port", "0", env=env, timeout=60)
        asyncio.run(migrate(url))
        last = migration_files()[-1][0]
        asyncio.run(_run(url, f"DELETE FROM schema_migrations WHERE version = '{last}'"))
        behind = run_command("serve", "--no-migrate", "--port", "0", env=env, timeout=60)
    finally:
        asyncio.run(_run(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    assert (empty.returncode, empty.stderr) == (
        1,
        "error: the database has no schema yet; run `segment-service migrate` as the role that owns the schema, "
        "then start again\n",
    )
    assert (behind.returncode, behind.stderr) == (
        1,
        f"error: the database schema is behind this version (missing migrations: {last}); run `segment-service "
        "migrate` as the role that owns the schema, then start again\n",
    )


def test_version() -> None:
    result = run_command("--version", env=command_env())

    assert (result.returncode, result.stdout) == (0, f"segment-service {__version__}\n")
