"""The `segment-service` command as a user runs it: serve on the embedded database, clients, migrate."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import segment_body

CLI = [sys.executable, "-m", "segment_service"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [*CLI, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """`segment-service serve` on a fresh data folder, as `make run` starts it."""
    data_dir = tmp_path_factory.mktemp("serve") / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("serve did not become healthy within 60 s")
    yield base_url, data_dir, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def postgres_running(data_dir: Path) -> bool:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_first_start_creates_a_client_and_the_seed_walkthrough_works(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    base_url, data_dir, _ = served
    first = json.loads((data_dir / "first-client.json").read_text())
    token_response = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": first["client_id"],
            "client_secret": first["client_secret"],
        },
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert token_response.status_code == 200, token_response.text
    headers = {"Authorization": f"Bearer {token_response.json()['access_token']}"}
    segments = f"{base_url}/customer-segment/{first['tenant']}/segments"

    created = httpx.post(segments, json=segment_body(id="628cd20c6e8b2432b6346ca6"), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": "628cd20c6e8b2432b6346ca6"}

    got = httpx.get(f"{segments}/628cd20c6e8b2432b6346ca6", headers=headers)
    assert got.status_code == 200
    assert got.json()["metadata"]["version"] == 1

    found = httpx.post(f"{segments}/search", json={"q": "siteCode:main"}, headers={**headers, "X-Total-Count": "true"})
    assert found.status_code == 200
    assert [s["id"] for s in found.json()] == ["628cd20c6e8b2432b6346ca6"]
    assert found.headers["X-Total-Count"] == "1"


def test_clients_create_works_while_the_server_runs(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base_url, data_dir, _ = served
    result = run_cli(
        "clients", "create", "--tenant", "acme", "--scope", "customersegment.segment_read", "--json", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    assert set(client) == {"client_id", "client_secret", "tenant", "scopes"}
    assert client["tenant"] == "acme"
    assert client["scopes"] == ["customersegment.segment_read"]
    token = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    ).json()
    assert token["scope"] == "tenant=acme customersegment.segment_read"
    assert postgres_running(data_dir), "the CLI must not stop the server's database"


def test_storefront_clients_get_anonymous_tokens(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base_url, data_dir, _ = served
    result = run_cli("clients", "create", "--tenant", "acme", "--storefront", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    assert set(client) == {"client_id", "tenant"}
    token = httpx.get(
        f"{base_url}/customerlogin/auth/anonymous/login", params={"tenant": "acme", "client_id": client["client_id"]}
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "tenant=acme"


def test_a_storefront_client_takes_no_scopes(tmp_path: Path) -> None:
    result = run_cli("clients", "create", "--tenant", "acme", "--storefront", "--scope", "x", data_dir=tmp_path / "d")
    assert result.returncode == 2
    assert "no scopes" in result.stderr


def test_openapi_and_docs_are_served(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base_url, _, _ = served
    document = httpx.get(f"{base_url}/openapi.json").json()
    assert "/customer-segment/{tenant}/segments" in document["paths"]
    assert httpx.get(f"{base_url}/docs").status_code == 200


def test_sigterm_stops_the_embedded_database(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    _, data_dir, process = served
    assert postgres_running(data_dir)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while postgres_running(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not postgres_running(data_dir)


def test_clients_create_rejects_a_bad_tenant(tmp_path: Path) -> None:
    result = run_cli("clients", "create", "--tenant", "Not A Tenant", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: Invalid tenant 'Not A Tenant': use 3-16 lowercase letters and digits, starting with a letter."
    )
    assert result.stdout == ""


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    first = run_cli("migrate", data_dir=tmp_path / "data")
    assert first.returncode == 0, first.stderr
    assert "0001_foundation" in first.stdout
    second = run_cli("migrate", data_dir=tmp_path / "data")
    assert second.returncode == 0, second.stderr
    assert "none needed" in second.stdout
    assert not postgres_running(tmp_path / "data")
