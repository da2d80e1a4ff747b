"""Read replicas: where a replica-eligible read goes, and the write positions that keep read-your-writes exact
(docs/operations.md#read-replicas).

The guarantee: a read of caller C (tenant and token subject) sees every write transaction of C whose COMMIT returned,
in any worker process on any host. After the COMMIT of a write transaction of C, on the same connection (the COMMIT
has returned, so any later statement on the primary sees a position at or past its commit record), the primary's WAL
insert position is recorded as C's mark in `replica_read_marks` (an UNLOGGED table of the primary, one row per caller,
only ever moved forward). A read of C asks the primary for C's mark and for the floor (one statement, two primary key
probes) and goes to a replica only when that replica's replay position is known to be at or past both; replay only
moves forward, so a position read earlier is a safe lower bound, and one that is too low is read again on the
replica before it is trusted. Otherwise the read goes to the primary.

The insert position rather than `pg_current_wal_lsn()`: with `synchronous_commit = off` a commit record may not have
been written out yet, while the insert position is past every record inserted so far.

The floor (the row of tenant '' and caller '') covers marks lost with an UNLOGGED table: a crash of the primary, or a
promoted standby, starts with the table empty. A missing floor sends the read to the primary and writes a new floor
at the primary's current position, which is past every commit that a lost mark stood for.

A mark that cannot be written (the primary became unreachable between the COMMIT and the mark, twice) fails the
request: the caller is never told that a write succeeded without its mark.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from segment_service.core import dbconnect
from segment_service.core.outage import is_connection_failure

if TYPE_CHECKING:
    from segment_service.core.db import Connection, Database

log = logging.getLogger("segment_service")

T = TypeVar("T")

#: A caller as marks know it: (tenant, caller key), see core/auth.py `Caller.read_key`.
ReadKey = tuple[str, str]

#: The caller of the request being answered, set by the guard (core/guard.py) when replicas are configured and read by
#: `Database.transaction()` to mark that caller's writes. Unset outside requests: the rule evaluator, the webhook
#: relay and the CLI's import write for no caller, and a request's reactions run in its own transaction.
WRITER: ContextVar[ReadKey | None] = ContextVar("segment_service_writer", default=None)

#: How often each process reads the replicas' replay positions and the primary's position (its lag samples).
REFRESH_SECONDS = 1.0
#: How often each process deletes the marks every replica has replayed past.
PURGE_SECONDS = 60.0

_MARK = """
INSERT INTO replica_read_marks AS m (tenant, caller, lsn) VALUES ($1, $2, pg_current_wal_insert_lsn())
ON CONFLICT ON CONSTRAINT replica_read_marks_pkey DO UPDATE SET lsn = GREATEST(m.lsn, EXCLUDED.lsn), written_at = now()
"""
_PROBE = """
SELECT (SELECT (lsn - '0/0')::bigint FROM replica_read_marks WHERE tenant = '' AND caller = '') AS floor,
       (SELECT (lsn - '0/0')::bigint FROM replica_read_marks WHERE tenant = $1 AND caller = $2) AS mark
"""
_SET_FLOOR = """
INSERT INTO replica_read_marks (tenant, caller, lsn) VALUES ('', '', pg_current_wal_insert_lsn())
ON CONFLICT ON CONSTRAINT replica_read_marks_pkey DO NOTHING
"""
# A mark at or before every replica's replay position routes nothing: deleting it is the same as having none.
_PURGE = "DELETE FROM replica_read_marks WHERE tenant <> '' AND lsn <= '0/0'::pg_lsn + $1::bigint"
_PRIMARY_POSITION = "SELECT (pg_current_wal_flush_lsn() - '0/0')::bigint"
_REPLAY_POSITION = "SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint"
_REPLAY_STATE = """
SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
"""


async def mark(conn: Connection, writer: ReadKey) -> None:
    """Record the primary's position now as `writer`'s last write (after its COMMIT)."""
    await conn.execute(_MARK, *writer)


class _Behind(Exception):
    """The chosen replica has not replayed the caller's last write yet."""


def replica_fault(exc: BaseException) -> bool:
    """Whether a failed read on a replica should be answered by the primary: the replica is unreachable or dropped
    the connection, or refused the statement for a reason of its own (a recovery conflict, a schema it has not
    replayed yet). Not for input errors (classes 22 and 54) or the statement timeout, which the primary would give
    too."""
    if is_connection_failure(exc) or isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        return not sqlstate.startswith(("22", "54")) and sqlstate != "57014"
    return False


class Replica:
    """One replica's pool and this process's view of it."""

    def __init__(self, number: int, url: str, pool: asyncpg.Pool, transaction_settings: str | None) -> None:
        self.number = number
        self.url = dbconnect.mask_url(url)
        self.pool = pool
        self.transaction_settings = transaction_settings
        self.up = False
        #: A lower bound of the replica's replay position (bytes of WAL); -1 when unknown.
        self.replayed = -1
        #: Seconds since the primary had written something the replica has not replayed; None when unknown.
        self.lag: float | None = None
        self.problem: str | None = "not checked yet"

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as conn:
            if self.transaction_settings is None:
                yield conn
            else:
                async with conn.transaction():
                    await conn.execute(self.transaction_settings)
                    yield conn

    def saw(self, replayed: int | None) -> None:
        if replayed is not None and replayed > self.replayed:
            self.replayed = replayed

    def failed(self, exc: BaseException) -> None:
        """The replica cannot be reached: no reads until a refresh reaches it again. Its position is forgotten, since
        what answers next may be another server (a rebuilt replica)."""
        if self.up:
            log.warning(
                "read replica %d (%s) is unavailable, its reads go to the primary: %s: %s",
                self.number,
                self.url,
                type(exc).__name__,
                exc,
            )
        self.up = False
        self.replayed = -1
        self.lag = None
        self.problem = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]

    def state(self, max_lag: float) -> str:
        if not self.up:
            return "down"
        if self.lag is None or self.lag > max_lag:
            return "lagging"
        return "up"


class ReplicaSet:
    """The replicas of DATABASE_READ_URL: routing of replica-eligible reads and a background refresh."""

    def __init__(self, replicas: list[Replica], max_lag: float, connect_timeout: float) -> None:
        self.replicas = replicas
        self.max_lag = max_lag
        self.connect_timeout = connect_timeout
        self._next = 0
        #: (monotonic time, primary's flushed position): what the lag is measured against.
        self._samples: deque[tuple[float, int]] = deque()
        self._task: asyncio.Task[None] | None = None
        #: Called for every replica-eligible read with where it went ("replica" or "primary") and why it went to the
        #: primary ("" for a replica); core/metrics.py counts them.
        self.on_read: Callable[[str, str], None] | None = None

    def usable(self) -> list[Replica]:
        return [r for r in self.replicas if r.state(self.max_lag) == "up"]

    def _pick(self, usable: list[Replica], required: int) -> tuple[Replica, bool]:
        """Round robin among the usable replicas, preferring one known to have replayed `required`; the flag says
        whether the pick is known to have."""
        start = self._next
        self._next = (start + 1) % (1 << 30)
        for i in range(len(usable)):
            replica = usable[(start + i) % len(usable)]
            if replica.replayed >= required:
                return replica, True
        return usable[start % len(usable)], False

    def _count(self, target: str, reason: str) -> None:
        if self.on_read is not None:
            self.on_read(target, reason)

    async def read(self, db: Database, key: ReadKey | None, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on a replica that has replayed the caller's last write, else on the primary."""
        async with db.share.slot():  # one share for the whole read: the probe, the replica and a fallback
            usable = self.usable()
            if not usable:
                return await self._on_primary(db, work, "unavailable")
            async with db.connection() as conn:
                row = await conn.fetchrow(_PROBE, *(key or ("", "")))
                floor, own = (None, None) if row is None else (row[0], row[1])
                if floor is None:
                    await conn.execute(_SET_FLOOR)
            if floor is None:
                return await self._on_primary(db, work, "marks_reset")
            required = max(floor, own or 0)
            replica, known = self._pick(usable, required)
            try:
                async with replica.connection() as conn:
                    if not known:
                        replica.saw(await conn.fetchval(_REPLAY_POSITION))
                        if replica.replayed < required:
                            raise _Behind
                    result = await work(conn)
            except _Behind:
                return await self._on_primary(db, work, "own_write")
            except Exception as exc:
                if not replica_fault(exc):
                    raise
                if is_connection_failure(exc):
                    replica.failed(exc)
                else:
                    log.warning("read replica %d refused a read, the primary answers it: %s", replica.number, exc)
                return await self._on_primary(db, work, "error")
            self._count("replica", "")
            return result

    async def _on_primary(self, db: Database, work: Callable[[Connection], Awaitable[T]], reason: str) -> T:
        async with db.connection() as conn:
            result = await work(conn)
        self._count("primary", reason)
        return result

    # -- the background refresh ------------------------------------------------------------------------------------

    def start(self, db: Database) -> None:
        self._task = asyncio.create_task(self._refresh_forever(db), name="read-replicas")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*(r.pool.close() for r in self.replicas), return_exceptions=True)

    async def _refresh_forever(self, db: Database) -> None:
        purged = time.monotonic()
        while True:
            try:
                await self.refresh(db)
                if time.monotonic() - purged >= PURGE_SECONDS:
                    purged = time.monotonic()
                    await self.purge(db)
            except Exception:  # the refresh must outlive anything; the next round tries again
                log.exception("refreshing the read replicas' state failed")
            await asyncio.sleep(REFRESH_SECONDS)

    async def refresh(self, db: Database) -> None:
        """Sample the primary's position, then read each replica's replay position and lag."""
        try:
            async with asyncio.timeout(self.connect_timeout), db.connection() as conn:
                position = int(await conn.fetchval(_PRIMARY_POSITION))
        except Exception as exc:
            if not is_connection_failure(exc):
                raise
            return  # the primary is away: the replicas' lag cannot be measured, their state stays as it was
        now = time.monotonic()
        self._samples.append((now, position))
        while self._samples and self._samples[0][0] < now - self.max_lag - 5 * REFRESH_SECONDS:
            self._samples.popleft()
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(self.connect_timeout), replica.connection() as conn:
                row: Any = await conn.fetchrow(_REPLAY_STATE)
        except Exception as exc:
            if not replica_fault(exc) and not isinstance(exc, TimeoutError):
                raise
            replica.failed(exc)
            return
        replayed, replay_age = row[0], row[1]
        if replayed is None:
            replica.failed(RuntimeError("not a standby (pg_last_wal_replay_lsn() is NULL)"))
            return
        before = replica.state(self.max_lag)
        if not replica.up:
            log.info("read replica %d (%s) is available", replica.number, replica.url)
        replica.up = True
        replica.problem = None
        replica.saw(replayed)
        replica.lag = self._lag(replica.replayed, replay_age)
        after = replica.state(self.max_lag)
        if after == "lagging" and before != "lagging":
            log.warning(
                "read replica %d (%s) lags more than %g s, its reads go to the primary",
                replica.number,
                replica.url,
                self.max_lag,
            )

    def _lag(self, replayed: int, replay_age: float | None) -> float:
        """How long ago the primary had flushed something the replica has not replayed (0: nothing). While the
        samples do not reach back far enough (just started), the age of the last replayed commit stands in."""
        now = time.monotonic()
        for at, position in self._samples:
            if position > replayed:
                lag = now - at
                if at == self._samples[0][0]:  # behind even the oldest sample: it may be older still
                    lag = max(lag, replay_age if replay_age is not None else math.inf)
                return lag
        return 0.0

    async def purge(self, db: Database) -> None:
        """Delete the marks that every replica has replayed past."""
        positions = [r.replayed for r in self.replicas]
        if not positions or min(positions) < 0:
            return
        async with db.connection() as conn:
            await conn.execute(_PURGE, min(positions))

    def report(self) -> list[dict[str, Any]]:
        """Each replica's state as this process sees it, for the readiness probe."""
        return [
            {
                "replica": r.number,
                "url": r.url,
                "state": r.state(self.max_lag),
                "lagSeconds": None if r.lag is None or math.isinf(r.lag) else round(r.lag, 3),
                **({"problem": r.problem} if r.problem else {}),
            }
            for r in self.replicas
        ]
