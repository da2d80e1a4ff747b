"""The embedded PostgreSQL under real processes: a crashed `serve` (kill -9) leaves no dead handle behind, so a later
clean stop stops PostgreSQL; and two first starts on one fresh data folder at the same moment both work."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from segment_service.core.db import migration_files
from segment_service.embedded import HANDLE_LIST, ensure_database, postmaster_pid
from tests.ops.servers import CLI, ServeProcess, cleanup_embedded, process_gone, run_cli, serve_env


def folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="ops-embedded-"))


def handles(data_dir: Path) -> list[int]:
    pids: list[int] = json.loads((data_dir / "pg" / HANDLE_LIST).read_text())
    return pids


def postgres_stops(data_dir: Path) -> bool:
    pid = postmaster_pid(data_dir / "pg")
    return pid is None or process_gone(pid, timeout=20)


class TestCrashes:
    def test_a_crash_then_a_start_then_a_clean_stop_stops_postgres(self) -> None:
        base = folder()
        with cleanup_embedded(base / "data"):
            crashed = ServeProcess.start(base, workers=2)
            crashed.kill_supervisor()
            assert handles(crashed.data_dir) == [crashed.pid]  # the dead process is still listed
            assert postmaster_pid(crashed.data_dir / "pg") is not None  # and PostgreSQL runs on
            crashed.stop()
            with ServeProcess.start(base) as restarted:
                assert handles(restarted.data_dir) == [restarted.pid]
                assert restarted.stop() == 0
            assert postgres_stops(base / "data")

    def test_a_crash_beside_a_running_server_does_not_keep_postgres_after_the_last_clean_stop(self) -> None:
        base = folder()
        with cleanup_embedded(base / "data"):
            first = ServeProcess.start(base)
            with ServeProcess.start(base) as second:
                assert sorted(handles(base / "data")) == sorted([first.pid, second.pid])
                first.kill_supervisor()
                first.stop()
                assert second.get("/health").status_code == 200
                assert second.stop() == 0
            assert postgres_stops(base / "data")

    def test_a_cli_command_beside_a_crashed_server_stops_postgres_when_done(self) -> None:
        base = folder()
        with cleanup_embedded(base / "data"):
            crashed = ServeProcess.start(base)
            crashed.kill_supervisor()
            crashed.stop()
            result = run_cli("migrate", data_dir=base / "data")
            assert result.returncode == 0, result.stderr
            assert postgres_stops(base / "data")


class TestFirstStartsAtOnce:
    def test_two_migrates_on_a_fresh_folder(self) -> None:
        data_dir = folder() / "data"
        with cleanup_embedded(data_dir):
            command = [*CLI, "migrate", "--data-dir", str(data_dir)]
            runs = [
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=serve_env())
                for _ in range(2)
            ]
            results = [(run.wait(120), *run.communicate()) for run in runs]
            for code, _, stderr in results:
                assert code == 0, stderr
            # Each migration takes the lock on its own, so the two may share the work: between them every migration
            # was applied exactly once.
            applied: list[str] = []
            for _, out, _ in results:
                assert out.startswith("Applied "), out
                names = out.split(": ", 1)[1].strip()
                applied += [] if names == "none needed" else names.split(", ")
            assert sorted(applied) == [version for version, _ in migration_files()]
            assert postgres_stops(data_dir)

    def test_two_serves_on_a_fresh_folder_both_serve_and_make_one_first_client(self) -> None:
        base = folder()
        with cleanup_embedded(base / "data"):
            starting = [ServeProcess.start(base, ready=False) for _ in range(2)]
            try:
                for serve in starting:
                    serve.wait_ready()
                    assert serve.get("/health").status_code == 200
                logs = [serve.log() for serve in starting]
                assert sum("Created an API client of tenant 'mytenant'" in log for log in logs) == 1
                assert sum("API client of tenant 'mytenant': client_id" in log for log in logs) == 1
                client = json.loads((base / "data" / "first-client.json").read_text())
                for serve in starting:
                    token = serve.post(
                        "/oauth/token",
                        data={
                            "grant_type": "client_credentials",
                            "client_id": client["client_id"],
                            "client_secret": client["client_secret"],
                        },
                    )
                    assert token.status_code == 200, token.text
            finally:
                codes = [serve.stop() for serve in starting]
            assert codes == [0, 0]
            assert postgres_stops(base / "data")


def test_concurrent_creates_of_one_database_all_succeed(database_url: str) -> None:
    """What two first starts do at once, many times over: without taking turns, all but one CREATE DATABASE fail
    with a unique violation."""
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    name = "race_" + secrets.token_hex(6)

    async def race() -> None:
        try:
            await asyncio.gather(*(ensure_database(admin_url, name) for _ in range(8)))
        finally:
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            finally:
                await conn.close()

    try:
        asyncio.run(race())
    except asyncpg.InsufficientPrivilegeError:
        pytest.skip("the test database's role may not create databases")
