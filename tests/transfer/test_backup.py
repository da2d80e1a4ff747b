"""`segment-service dump` and `restore`: a real served instance, its data dumped with the embedded PostgreSQL's own
pg_dump, restored into a fresh data folder, served again and read back; a non-empty database is refused unless
--clean; an external DATABASE_URL needs pg_dump/pg_restore of the server's version on PATH."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from segment_service.transfer import store
from segment_service.transfer.backup import embedded_bin
from tests.test_cli import free_port

CLI = [sys.executable, "-m", "segment_service"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env or _env(), timeout=180, check=False)


@contextmanager
def _served(data_dir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited early:\n{process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("serve did not become healthy within 90 s")
            time.sleep(0.2)
        yield base_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _client(base_url: str, data_dir: Path) -> httpx.Client:
    """A client with a token of the data folder's first API client; generous timeouts, the machine may be busy."""
    client = json.loads((data_dir / "first-client.json").read_text())
    answer = httpx.post(
        f"{base_url}/oauth/token",
        timeout=30,
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    token = answer.json()["access_token"]
    return httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})


def test_a_restored_database_serves_the_same_data(tmp_path: Path) -> None:
    source, target, dump = tmp_path / "source", tmp_path / "target", tmp_path / "backup.dump"
    segments = "/customer-segment/mytenant/segments"
    with _served(source) as base_url, _client(base_url, source) as http:
        created = http.post(
            segments, json={"id": "gold", "name": {"en": "Gold"}, "siteCode": "main", "status": "ACTIVE"}
        )
        assert created.status_code == 201
        http.post(
            "/product/mytenant/products", json={"id": "p1", "code": "p1", "name": {"en": "Coffee"}, "published": True}
        )
        assert http.put(f"{segments}/gold/items/PRODUCT/p1", json={}).status_code == 201
        before = http.get(f"{segments}/gold").json()
        items_before = http.get(f"{segments}/gold/items").json()
        # Dumped while the service runs, as a backup is taken.
        dumped = _cli("dump", str(dump), "--data-dir", str(source))
        assert dumped.returncode == 0, dumped.stderr
        assert dumped.stdout.startswith(f"Dumped the database to {dump} (")
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    restored = _cli("restore", str(dump), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    (target / "first-client.json").write_text((source / "first-client.json").read_text())
    with _served(target) as base_url, _client(base_url, target) as http:
        # The same client (it is in the dump), the same signing key, the same data.
        assert http.get(f"{segments}/gold").json() == before
        assert http.get(f"{segments}/gold/items").json() == items_before

    refused = _cli("restore", str(dump), "--data-dir", str(target))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: the database postgresql://")
    assert refused.stderr.endswith(
        " is not empty; restore into an empty one (a new --data-dir or a new database), "
        "or pass --clean to drop everything in it first\n"
    )
    again = _cli("restore", str(dump), "--clean", "--data-dir", str(target))
    assert again.returncode == 0, again.stderr

    missing = _cli("restore", str(tmp_path / "nothing.dump"), "--data-dir", str(target))
    assert (missing.returncode, missing.stderr) == (1, f"error: {tmp_path / 'nothing.dump'}: no such file\n")


def _server_major(database_url: str) -> int:
    return asyncio.run(store.server_major_version(database_url))


def test_an_external_database_needs_the_servers_tools_on_path(database_url: str, tmp_path: Path) -> None:
    major = _server_major(database_url)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "PATH": str(empty)}
    result = _cli("dump", str(tmp_path / "x.dump"), env=env)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: pg_dump was not found on PATH; install the PostgreSQL {major} client programs "
        f"(Debian/Ubuntu: apt-get install postgresql-client-{major}) and put them first on PATH\n"
    )
    assert not (tmp_path / "x.dump").exists()

    # With the server's own version first on PATH, the external route dumps.
    ok = _cli("dump", str(tmp_path / "x.dump"), env={**env, "PATH": f"{embedded_bin()}:{os.environ['PATH']}"})
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "x.dump").read_bytes()[:5] == b"PGDMP"


def test_older_tools_on_path_are_refused(database_url: str, tmp_path: Path) -> None:
    major = _server_major(database_url)
    older = sorted(
        p
        for p in Path("/usr/lib/postgresql").glob("*/bin/pg_restore")
        if p.parent.parent.name.isdigit() and int(p.parent.parent.name) < major
    )
    if not older:
        pytest.skip(f"no PostgreSQL client older than {major} is installed (Debian: postgresql-client-NN)")
    tool = older[0]
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP")
    env = {**os.environ, "DATABASE_URL": database_url, "PATH": str(tool.parent)}
    refused = _cli("restore", str(dump), env=env)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"error: {tool} is version {tool.parent.parent.name}, older than the server "
        f"(PostgreSQL {major}); install the PostgreSQL {major} client programs (Debian/Ubuntu: "
        f"apt-get install postgresql-client-{major}) and put them first on PATH\n"
    )


def test_restore_clean_refuses_a_bad_file_before_dropping_anything(tmp_path: Path) -> None:
    data_dir, dump = tmp_path / "data", tmp_path / "backup.dump"
    created = _cli("clients", "create", "--tenant", "keepme", "--json", "--data-dir", str(data_dir))
    assert created.returncode == 0, created.stderr
    client_id = json.loads(created.stdout)["client_id"]
    dumped = _cli("dump", str(dump), "--data-dir", str(data_dir))
    assert dumped.returncode == 0, dumped.stderr
    whole = dump.read_bytes()
    not_a_dump, cut_short = tmp_path / "notes.txt", tmp_path / "cut.dump"
    not_a_dump.write_text("not a dump\n")
    cut_short.write_bytes(whole[: len(whole) * 2 // 3])
    for bad in (not_a_dump, cut_short):
        refused = _cli("restore", str(bad), "--clean", "--data-dir", str(data_dir))
        assert refused.returncode == 1
        assert refused.stderr.startswith(
            f"error: {bad} is not a complete dump; nothing was dropped (pg_restore failed: pg_restore: error: "
        ), refused.stderr
        assert refused.stderr.count("\n") == 1
        listed = _cli("clients", "list", "--json", "--data-dir", str(data_dir))
        assert [c["client_id"] for c in json.loads(listed.stdout)] == [client_id]
