"""Configuration is checked at start: a bad value is one line naming the variable and what it accepts (exit code 2),
an unreachable database one line naming DATABASE_URL without its password (exit code 1), within the connect
timeout; every connection carries the application_name."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Iterator

import asyncpg
import pytest

from segment_service.app import create_served_app
from segment_service.core.db import Database
from segment_service.core.dbconnect import mask_url, open_connection
from segment_service.settings import ConfigError, Settings
from tests.ops.pgbouncer import CLIENT_PASSWORD, PgBouncer
from tests.ops.serving import command_env, run_command

#: Where nothing listens: a command that got past the configuration check fails at once instead of serving.
NOWHERE = "postgresql://127.0.0.1:1/none"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "SEGMENT_SERVICE_TOKEN_TTL",
            "-10",
            "SEGMENT_SERVICE_TOKEN_TTL is '-10'; allowed: a whole number of seconds from 1 to 2592000",
        ),
        (
            "SEGMENT_SERVICE_TOKEN_TTL",
            "1.5",
            "SEGMENT_SERVICE_TOKEN_TTL is '1.5'; allowed: a whole number of seconds from 1 to 2592000",
        ),
        (
            "SEGMENT_SERVICE_POOL_MAX",
            "0",
            "SEGMENT_SERVICE_POOL_MAX is '0'; allowed: a whole number of connections from 1 to 1000",
        ),
        (
            "SEGMENT_SERVICE_POOL_MIN",
            "20",
            "SEGMENT_SERVICE_POOL_MIN is 20, more than SEGMENT_SERVICE_POOL_MAX (10); allowed: 0 to "
            "SEGMENT_SERVICE_POOL_MAX",
        ),
        (
            "SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB",
            "1",
            "SEGMENT_SERVICE_PASSWORD_HASH_MEMORY_KIB is '1'; allowed: a whole number of KiB from 8 to 4194304",
        ),
        (
            "SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS",
            "5s",
            "SEGMENT_SERVICE_STATEMENT_TIMEOUT_MS is '5s'; allowed: a whole number of milliseconds from 1 to 3600000",
        ),
        (
            "SEGMENT_SERVICE_FAST_LANE",
            "maybe",
            "SEGMENT_SERVICE_FAST_LANE is 'maybe'; allowed: true, false, 1, 0, yes, no, on, off",
        ),
        ("SEGMENT_SERVICE_POOLER", "session", "SEGMENT_SERVICE_POOLER is 'session'; allowed: auto, none, transaction"),
        (
            "SEGMENT_SERVICE_CONNECT_TIMEOUT",
            "0",
            "SEGMENT_SERVICE_CONNECT_TIMEOUT is '0'; allowed: a number of seconds from 0.1 to 600",
        ),
        (
            "SEGMENT_SERVICE_SIGNING_KEY",
            "too-short",
            "SEGMENT_SERVICE_SIGNING_KEY is 9 bytes long; allowed: at least 32 bytes (or unset: a key is generated and "
            "kept in the database)",
        ),
        (
            "SEGMENT_SERVICE_APPLICATION_NAME",
            "x" * 64,
            f"SEGMENT_SERVICE_APPLICATION_NAME is '{'x' * 64}'; allowed: 1 to 63 printable ASCII characters",
        ),
        (
            "DATABASE_URL",
            "mysql://root:secret@db/shop",
            "DATABASE_URL is a mysql:// URL; allowed: a postgresql:// (or postgres://) URL, e.g. "
            "postgresql://user:password@host:5432/database",
        ),
        *(
            (
                "DATABASE_URL",
                url,
                "DATABASE_URL is not a valid URL (its host or port cannot be read: a port is a number from "
                "0 to 65535, an IPv6 address is in brackets); allowed: a postgresql:// (or postgres://) URL, e.g. "
                "postgresql://user:password@host:5432/database",
            )
            for url in (
                "postgresql://root:secret@[::1/shop",
                "postgresql://root:secret@db:99999/shop",
                "postgresql://root:secret",
            )
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_exit_code_2(variable: str, value: str, message: str) -> None:
    env = command_env(**{"DATABASE_URL": NOWHERE, variable: value})

    result = run_command("serve", "--port", "0", env=env, timeout=60)

    assert (result.returncode, result.stderr, result.stdout) == (2, f"error: {message}\n", "")


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["migrate"], ["clients", "list"]])
@pytest.mark.parametrize("data_dir", ["/proc/no-such-folder", "/etc/hostname"])
def test_a_data_folder_that_cannot_be_made_is_one_line(command: list[str], data_dir: str) -> None:
    result = run_command(*command, "--data-dir", data_dir, env=command_env(), timeout=60)

    reason = "No such file or directory" if data_dir.startswith("/proc") else "Not a directory"
    assert (result.returncode, result.stderr) == (
        2,
        f"error: cannot use the data folder {data_dir} (--data-dir or SEGMENT_SERVICE_DATA_DIR): {reason}; "
        "allowed: a folder this user can create and write\n",
    )


@pytest.mark.parametrize("command", [["migrate"], ["clients", "create", "--tenant", "shop"]])
def test_every_command_checks_the_configuration(command: list[str]) -> None:
    env = command_env(DATABASE_URL=NOWHERE, SEGMENT_SERVICE_POOL_MAX="0")

    result = run_command(*command, env=env, timeout=60)

    assert (result.returncode, result.stderr) == (
        2,
        "error: SEGMENT_SERVICE_POOL_MAX is '0'; allowed: a whole number of connections from 1 to 1000\n",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        (" No ", False),
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("", True),
    ],
)
def test_boolean_settings_read_true_false_1_0_yes_no(value: str, expected: bool) -> None:
    settings = Settings.from_env({"SEGMENT_SERVICE_FAST_LANE": value, "DATABASE_URL": NOWHERE})

    assert settings.fast_lane is expected
    assert create_served_app(settings).enabled is expected


def test_from_env_raises_a_typed_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"SEGMENT_SERVICE_TOKEN_TTL": "-10"})

    assert raised.value.variable == "SEGMENT_SERVICE_TOKEN_TTL"


def closed_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel completes the handshake) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["migrate"]])
def test_an_unreachable_database_is_one_line_naming_database_url_without_its_password(command: list[str]) -> None:
    port = closed_port()
    env = command_env(DATABASE_URL=f"postgresql://svc:s3cr3t-pw@127.0.0.1:{port}/segments")

    result = run_command(*command, env=env, timeout=60)

    assert (result.returncode, result.stderr, result.stdout) == (
        1,
        f"error: cannot connect to the database at DATABASE_URL=postgresql://svc:***@127.0.0.1:{port}/segments: "
        "connection refused; is PostgreSQL running and listening on that host and port?\n",
        "",
    )


def test_a_database_that_never_answers_fails_after_the_connect_timeout(silent_server: int) -> None:
    env = command_env(
        DATABASE_URL=f"postgresql://svc:s3cr3t-pw@127.0.0.1:{silent_server}/segments",
        SEGMENT_SERVICE_CONNECT_TIMEOUT="1",
    )

    started = time.monotonic()
    result = run_command("serve", "--port", "0", env=env, timeout=60)
    elapsed = time.monotonic() - started

    assert (result.returncode, result.stderr) == (
        1,
        f"error: cannot connect to the database at DATABASE_URL=postgresql://svc:***@127.0.0.1:{silent_server}"
        "/segments: no answer within 1 s (SEGMENT_SERVICE_CONNECT_TIMEOUT); is the host reachable and is it "
        "PostgreSQL listening there?\n",
    )
    assert elapsed < 20  # the driver's own default waits 60 s


def test_a_refused_login_names_the_url_without_its_password(pgbouncer: PgBouncer) -> None:
    url = pgbouncer.url.replace(CLIENT_PASSWORD, "wrong-password")
    env = command_env(DATABASE_URL=url)

    result = run_command("migrate", env=env, timeout=60)

    masked = url.replace("wrong-password", "***")
    assert (result.returncode, result.stderr) == (
        1,
        f"error: cannot connect to the database at DATABASE_URL={masked}: SASL authentication failed; check the "
        "user name and password\n",
    )
    assert "wrong-password" not in result.stdout + result.stderr


def test_a_pooler_that_refuses_startup_parameters_with_pooler_none_is_one_line(pgbouncer: PgBouncer) -> None:
    env = command_env(DATABASE_URL=pgbouncer.url, SEGMENT_SERVICE_POOLER="none")

    result = run_command("serve", "--no-migrate", "--port", "0", env=env, timeout=60)

    masked = pgbouncer.url.replace(CLIENT_PASSWORD, "***")
    assert (result.returncode, result.stderr) == (
        1,
        f"error: cannot connect to the database at DATABASE_URL={masked}: unsupported startup parameter: "
        "statement_timeout (a connection pooler such as pgbouncer: set SEGMENT_SERVICE_POOLER=transaction or "
        "auto)\n",
    )


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://svc:pw@db:5432/x", "postgresql://svc:***@db:5432/x"),
        ("postgresql://svc@db/x?password=pw&sslmode=require", "postgresql://svc@db/x?password=***&sslmode=require"),
        ("postgresql://svc:p%40ss@db/x", "postgresql://svc:***@db/x"),
        ("postgresql://svc:@/x?host=/tmp/pg", "postgresql://svc:***@/x?host=/tmp/pg"),
        ("postgresql://db/x", "postgresql://db/x"),
    ],
)
def test_mask_url_hides_passwords(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_every_connection_carries_the_application_name(database_url: str) -> None:
    name = "segment-service-" + secrets.token_hex(4)
    settings = Settings(database_url=database_url, application_name=name, pool_min_size=3, pool_max_size=3)

    async def run() -> None:
        db = await Database.connect(settings, database_url)
        single = await open_connection(settings, database_url)
        observer = await asyncpg.connect(database_url)
        try:
            count = await observer.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name)
            assert count == 4  # the pool's three and the command's one
        finally:
            await observer.close()
            await single.close()
            await db.close()

    asyncio.run(run())
