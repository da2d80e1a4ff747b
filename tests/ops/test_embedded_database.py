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
import psutil
import pytest

from segment_service.core.db import migration_files
from segment_service.embedded import HANDLE_LIST, SETTINGS_FILE, ensure_database, postmaster_pid, server_settings
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


def test_the_embedded_server_runs_with_the_services_settings(database_url: str) -> None:
    if "segment-service-test" not in database_url:
        pytest.skip("TEST_DATABASE_URL names a server this suite did not start")

    async def shown() -> dict[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            return {
                name: await conn.fetchval("SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = $1", name)
                for name in ("shared_buffers", "max_wal_size", "checkpoint_timeout")
            }
        finally:
            await conn.close()

    wanted = server_settings(psutil.virtual_memory().total)
    settings = asyncio.run(shown())
    # pg_settings counts shared_buffers in 8 kB pages and max_wal_size in MB.
    assert int(settings["shared_buffers"].removesuffix("8kB")) * 8 // 1024 == int(wanted["shared_buffers"][:-2])
    assert settings["max_wal_size"] == "4096MB"
    assert settings["checkpoint_timeout"] == "900s"


def test_settings_scale_with_memory_and_are_bounded() -> None:
    assert server_settings(512 * 2**20)["shared_buffers"] == "128MB"  # never below PostgreSQL's own default
    assert server_settings(4 * 2**30)["shared_buffers"] == "512MB"
    assert server_settings(64 * 2**30)["shared_buffers"] == "1024MB"
    assert server_settings(512 * 2**20)["wal_buffers"] == "-1"  # PostgreSQL's own choice for small buffers


def test_the_settings_come_from_the_services_file(database_url: str) -> None:
    """Included from postgresql.conf, so postgresql.auto.conf (ALTER SYSTEM), read after it, can override it."""
    if "segment-service-test" not in database_url:
        pytest.skip("TEST_DATABASE_URL names a server this suite did not start")

    async def source() -> tuple[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            data_directory = await conn.fetchval("SHOW data_directory")
            sourcefile = await conn.fetchval("SELECT sourcefile FROM pg_settings WHERE name = 'max_wal_size'")
            return data_directory, sourcefile
        finally:
            await conn.close()

    data_directory, sourcefile = asyncio.run(source())
    assert sourcefile == str(Path(data_directory) / SETTINGS_FILE)
    conf = (Path(data_directory) / "postgresql.conf").read_text()
    assert conf.count(f"include_if_exists = '{SETTINGS_FILE}'") == 1
