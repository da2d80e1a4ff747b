"""Deleting an API client or narrowing its scopes takes effect for the tokens it already has; the `clients` commands
that do it (list, revoke, rotate-secret, update), run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from tests.factories import INVALID_TOKEN
from tests.oauth.test_anonymous import login, storefront_client
from tests.oauth.test_token import INVALID_CLIENT, make_client, request_token

from segment_service.cli import main

READ = "customersegment.segment_read"
MANAGE = "customersegment.segment_manage"


def cli(database_url: str, *args: str) -> Any:
    """A `segment-service` command in this process (click's runner) against the test database; its JSON output."""
    result = CliRunner().invoke(
        main, list(args), env={"DATABASE_URL": database_url, "SEGMENT_SERVICE_SIGNING_KEY": None}
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def cli_process(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A `segment-service` command in a process of its own, as an operator runs it next to the server."""
    env = {**{k: v for k, v in os.environ.items() if k != "SEGMENT_SERVICE_SIGNING_KEY"}, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "segment_service", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def segments(client: TestClient[Any], tenant: str, token: str) -> httpx.Response:
    return client.get(f"/customer-segment/{tenant}/segments", headers={"Authorization": f"Bearer {token}"})


def create_segment(client: TestClient[Litestar], tenant: str, token: str) -> httpx.Response:
    return client.post(
        f"/customer-segment/{tenant}/segments",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": {"en": "x"}, "status": "ACTIVE", "siteCode": "main"},
    )


def until_refused(client: TestClient[Litestar], tenant: str, token: str, limit: float = 3.0) -> httpx.Response:
    """The first answer to the token that is not a 200, polled for at most `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        response = segments(client, tenant, token)
        if response.status_code != 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_a_revoked_client_s_tokens_answer_401(client: TestClient[Litestar], database_url: str, tenant: str) -> None:
    client_id, secret = make_client(database_url, tenant)
    token = request_token(client, client_id=client_id, client_secret=secret).json()["access_token"]
    assert segments(client, tenant, token).status_code == 200
    # From another process, as an operator does: this process's cached answer runs out within a second.
    result = cli_process(database_url, "clients", "revoke", client_id, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "client_id": client_id,
        "tenant": tenant,
        "kind": "service",
        "name": "",
        "scopes": json.loads(result.stdout)["scopes"],
        "revoked": True,
    }
    started = time.monotonic()
    response = until_refused(client, tenant, token)
    assert response.status_code == 401, response.text
    assert time.monotonic() - started <= 1.5
    assert response.json() == INVALID_TOKEN
    response = request_token(client, client_id=client_id, client_secret=secret)
    assert response.status_code == 401
    assert response.json() == INVALID_CLIENT


def test_narrowed_scopes_apply_to_issued_tokens_at_once(
    client: TestClient[Litestar], database_url: str, tenant: str
) -> None:
    client_id, secret = make_client(database_url, tenant, [READ, MANAGE])
    token = request_token(client, client_id=client_id, client_secret=secret).json()["access_token"]
    assert create_segment(client, tenant, token).status_code == 201
    updated = cli(database_url, "clients", "update", client_id, "--scope", READ, "--json")
    assert updated == {"client_id": client_id, "tenant": tenant, "kind": "service", "name": "", "scopes": [READ]}
    # In this process the change evicts the cached client: the very next request sees it.
    response = create_segment(client, tenant, token)
    assert response.status_code == 403
    assert response.json() == {"code": 403, "status": "Forbidden", "message": f"Required scope(s): {MANAGE}."}
    assert segments(client, tenant, token).status_code == 200
    # Widening again gives the token back only what it was issued with.
    cli(database_url, "clients", "update", client_id, "--scope", f"{READ} {MANAGE}", "--json")
    assert create_segment(client, tenant, token).status_code == 201


def test_rotate_secret_replaces_the_secret(client: TestClient[Litestar], database_url: str, tenant: str) -> None:
    client_id, old_secret = make_client(database_url, tenant)
    token = request_token(client, client_id=client_id, client_secret=old_secret).json()["access_token"]
    rotated = cli(database_url, "clients", "rotate-secret", client_id, "--json")
    assert (rotated["client_id"], rotated["tenant"]) == (client_id, tenant)
    new_secret = rotated["client_secret"]
    assert new_secret != old_secret
    response = request_token(client, client_id=client_id, client_secret=old_secret)
    assert response.status_code == 401
    assert response.json() == INVALID_CLIENT
    assert request_token(client, client_id=client_id, client_secret=new_secret).status_code == 200
    assert segments(client, tenant, token).status_code == 200  # issued tokens run out by themselves (documented)


def test_list_shows_the_tenant_s_clients_without_secrets(
    client: TestClient[Litestar], database_url: str, tenant: str
) -> None:
    client_id, secret = make_client(database_url, tenant, [READ])
    front = storefront_client(database_url, tenant)
    listed = cli(database_url, "clients", "list", "--tenant", tenant, "--json")
    assert [(c["client_id"], c["kind"], c["scopes"]) for c in listed] == [
        (client_id, "service", [READ]),
        (front, "storefront", []),
    ]
    assert secret not in json.dumps(listed)
    assert {"client_id", "tenant", "kind", "name", "scopes", "created_at"} == set(listed[0])
    text = cli(database_url, "clients", "list", "--tenant", tenant)
    assert (client_id in text, front in text, secret in text) == (True, True, False)


def test_revoking_a_storefront_client_ends_its_anonymous_sessions(
    client: TestClient[Litestar], database_url: str, tenant: str
) -> None:
    front = storefront_client(database_url, tenant)
    anonymous = login(client, tenant, front).json()
    token = anonymous["access_token"]
    url = f"/customer-segment/{tenant}/segments"
    # A valid token without the scope is a 403; once its session is ended it is no token at all: 401.
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    cli(database_url, "clients", "revoke", front, "--json")
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    refreshed = client.get(
        "/customerlogin/auth/anonymous/refresh",
        params={"tenant": tenant, "client_id": front, "refresh_token": anonymous["refresh_token"]},
    )
    assert refreshed.status_code == 401


@pytest.mark.parametrize("command", [["revoke"], ["rotate-secret"], ["update", "--name", "x"]])
def test_an_unknown_client_is_a_clear_error(database_url: str, command: list[str]) -> None:
    result = CliRunner().invoke(
        main, ["clients", command[0], "no-such-client", *command[1:]], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert result.output.strip() == "error: No API client 'no-such-client'."
