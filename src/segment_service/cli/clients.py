"""`segment-service clients …` and `segment-service keys …`: API clients and token signing keys.

Every change takes effect for tokens already issued: a running server checks a service token's client at most a
second after the change, and picks up a new signing key without a restart
(docs/operations.md#tokens-clients-and-signing-keys)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import click

from segment_service.cli import _create_client, _create_storefront_client, _database, _settings
from segment_service.cli.startup import ensure_schema
from segment_service.core.auth import TokenService
from segment_service.core.db import Connection
from segment_service.core.dbconnect import open_connection
from segment_service.core.errors import ServiceError
from segment_service.embedded import release_embedded
from segment_service.oauth import keys as oauth_keys
from segment_service.oauth import service as oauth_service
from segment_service.oauth.models import ApiClient, ClientKind

T = TypeVar("T")

_DATA_DIR_HELP = "Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]"
_JSON_HELP = "Print one JSON value."


def _run(data_dir: str | None, action: Callable[[Connection], Awaitable[T]]) -> T:
    """Run `action` in one transaction on the service's database (migrated first); a clear one-line error and exit
    status 1 when it fails."""
    settings = _settings(data_dir)
    server, dsn = _database(settings)

    async def run() -> T:
        conn = await open_connection(settings, dsn)
        try:
            async with conn.transaction():
                return await action(conn)
        finally:
            await conn.close()

    try:
        ensure_schema(settings, dsn, embedded=server is not None)
        return asyncio.run(run())
    except ServiceError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    except (asyncpg.PostgresError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        if server is not None:
            release_embedded(server)


def _client_json(client: ApiClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "tenant": client.tenant,
        "kind": client.kind.value,
        "name": client.name,
        "scopes": client.scopes,
    }


def _print_client(client: ApiClient) -> None:
    click.echo(
        f"client_id: {client.client_id}\ntenant:    {client.tenant}\nkind:      {client.kind.value}\n"
        f"name:      {client.name}\nscopes:    {' '.join(client.scopes)}"
    )


@click.group()
def clients() -> None:
    """API clients (client credentials for POST /oauth/token)."""


@clients.command(name="create")
@click.option("--tenant", required=True, help="The tenant the client belongs to.")
@click.option("--scope", default=None, help="Space-separated scopes [default: every service scope].")
@click.option("--name", default="", help="A name to recognise the client by.")
@click.option(
    "--storefront", is_flag=True, help="A public storefront client (a client_id, no secret) for anonymous tokens."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def create_client(
    tenant: str, scope: str | None, name: str, storefront: bool, as_json: bool, data_dir: str | None
) -> None:
    """Create an API client and print its id and secret (the secret is shown only now)."""
    if storefront and scope is not None:
        click.echo("error: a storefront client has no scopes; its tokens are anonymous or customer tokens", err=True)
        sys.exit(2)
    settings = _settings(data_dir)
    server, dsn = _database(settings)
    try:
        ensure_schema(settings, dsn, embedded=server is not None)
        client = asyncio.run(
            _create_storefront_client(dsn, tenant, name)
            if storefront
            else _create_client(dsn, tenant, scope.split() if scope is not None else None, name)
        )
    except (ServiceError, asyncpg.PostgresError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        if server is not None:
            release_embedded(server)
    if as_json:
        click.echo(json.dumps(client))
    elif storefront:
        click.echo(
            f"client_id: {client['client_id']}\ntenant:    {client['tenant']}\n(a storefront client: "
            "GET /customerlogin/auth/anonymous/login?tenant=…&client_id=… gives an anonymous token)"
        )
    else:
        click.echo(
            f"client_id:     {client['client_id']}\nclient_secret: {client['client_secret']}\n"
            f"tenant:        {client['tenant']}\nscopes:        {' '.join(client['scopes'])}"
        )


@clients.command(name="list")
@click.option("--tenant", default=None, help="Only the clients of this tenant.")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def list_clients(tenant: str | None, as_json: bool, data_dir: str | None) -> None:
    """List the API clients (never their secrets)."""
    listed = _run(data_dir, lambda conn: oauth_service.list_clients(conn, tenant))
    if as_json:
        click.echo(
            json.dumps([{**_client_json(client), "created_at": created.isoformat()} for client, created in listed])
        )
        return
    if not listed:
        click.echo("No API clients.")
        return
    for client, created in listed:
        scopes = "-" if client.kind is ClientKind.STOREFRONT else f"{len(client.scopes)} scope(s)"
        click.echo(
            f"{client.client_id}  {client.tenant}  {client.kind.value}  {scopes}  "
            f"created {created.isoformat(timespec='seconds')}  {client.name}".rstrip()
        )


@clients.command(name="revoke")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def revoke_client(client_id: str, as_json: bool, data_dir: str | None) -> None:
    """Delete an API client: its tokens stop working (a running server notices within a second)."""
    client = _run(data_dir, lambda conn: oauth_service.revoke_client(conn, client_id))
    if as_json:
        click.echo(json.dumps({**_client_json(client), "revoked": True}))
    else:
        click.echo(
            f"Revoked client {client.client_id} of tenant '{client.tenant}': its tokens are refused from now on."
        )


@clients.command(name="rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def rotate_secret(client_id: str, as_json: bool, data_dir: str | None) -> None:
    """Give a service client a new secret (shown only now); the old one stops working. Tokens issued before keep
    working until they expire: revoke the client to end them at once."""
    client, secret = _run(data_dir, lambda conn: oauth_service.rotate_client_secret(conn, client_id))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "client_secret": secret,
                    "tenant": client.tenant,
                    "scopes": client.scopes,
                }
            )
        )
    else:
        click.echo(f"client_id:     {client.client_id}\nclient_secret: {secret}\ntenant:        {client.tenant}")


@clients.command(name="update")
@click.argument("client_id")
@click.option("--scope", default=None, help="Space-separated scopes that replace the client's scopes.")
@click.option("--name", default=None, help="A new name.")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def update_client(client_id: str, scope: str | None, name: str | None, as_json: bool, data_dir: str | None) -> None:
    """Replace a client's scopes and/or name. Narrowed scopes apply to the tokens already issued too (within a second
    on a running server); widened ones only to tokens issued from now on."""
    if scope is None and name is None:
        click.echo("error: nothing to change: give --scope and/or --name", err=True)
        sys.exit(2)
    client = _run(
        data_dir,
        lambda conn: oauth_service.update_client(
            conn, client_id, scopes=None if scope is None else scope.split(), name=name
        ),
    )
    if as_json:
        click.echo(json.dumps(_client_json(client)))
    else:
        _print_client(client)


@click.group()
def keys() -> None:
    """Token signing keys (kept in the database unless SEGMENT_SERVICE_SIGNING_KEY is set)."""


def _refuse_configured_key() -> None:
    if _settings(None).signing_key:
        click.echo(
            "error: SEGMENT_SERVICE_SIGNING_KEY is set, so that key signs every token and the keys kept in "
            "the database are not used; rotate by changing the variable (tokens signed with the old key "
            "then answer 401), or unset it to use rotatable keys",
            err=True,
        )
        sys.exit(2)


@keys.command(name="rotate")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def rotate_key(as_json: bool, data_dir: str | None) -> None:
    """Sign new tokens with a new key. Tokens signed with earlier keys keep working until they expire; keys retired
    longer ago than the longest token lifetime are dropped."""
    _refuse_configured_key()
    retention = oauth_keys.key_retention_seconds(_settings(data_dir).token_ttl_seconds)
    kid, dropped = _run(data_dir, lambda conn: oauth_keys.rotate_signing_key(conn, retention_seconds=retention))
    if as_json:
        click.echo(json.dumps({"kid": kid, "dropped": dropped, "retention_seconds": retention}))
    else:
        click.echo(
            f"New tokens are signed with key {kid} (running servers switch within "
            f"{TokenService.RELOAD_SECONDS:g} s). Earlier keys keep verifying their tokens for "
            f"{round(retention / 86400)} days after they were retired."
        )
        if dropped:
            click.echo(f"Dropped retired keys: {', '.join(dropped)}.")


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--data-dir", default=None, help=_DATA_DIR_HELP)
def list_keys(as_json: bool, data_dir: str | None) -> None:
    """List the signing keys (ids and dates, never the secrets); the first one signs new tokens."""
    _refuse_configured_key()
    listed = _run(data_dir, oauth_keys.signing_keys)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"kid": kid, "created_at": created.isoformat(), "signing": index == 0}
                    for index, (kid, created) in enumerate(listed)
                ]
            )
        )
        return
    for index, (kid, created) in enumerate(listed):
        click.echo(
            f"{kid}  created {created.isoformat(timespec='seconds')}"
            f"{'  (signs new tokens)' if index == 0 else '  (verifies earlier tokens)'}"
        )
