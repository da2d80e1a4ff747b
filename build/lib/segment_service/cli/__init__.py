"""The `segment-service` command: serve, migrate, clients. Each further group of commands lives in a module of
this package and is registered at the bottom."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import asyncpg
import click

from segment_service.core.db import migrate
from segment_service.core.errors import ServiceError
from segment_service.embedded import start_embedded
from segment_service.oauth import service as oauth_service
from segment_service.settings import Settings

FIRST_CLIENT_FILE = "first-client.json"
DEMO_TENANT = "mytenant"


def _settings(data_dir: str | None) -> Settings:
    settings = Settings.from_env()
    if data_dir:
        settings = dataclasses.replace(settings, data_dir=Path(data_dir))
    return settings


def _database(settings: Settings) -> tuple[Any, str]:
    """(embedded server handle or None, database URL): DATABASE_URL when set, else the embedded server.

    The embedded server stops when the last process using it lets go, so `clients create` next to a running `serve`
    leaves it running."""
    if settings.database_url:
        return None, settings.database_url
    return start_embedded(settings.data_dir)


async def _create_client(dsn: str, tenant: str, scopes: list[str] | None, name: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        client, secret = await oauth_service.create_client(conn, tenant=tenant, scopes=scopes, name=name)
    finally:
        await conn.close()
    return {"client_id": client.client_id, "client_secret": secret, "tenant": client.tenant, "scopes": client.scopes}


async def _create_storefront_client(dsn: str, tenant: str, name: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        client = await oauth_service.create_storefront_client(conn, tenant=tenant, name=name)
    finally:
        await conn.close()
    return {"client_id": client.client_id, "tenant": client.tenant}


async def _client_count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM api_clients"))
    finally:
        await conn.close()


def _token_curl(base_url: str, client: dict[str, Any]) -> str:
    form = f"grant_type=client_credentials&client_id={client['client_id']}&client_secret={client['client_secret']}"
    return (f"curl -s -X POST {base_url}/oauth/token \\\n"
            f"  -H 'Content-Type: application/x-www-form-urlencoded' \\\n  -d {shlex.quote(form)}")


@click.group()
def main() -> None:
    """segment-service: an Emporix-API-compatible customer segmentation service."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="Server processes; one already uses two cores (its I/O runs on Rust threads).")
@click.option("--data-dir", default=None, help="Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]")
def serve(host: str, port: int, workers: int, data_dir: str | None) -> None:
    """Serve the API (on the embedded PostgreSQL unless DATABASE_URL is set)."""
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings(data_dir)
    server, dsn = _database(settings)
    try:
        asyncio.run(migrate(dsn))
        base_url = f"http://{host}:{port}"
        if server is not None:
            _announce_first_client(settings.data_dir, dsn, base_url)
        else:
            click.echo("Create an API client with: segment-service clients create --tenant <tenant>")
        os.environ["DATABASE_URL"] = dsn  # the workers read their settings from the environment
        click.echo(f"Serving on {base_url} (API docs: {base_url}/docs)")
        Granian("segment_service.asgi:build", address=host, port=port, workers=workers, factory=True,
                interface=Interfaces.ASGI, log_access=False).serve()
    finally:
        if server is not None:
            server.cleanup()


def _announce_first_client(data_dir: Path, dsn: str, base_url: str) -> None:
    """On a fresh embedded database create one client, and print how to get a token with it on every start."""
    path = data_dir / FIRST_CLIENT_FILE
    if not path.exists() and asyncio.run(_client_count(dsn)) == 0:
        client = asyncio.run(_create_client(dsn, DEMO_TENANT, None, "first client"))
        # Readable by its owner only from the first byte on: it holds a secret.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
            file.write(json.dumps(client, indent=2) + "\n")
        click.echo(f"\nCreated an API client of tenant '{client['tenant']}' (kept in {path}). Get a token:\n")
        click.echo(_token_curl(base_url, client) + "\n")
    elif path.exists():
        # Later starts keep the secret out of the logs; the file has it.
        client = json.loads(path.read_text(encoding="utf-8"))
        click.echo(f"\nAPI client of tenant '{client['tenant']}': client_id {client['client_id']}, secret in {path}.")


@main.command(name="migrate")
@click.option("--data-dir", default=None, help="Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]")
def migrate_command(data_dir: str | None) -> None:
    """Apply the database migrations."""
    server, dsn = _database(_settings(data_dir))
    try:
        applied = asyncio.run(migrate(dsn))
        click.echo(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")
    finally:
        if server is not None:
            server.cleanup()


@main.group()
def clients() -> None:
    """API clients (client credentials for POST /oauth/token)."""


@clients.command(name="create")
@click.option("--tenant", required=True, help="The tenant the client belongs to.")
@click.option("--scope", default=None, help='Space-separated scopes [default: every service scope].')
@click.option("--name", default="", help="A name to recognise the client by.")
@click.option("--storefront", is_flag=True,
              help="A public storefront client (a client_id, no secret) for anonymous tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--data-dir", default=None, help="Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]")
def create_client(tenant: str, scope: str | None, name: str, storefront: bool, as_json: bool,
                  data_dir: str | None) -> None:
    """Create an API client and print its id and secret (the secret is shown only now)."""
    if storefront and scope is not None:
        click.echo("error: a storefront client has no scopes; its tokens are anonymous or customer tokens", err=True)
        sys.exit(2)
    settings = _settings(data_dir)
    server, dsn = _database(settings)
    try:
        asyncio.run(migrate(dsn))
        client = asyncio.run(
            _create_storefront_client(dsn, tenant, name) if storefront
            else _create_client(dsn, tenant, scope.split() if scope is not None else None, name)
        )
    except (ServiceError, asyncpg.PostgresError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        if server is not None:
            server.cleanup()
    if as_json:
        click.echo(json.dumps(client))
    elif storefront:
        click.echo(f"client_id: {client['client_id']}\ntenant:    {client['tenant']}\n(a storefront client: "
                   "GET /customerlogin/auth/anonymous/login?tenant=…&client_id=… gives an anonymous token)")
    else:
        click.echo(f"client_id:     {client['client_id']}\nclient_secret: {client['client_secret']}\n"
                   f"tenant:        {client['tenant']}\nscopes:        {' '.join(client['scopes'])}")
