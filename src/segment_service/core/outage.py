"""The database being unreachable: which failures mean that, the 503 they become, and one log line per outage.

A request that cannot reach PostgreSQL (down, restarting, shutting down, refusing connections, a connection cut in
the middle of a statement) is not the caller's fault and not a bug: it answers 503 with `Retry-After`, and the same
request can be sent again. The log gets one line when the first request of an outage fails and one when a database
call succeeds again, per worker process, instead of a stack trace per request. Recovery needs nothing: the pool
opens new connections once the server answers again.
"""

from __future__ import annotations

import logging
import time

import asyncpg

from segment_service.core.errors import ServiceUnavailable

log = logging.getLogger("segment_service.database")

#: What a 503 tells the client to wait: a restarting PostgreSQL is usually back within seconds.
RETRY_AFTER_SECONDS = 5

# SQLSTATE class 08 (connection exception), 57P01-57P03 (admin or crash shutdown, "the database system is
# starting up / shutting down") and 53300 (too many connections): the server is gone or refuses work that would
# succeed a moment later.
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


def is_connection_failure(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or dropped the connection, as opposed to an error of the
    statement (bad input, a constraint, the statement timeout)."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    if isinstance(exc, OSError):
        # Refused, reset, no such socket file, no route, DNS, and TimeoutError: a pool acquire or connect attempt
        # that got no answer (asyncio.TimeoutError is TimeoutError since Python 3.11).
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        # The driver's protocol state is broken, which happens when the server's goodbye (the FATAL of a terminated
        # backend) arrives on an idle pooled connection: "cannot switch to state 11; another operation (2) is in
        # progress". The connection is unusable and is closed on release; the request can be sent again.
        return True
    # asyncpg's own "connection is closed" for a connection whose server went away between two statements.
    return type(exc) is asyncpg.InterfaceError and "closed" in str(exc)


class DatabaseOutage:
    """This process's view of whether the database is reachable, for logging transitions only (requests always try
    the database; nothing is answered from this state)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.refused = 0

    def failed(self, exc: BaseException) -> None:
        """A request could not reach the database: log the start of an outage, once."""
        self.refused += 1
        if self.since is None:
            self.since = time.monotonic()
            self.refused = 1
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line, whatever the driver says
            log.error("database unavailable (%s); answering 503 with Retry-After until it answers again", reason)

    def succeeded(self) -> None:
        """A database call succeeded: log the end of an outage, once. Called on every success, so it is cheap."""
        if self.since is not None:
            seconds = time.monotonic() - self.since
            self.since = None
            log.warning(
                "database available again after %.1f s; %d request(s) were answered 503 meanwhile",
                seconds,
                self.refused,
            )


#: One per process: the pool, the request handlers and the fast lane share it.
OUTAGE = DatabaseOutage()


class _PoolFloorRetries(logging.Filter):
    """asyncpg's pool reconnects in the background to keep its minimum size, and logs every failed try with a stack
    trace (backing off from 1 s to 60 s). While the database is unreachable that is the outage already logged, so
    those records are dropped; any other failure of the background reconnect still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.msg.startswith("Failed to restore the pool connection floor")
            and error is not None
            and is_connection_failure(error)
        )


logging.getLogger("asyncpg.pool").addFilter(_PoolFloorRetries())


def unavailable_error(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 a connection-level failure stands for (and note the outage); None for any other exception."""
    if not is_connection_failure(exc):
        return None
    OUTAGE.failed(exc)
    return ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS)
