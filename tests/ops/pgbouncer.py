"""A real pgbouncer (Debian's package) in front of the test database, for tests of the pooler-safe mode.

The test setup installs the package with apt-get when it is missing and the tests run as root (as bench/load.py does
for wrk); without it the tests that need it skip and say why.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import asyncpg

INSTALL_HINT = "pgbouncer is not installed and cannot be installed here (install the Debian package `pgbouncer`)"
#: The password clients give pgbouncer (its own auth file); pgbouncer logs in to PostgreSQL as the test server allows.
CLIENT_PASSWORD = "pooler-test-secret"


class PgBouncerUnavailable(Exception):
    """pgbouncer is missing and cannot be installed: the tests that need it skip with this reason."""


def _installed() -> str | None:
    return shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None)


def ensure_pgbouncer() -> str:
    """The path of `pgbouncer`, installing the Debian package first when running as root with apt-get."""
    found = _installed()
    if found:
        return found
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            # Another worker may be installing a package (Chromium for the console tests): wait for its lock.
            wait = ["-o", "DPkg::Lock::Timeout=300"]
            subprocess.run(["apt-get", *wait, "update", "-qq"], check=False, env=env, capture_output=True, timeout=400)
            # Without systemd the package's attempt to start its own service may fail; the binary is what counts.
            install = subprocess.run(
                ["apt-get", *wait, "install", "-y", "-qq", "--no-install-recommends", "pgbouncer"],
                check=False,
                env=env,
                capture_output=True,
                text=True,
                timeout=400,
            )
        except subprocess.TimeoutExpired as exc:
            raise PgBouncerUnavailable(f"{INSTALL_HINT}: apt-get took too long ({exc})") from exc
        # The package may start a system-wide pgbouncer on port 6432; the tests start their own.
        if shutil.which("systemctl"):
            subprocess.run(["systemctl", "disable", "--now", "pgbouncer"], check=False, capture_output=True)
        found = _installed()
        if found:
            return found
        raise PgBouncerUnavailable(f"{INSTALL_HINT}: apt-get install said: {install.stderr.strip()[-300:]}")
    raise PgBouncerUnavailable(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where pgbouncer finds PostgreSQL: a host name or a socket folder, a port, a database and a user."""

    host: str
    port: int
    database: str
    user: str
    password: str

    @classmethod
    async def of(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = parts.hostname or query.get("host", ["127.0.0.1"])[0]
        conn = await asyncpg.connect(url)
        try:
            port = int(await conn.fetchval("SHOW port"))
        finally:
            await conn.close()
        return cls(
            host=host,
            port=port,
            database=parts.path.lstrip("/"),
            user=parts.username or "postgres",
            password=parts.password or "",
        )


class PgBouncer:
    """One pgbouncer process in transaction mode on a free port, with its own config and auth file."""

    def __init__(
        self, executable: str, upstream: Upstream, *, pool_size: int = 4, ignore_startup_parameters: str = ""
    ) -> None:
        self.executable = executable
        self.upstream = upstream
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-test-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.run_as = self._run_as()
        self._write_config(pool_size, ignore_startup_parameters)

    def _run_as(self) -> str | None:
        """pgbouncer refuses to run as root: as root, run it as whoever owns the PostgreSQL socket folder (it must
        reach the socket), or `nobody` for a TCP upstream."""
        if os.geteuid() != 0:
            return None
        if self.upstream.host.startswith("/"):
            return pwd.getpwuid(os.stat(self.upstream.host).st_uid).pw_name
        return "nobody"

    def _write_config(self, pool_size: int, ignore_startup_parameters: str) -> None:
        up = self.upstream
        password = f" password={up.password}" if up.password else ""
        (self.folder / "pgbouncer.ini").write_text(
            # Any database of the server, so that tests can also use databases of their own.
            "[databases]\n"
            f"* = host={up.host} port={up.port}{password}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 500\n"
            "auth_type = scram-sha-256\n"
            f"auth_file = {self.folder / 'userlist.txt'}\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
            f"pidfile = {self.folder / 'pgbouncer.pid'}\n"
            f"ignore_startup_parameters = {ignore_startup_parameters}\n",
            encoding="utf-8",
        )
        (self.folder / "userlist.txt").write_text(f'"{up.user}" "{CLIENT_PASSWORD}"\n', encoding="utf-8")
        if self.run_as is not None:
            info = pwd.getpwnam(self.run_as)
            for path in (self.folder, *self.folder.iterdir()):
                os.chown(path, info.pw_uid, info.pw_gid)

    @property
    def url(self) -> str:
        """What clients connect to: pgbouncer's port, the test database, the auth file's password."""
        return self.url_for(self.upstream.database)

    def url_for(self, database: str) -> str:
        """The URL of another database of the same server, through pgbouncer."""
        return f"postgresql://{quote(self.upstream.user)}:{CLIENT_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        command = [self.executable, *(["-u", self.run_as] if self.run_as else []), str(self.folder / "pgbouncer.ini")]
        # Its output goes to a file: a pipe nobody reads would fill up and stop pgbouncer.
        with (self.folder / "stderr.log").open("ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=output)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (self.folder / "stderr.log").read_text(errors="replace")
                raise RuntimeError(f"pgbouncer exited at start: {error}{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not listen on port {self.port} within 20 s: {self.log_tail()}")

    def stop(self) -> None:
        """Stop at once (SIGTERM is pgbouncer's immediate shutdown: every client and server connection drops)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        log = self.folder / "pgbouncer.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_pgbouncer(database_url: str, *, pool_size: int = 4, ignore_startup_parameters: str = "") -> PgBouncer:
    """A running pgbouncer in transaction mode in front of `database_url`'s server and database; a small pool
    (`pool_size` server connections) so that its clients share server connections all the time."""
    bouncer = PgBouncer(
        ensure_pgbouncer(),
        asyncio.run(Upstream.of(database_url)),
        pool_size=pool_size,
        ignore_startup_parameters=ignore_startup_parameters,
    )
    try:
        bouncer.start()
    except Exception:
        bouncer.close()
        raise
    return bouncer
