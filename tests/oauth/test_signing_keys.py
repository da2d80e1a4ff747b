"""`segment-service keys rotate`: new tokens are signed with the new key, tokens signed before keep working until
they expire, every process picks the new key up without a restart, and keys retired for longer than the longest
token lifetime are dropped."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import OctKey
from litestar.testing import TestClient
from tests.factories import INVALID_TOKEN, run_sql
from tests.oauth.test_client_revocation import cli, segments
from tests.oauth.test_token import make_client, request_token

from segment_service.app import create_served_app
from segment_service.cli import main
from segment_service.core.auth import SERVICE_SCOPES, TokenKind, TokenService
from segment_service.core.fastlane import FastLane
from segment_service.settings import Settings


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


Workers = tuple[TestClient[FastLane], TestClient[FastLane]]


def tokens_of(worker: TestClient[FastLane]) -> TokenService:
    service: TokenService = worker.app_state.tokens  # type: ignore[attr-defined]
    return service


@pytest.fixture(scope="module")
def workers(database_url: str) -> Iterator[Workers]:
    """Two app instances on keys kept in the database, as two worker processes of one server are."""
    settings = Settings(database_url=database_url, signing_key=None, password_hash_memory_kib=8, webhook_deliver=False)
    first_app, second_app = create_served_app(settings), create_served_app(settings)
    with (
        TestClient(first_app, raise_server_exceptions=False) as first,
        TestClient(second_app, raise_server_exceptions=False) as second,
    ):
        first.app_state = first_app.state  # type: ignore[attr-defined]
        second.app_state = second_app.state  # type: ignore[attr-defined]
        yield first, second


def test_rotation_keeps_old_tokens_and_reaches_every_worker(workers: Workers, database_url: str, tenant: str) -> None:
    first, second = workers
    tokens_of(first).RELOAD_SECONDS = 0.0  # this worker looks at the keys before every token it issues
    tokens_of(second).RELOAD_SECONDS = 3600.0  # this one only when a token names a key it does not know
    client_id, secret = make_client(database_url, tenant)
    old_token = request_token(first, client_id=client_id, client_secret=secret).json()["access_token"]
    old_kid = kid_of(old_token)

    rotated = cli(database_url, "keys", "rotate", "--json")
    new_kid = rotated["kid"]
    assert new_kid != old_kid
    listed = cli(database_url, "keys", "list", "--json")
    assert listed[0] == {"kid": new_kid, "created_at": listed[0]["created_at"], "signing": True}
    assert old_kid in [key["kid"] for key in listed[1:]]

    new_token = request_token(first, client_id=client_id, client_secret=secret).json()["access_token"]
    assert kid_of(new_token) == new_kid
    for worker in workers:
        assert segments(worker, tenant, old_token).status_code == 200  # signed before: still valid
        assert segments(worker, tenant, new_token).status_code == 200  # the second worker reloads for it
    assert tokens_of(second).current_kid == new_kid


def test_a_token_without_a_kid_from_before_rotation_support_still_verifies(
    workers: Workers, database_url: str, tenant: str
) -> None:
    first, _ = workers
    make_client(database_url, tenant)
    client_id = run_sql(database_url, "SELECT client_id FROM api_clients WHERE tenant = $1", tenant)[0]["client_id"]
    secret = run_sql(database_url, "SELECT secret FROM signing_keys ORDER BY created_at LIMIT 1")[0]["secret"]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "segment-service",
        "sub": client_id,
        "ten": tenant,
        "knd": TokenKind.SERVICE.value,
        "scp": " ".join(SERVICE_SCOPES),
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret))
    assert segments(first, tenant, token).status_code == 200


def test_keys_retired_longer_than_the_longest_token_lifetime_are_dropped(
    workers: Workers, database_url: str, tenant: str
) -> None:
    first, _ = workers
    tokens_of(first).RELOAD_SECONDS = 0.0
    client_id, secret = make_client(database_url, tenant)
    cli(database_url, "keys", "rotate", "--json")
    token = request_token(first, client_id=client_id, client_secret=secret).json()["access_token"]
    # Pretend every key so far was made 60 days ago: all but the newest of them have been retired that long.
    run_sql(database_url, "UPDATE signing_keys SET created_at = created_at - interval '60 days'")
    kids = [r["kid"] for r in run_sql(database_url, "SELECT kid FROM signing_keys ORDER BY created_at DESC")]
    rotated = cli(database_url, "keys", "rotate", "--json")
    assert rotated["retention_seconds"] == 2591999  # the customer token lifetime: the longest one
    assert sorted(rotated["dropped"]) == sorted(kids[1:])
    assert kid_of(token) == kids[0]
    assert segments(first, tenant, token).status_code == 200  # kids[0] was retired only now: its tokens stay
    # 60 days on, the key that retired kids[0] is old too: kids[0] has been retired longer than any token lives.
    run_sql(database_url, "UPDATE signing_keys SET created_at = created_at - interval '60 days'")
    cli(database_url, "keys", "rotate", "--json")
    response = segments(first, tenant, token)
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_rotation_is_refused_while_the_signing_key_is_configured(database_url: str) -> None:
    result = CliRunner().invoke(
        main, ["keys", "rotate"], env={"DATABASE_URL": database_url, "SEGMENT_SERVICE_SIGNING_KEY": "k" * 40}
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: SEGMENT_SERVICE_SIGNING_KEY is set, so that key signs every token")


def test_a_running_server_with_two_workers_switches_keys_without_a_restart(database_url: str, tenant: str) -> None:
    """Real worker processes: after `keys rotate` (another process), tokens keep verifying on every worker and new
    ones come signed with the new key within the reload interval."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    # No relay: one with the default retry schedule on this worker's database, still running while the server stops,
    # would take deliveries of the webhook tests that retry fast (tests/webhooks).
    env = {
        **{k: v for k, v in os.environ.items() if k != "SEGMENT_SERVICE_SIGNING_KEY"},
        "DATABASE_URL": database_url,
        "SEGMENT_SERVICE_WEBHOOK_DELIVER": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "segment_service", "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        client_id, secret = make_client(database_url, tenant)
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}

        def new_token() -> str:
            response = httpx.post(f"{base}/oauth/token", data=form, timeout=10)
            assert response.status_code == 200, response.text
            token: str = response.json()["access_token"]
            return token

        def status(token: str) -> int:
            return httpx.get(
                f"{base}/customer-segment/{tenant}/segments", timeout=10, headers={"Authorization": f"Bearer {token}"}
            ).status_code

        old = new_token()
        rotated = subprocess.run(
            [sys.executable, "-m", "segment_service", "keys", "rotate", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        new_kid = json.loads(rotated.stdout)["kid"]
        deadline = time.monotonic() + 15
        kids: set[str] = set()
        while time.monotonic() < deadline and kids != {new_kid}:
            kids = {kid_of(new_token()) for _ in range(6)}  # both workers, most likely
            time.sleep(0.5)
        assert kids == {new_kid}
        fresh = new_token()
        assert [status(old) for _ in range(6)] == [200] * 6
        assert [status(fresh) for _ in range(6)] == [200] * 6
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
