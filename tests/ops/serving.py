"""The service as an operator runs it: `segment-service` commands and `serve` as processes with their own
environment, the server's output kept in a file to read afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.ops.pgbouncer import free_port

CLI = [sys.executable, "-m", "segment_service"]
#: Variables of the test process's own environment that would change what a command does.
_SERVICE_VARIABLES = ("DATABASE_URL",)
#: The cheapest argon2 cost: customer signups and logins stay fast (production keeps the default).
FAST_HASHES = {"SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB": "8"}


def command_env(**variables: str) -> dict[str, str]:
    """The test process's environment without any SEGMENT_SERVICE_ or DATABASE_URL setting, no webhook relay, plus
    `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENT_SERVICE_") and k not in _SERVICE_VARIABLES}
    # A served process on a test worker's database (directly or through pgbouncer) would otherwise run a webhook
    # relay with the default retry schedule and take deliveries of the webhook tests' fast-retrying relay
    # (tests/webhooks), as tests/ops/servers.py `serve_env` says too.
    env["SEGMENT_SERVICE_WEBHOOK_DELIVER"] = "false"
    env.update(variables)
    return env


def run_command(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`segment-service ARGS` to its end: exit code, stdout and stderr."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def create_client(env: dict[str, str], tenant: str, *, storefront: bool = False) -> dict[str, Any]:
    """`clients create --json` (a storefront client with `storefront`)."""
    result = run_command(
        "clients", "create", "--tenant", tenant, "--json", *(["--storefront"] if storefront else []), env=env
    )
    assert result.returncode == 0, result.stderr
    client: dict[str, Any] = json.loads(result.stdout)
    return client


class Served:
    """`segment-service serve` on a free port; its output goes to a file (`output()`)."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = Path(tempfile.mkstemp(prefix="segment-service-serve-", suffix=".log")[1])
        self._kept: str | None = None
        with self._log.open("w") as log:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def wait_healthy(self, timeout: float = 60) -> Served:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"serve did not become healthy within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        """Everything the server printed (also after `close`)."""
        if self._kept is None:
            return self._log.read_text(errors="replace")
        return self._kept

    def stop(self) -> None:
        """SIGTERM to the server's process group (it started one of its own), then wait."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        self._kept = self.output()
        self._log.unlink(missing_ok=True)


@contextlib.contextmanager
def served_pair(env: dict[str, str]) -> Iterator[tuple[Served, Served]]:
    """Two `serve` processes on one database (the second does not migrate), both healthy; closed afterwards."""
    first = Served(env).wait_healthy()
    try:
        second = Served(env, "--no-migrate").wait_healthy()
        try:
            yield first, second
        finally:
            second.close()
    finally:
        first.close()
