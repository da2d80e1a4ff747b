"""The server processes a run starts, and plain HTTP calls to them on 127.0.0.1.

Each server runs in its own session (process group), because its supervisor starts worker processes: stopping the
group by its id stops the workers too, and nothing else on the machine is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.load import BenchError

HOST = "127.0.0.1"
# No proxy, ever: an http_proxy in the environment must not send loopback requests elsewhere.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A started server process, its log file and how to stop it."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_running(self) -> None:
        """Raise with the log's tail when the process has exited."""
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"{self.name} exited with code {code}. The end of its log:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it when it has not exited within `timeout`."""
        try:
            if self.process.poll() is None:
                self._signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self.process.wait(5)
            # Workers may outlive a main process that died on its own; the group id is still ours to end.
            self._signal(signal.SIGKILL)
        finally:
            self._log_file.close()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group has exited already
            os.killpg(self.process.pid, sig)


def request(
    url: str, *, method: str = "GET", body: Any = None, token: str | None = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """(status, decoded JSON body or None) of one request to a loopback URL."""
    if not url.startswith(f"http://{HOST}:"):
        raise BenchError(f"Refusing to call anything but {HOST}: {url}")
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    return status, (json.loads(raw) if raw else None)


def wait_ready(server: Server, url: str, timeout: float = 60.0) -> None:
    """Poll `url` until it answers 200; fail early when the server process dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        server.check_running()
        try:
            status, _ = request(url, timeout=2.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except (OSError, ValueError) as exc:  # refused while starting, or a half-written answer
            last = str(exc)
        time.sleep(0.2)
    raise BenchError(
        f"{server.name} did not answer 200 on {url} within {timeout:.0f} s ({last}). "
        f"The end of its log:\n{server.log_tail()}"
    )
