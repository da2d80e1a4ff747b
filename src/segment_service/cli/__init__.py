"""The `segment-service` command: serve, migrate, clients, keys. Each further group of commands lives in a module of
this package and is registered at the bottom."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shlex
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from segment_service import __version__
from segment_service.cli.startup import Commands, migration_target, prepare_database
from segment_service.core.db import migrate
from segment_service.core.dbconnect import open_connection
from segment_service.core.logs import configure_logging
from segment_service.embedded import release_embedded, start_embedded
from segment_service.oauth import service as oauth_service
from segment_service.ops.run import prepare_server_run
from segment_service.settings import Settings

FIRST_CLIENT_FILE = "first-client.json"
DEMO_TENANT = "mytenant"
_FIRST_CLIENT_LOCK_ID = 7_412_312  # beside core.db's migration lock


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
    conn = await open_connection(Settings.from_env(), dsn)
    try:
        client, secret = await oauth_service.create_client(conn, tenant=tenant, scopes=scopes, name=name)
    finally:
        await conn.close()
    return {"client_id": client.client_id, "client_secret": secret, "tenant": client.tenant, "scopes": client.scopes}


async def _create_storefront_client(dsn: str, tenant: str, name: str) -> dict[str, Any]:
    conn = await open_connection(Settings.from_env(), dsn)
    try:
        client = await oauth_service.create_storefront_client(conn, tenant=tenant, name=name)
    finally:
        await conn.close()
    return {"client_id": client.client_id, "tenant": client.tenant}


def _token_curl(base_url: str, client: dict[str, Any]) -> str:
    form = f"grant_type=client_credentials&client_id={client['client_id']}&client_secret={client['client_secret']}"
    return (
        f"curl -s -X POST {base_url}/oauth/token \\\n"
        f"  -H 'Content-Type: application/x-www-form-urlencoded' \\\n  -d {shlex.quote(form)}"
    )


@click.group(cls=Commands)
@click.version_option(__version__, "--version", prog_name="segment-service", message="%(prog)s %(version)s")
def main() -> None:
    """segment-service: an Emporix-API-compatible customer segmentation service."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (uvicorn on uvloop); a supervisor replaces any that dies.",
)
@click.option("--data-dir", default=None, help="Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]")
@click.option(
    "--no-migrate",
    is_flag=True,
    help="Do not migrate; refuse to start unless the schema is current (runtime role: docs/operations.md).",
)
@click.option(
    "--no-deliver",
    is_flag=True,
    help="Run no webhook relay in these processes; another `serve` or `deliver` delivers (docs/webhooks.md).",
)
def serve(host: str, port: int, workers: int, data_dir: str | None, no_migrate: bool, no_deliver: bool) -> None:
    """Serve the API (on the embedded PostgreSQL unless DATABASE_URL is set)."""
    from segment_service import serving

    try:
        sock = serving.listen(host, port)  # first: a port in use refuses the start before anything else happens
    except serving.CannotListen as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    port = sock.getsockname()[1]  # the port the system chose, for --port 0
    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_format)
    server, dsn = _database(settings)
    try:
        prepare_database(settings, dsn, run_migrations=not no_migrate, embedded=server is not None)
        base_url = f"http://{host}:{port}"
        if server is not None:
            _announce_first_client(settings.data_dir, dsn, base_url)
        else:
            click.echo("Create an API client with: segment-service clients create --tenant <tenant>")
        os.environ["DATABASE_URL"] = dsn  # the workers read their settings from the environment
        if no_deliver:
            os.environ["SEGMENT_SERVICE_WEBHOOK_DELIVER"] = "false"
        click.echo(f"Serving on {base_url} (API docs: {base_url}/docs)")
        prepare_server_run(settings)  # the metrics folder of the server processes, once the start cannot fail early
        started = serving.run(sock, workers=workers)
    finally:
        sock.close()
        if server is not None:
            release_embedded(server)
    if not started:
        sys.exit(1)


def _announce_first_client(data_dir: Path, dsn: str, base_url: str) -> None:
    """On a fresh embedded database create one client, and print how to get a token with it on every start."""
    path = data_dir / FIRST_CLIENT_FILE
    client, created = asyncio.run(_first_client(dsn, path))
    if created and client is not None:
        click.echo(f"\nCreated an API client of tenant '{client['tenant']}' (kept in {path}). Get a token:\n")
        click.echo(_token_curl(base_url, client) + "\n")
        click.echo(f"Or sign in to the console at {base_url}/admin with that client_id and client_secret.\n")
    elif client is not None:
        # Later starts keep the secret out of the logs; the file has it.
        click.echo(f"\nAPI client of tenant '{client['tenant']}': client_id {client['client_id']}, secret in {path}.")
        click.echo(f"The console: {base_url}/admin (sign in with that client).")


async def _first_client(dsn: str, path: Path) -> tuple[dict[str, Any] | None, bool]:
    """(the first client as kept in `path`, whether it was created now). One process at a time decides, so two
    first starts at the same moment create one client, not two and a crash."""
    conn = await open_connection(Settings.from_env(), dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _FIRST_CLIENT_LOCK_ID)  # released by closing
        kept = _read_first_client(path)
        if kept is not None:
            return kept, False
        if await conn.fetchval("SELECT count(*) FROM api_clients"):
            return None, False
        client, secret = await oauth_service.create_client(conn, tenant=DEMO_TENANT, scopes=None, name="first client")
        kept = {
            "client_id": client.client_id,
            "client_secret": secret,
            "tenant": client.tenant,
            "scopes": client.scopes,
        }
        _keep_first_client(path, kept)
        return kept, True
    finally:
        await conn.close()


def _read_first_client(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    kept: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return kept


def _keep_first_client(path: Path, client: dict[str, Any]) -> None:
    # Readable by its owner only from the first byte on: it holds a secret.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        file.write(json.dumps(client, indent=2) + "\n")


@main.command(name="migrate")
@click.option("--data-dir", default=None, help="Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]")
def migrate_command(data_dir: str | None) -> None:
    """Apply the database migrations (as SEGMENT_SERVICE_MIGRATION_DATABASE_URL's role when it is set)."""
    settings = _settings(data_dir)
    server, dsn = _database(settings)
    try:
        url, variable = migration_target(settings, dsn, embedded=server is not None)
        applied = asyncio.run(migrate(url, settings, variable=variable))
        click.echo(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")
    finally:
        if server is not None:
            release_embedded(server)


@main.command()
@click.option("--data-dir", default=None, help="Embedded database folder [env SEGMENT_SERVICE_DATA_DIR; ./.data]")
def deliver(data_dir: str | None) -> None:
    """Deliver webhooks only (no API): a relay that cooperates with every other one (docs/webhooks.md)."""
    from segment_service.cli.startup import ensure_schema
    from segment_service.core.db import Database
    from segment_service.reactions import register_reactions
    from segment_service.webhooks.relay import deliver_forever

    register_reactions()  # the payload builders of every service render what this process delivers
    settings = _settings(data_dir)
    configure_logging(settings.log_level, settings.log_format)
    server, dsn = _database(settings)

    async def run() -> None:
        db = await Database.connect(settings, dsn)
        try:
            await deliver_forever(db, settings)
        finally:
            await db.close()

    try:
        ensure_schema(settings, dsn, embedded=server is not None)
        click.echo("Delivering webhooks; stop with Ctrl-C or SIGTERM.")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_until_terminated(run()))
    finally:
        if server is not None:
            release_embedded(server)


async def _until_terminated(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` until it ends or the process gets SIGTERM or SIGINT (then cancel it and let it clean up)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


# Command groups of their own modules (imported last: they use the helpers above).
from segment_service.cli import data  # noqa: E402
from segment_service.cli.clients import clients, keys  # noqa: E402

main.add_command(clients)
main.add_command(keys)
for _command in data.COMMANDS:
    main.add_command(_command)
