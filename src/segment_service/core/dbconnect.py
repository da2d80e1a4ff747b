"""How the service connects to PostgreSQL: the options of every connection (application_name, connect timeout), the
pooler-safe mode for transaction-mode poolers such as pgbouncer, and one-line errors when the database cannot be
reached (docs/operations.md#connection-poolers-pgbouncer).

A transaction-mode pooler hands each transaction to whichever server connection is free, so nothing may outlive a
transaction: no startup parameters (pgbouncer refuses them), no named prepared statements (they stay on one server
connection, where another client's statement of the same name would run instead), no session settings and no session
locks. In that mode the pool caches no statements (asyncpg then parses each query together with its execution) and
every borrowed connection runs inside a transaction that begins with `SET LOCAL` for the statement timeout, which
ends with the transaction, so it cannot reach another client of the pooler. asyncpg's type introspection (a session
`set_config('jit', …)` around a catalog query) runs only for types that are not built in, which the schema does not
use, and would run inside that transaction too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from segment_service.settings import PoolerMode, Settings

log = logging.getLogger("segment_service")

#: Query parameters of a database URL that hold secrets.
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


class DatabaseUnreachable(Exception):
    """No connection to the database: the message is one line naming the URL's variable, without its password."""


def mask_url(url: str) -> str:
    """`url` with its password (in the user part or the query) replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = urlencode(
        [
            (k, "***" if k.lower() in _SECRET_PARAMETERS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="/:*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _reason(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, TimeoutError):
        return (
            f"no answer within {settings.connect_timeout_seconds:g} s (SEGMENT_SERVICE_CONNECT_TIMEOUT); is the "
            "host reachable and is it PostgreSQL listening there?"
        )
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused; is PostgreSQL running and listening on that host and port?"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError) or "authentication failed" in message:
        message += "; check the user name and password"
    elif "unsupported startup parameter" in message:
        message += " (a connection pooler such as pgbouncer: set SEGMENT_SERVICE_POOLER=transaction or auto)"
    return message


def unreachable(exc: BaseException, settings: Settings, url: str, variable: str) -> DatabaseUnreachable:
    """The one-line error for a failed connection attempt to `url` (named by its variable, password masked)."""
    where = f"{variable}={mask_url(url)}" if variable else mask_url(url)
    return DatabaseUnreachable(f"cannot connect to the database at {where}: {_reason(exc, settings)}")


#: What a failed connection attempt raises: the network, the timeout, and the server refusing the login.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ProtocolViolationError,
)


def _server_settings(settings: Settings, pooled: bool) -> dict[str, str]:
    """Startup parameters: only application_name through a pooler (pgbouncer passes it on and refuses the rest)."""
    if pooled:
        return {"application_name": settings.application_name}
    return {
        "application_name": settings.application_name,
        "statement_timeout": str(settings.statement_timeout_ms),
        "jit": "off",
    }


def pool_options(settings: Settings, pooled: bool) -> dict[str, Any]:
    """The connection options of the service's pool (asyncpg.create_pool keyword arguments)."""
    options: dict[str, Any] = {
        "server_settings": _server_settings(settings, pooled),
        "timeout": settings.connect_timeout_seconds,
    }
    if pooled:
        options["statement_cache_size"] = 0
    return options


def transaction_settings(settings: Settings) -> str:
    """The statement that starts every borrowed connection's transaction in pooler-safe mode: the settings that
    startup parameters give a direct connection, for this transaction only."""
    return f"SET LOCAL statement_timeout = {int(settings.statement_timeout_ms)}; SET LOCAL jit = off"


async def open_connection(
    settings: Settings, url: str, *, variable: str = "DATABASE_URL", as_pool: bool = False
) -> asyncpg.Connection:
    """One connection for a command (migrations, the CLI): the configured timeout and application_name, no statement
    cache (safe through any pooler), and DatabaseUnreachable when it cannot be opened. `as_pool`: with the startup
    parameters the service's pool will send, to find out at start whether it can connect."""
    try:
        pooled = await uses_pooler(settings, url) if as_pool else True
        return await asyncpg.connect(
            url,
            timeout=settings.connect_timeout_seconds,
            statement_cache_size=0,
            server_settings=_server_settings(settings, pooled),
        )
    except CONNECT_ERRORS as exc:
        raise unreachable(exc, settings, url, variable) from exc


async def uses_pooler(settings: Settings, url: str) -> bool:
    """Whether to run in pooler-safe mode: as configured, or (`auto`) whether the server behind `url` refuses or
    ignores startup parameters, which PostgreSQL itself never does and pgbouncer does."""
    if settings.pooler is not PoolerMode.AUTO:
        return settings.pooler is PoolerMode.TRANSACTION
    try:
        conn = await asyncpg.connect(
            url,
            timeout=settings.connect_timeout_seconds,
            statement_cache_size=0,
            server_settings=_server_settings(settings, pooled=False),
        )
    except asyncpg.ProtocolViolationError as exc:
        if "startup parameter" not in str(exc):
            raise
        log.warning(
            "DATABASE_URL refuses startup parameters (a connection pooler such as pgbouncer): running in "
            "pooler-safe mode; set SEGMENT_SERVICE_POOLER=transaction to skip this check"
        )
        return True
    try:
        applied = await conn.fetchval("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
    finally:
        await asyncio.shield(conn.close())
    if applied != str(settings.statement_timeout_ms):
        log.warning(
            "DATABASE_URL ignores startup parameters (a connection pooler such as pgbouncer): running in "
            "pooler-safe mode; set SEGMENT_SERVICE_POOLER=transaction to skip this check"
        )
        return True
    return False
