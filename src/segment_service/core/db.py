"""The connection pool, transactions and the migration runner.

A read borrows a connection for one statement; a write runs in `transaction()`, opened by the service. Nested
`conn.transaction()` blocks become savepoints, which is what per-item bulk isolation uses. A read that a replica may
answer (lists, the storefront) runs in `read()` (core/dbreplicas.py, docs/operations.md#read-replicas).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
import msgspec
from asyncpg.exceptions._base import DataError as ArgumentError  # a value the driver cannot encode, e.g. int32 range

from segment_service.core import dbconnect, dbreplicas, host_versions, schema_state
from segment_service.core.answer_cache import AnswerCache
from segment_service.core.errors import BadRequest, ServiceError
from segment_service.core.fairshare import FairShare
from segment_service.core.outage import OUTAGE, is_connection_failure
from segment_service.settings import Settings

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from asyncpg.pool import PoolConnectionProxy

    #: What store functions take: a connection of their own or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection
log = logging.getLogger(__name__)
T = TypeVar("T")

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()

# Any constant works as long as every process that migrates uses the same one.
_MIGRATION_LOCK_ID = 7_412_311


def _encode_json(value: Any) -> str:
    return _json_encoder.encode(value).decode()


async def _init_connection(conn: Connection) -> None:
    """Make jsonb columns come back as Python objects on every pooled connection."""
    for type_name in ("jsonb", "json"):
        await conn.set_type_codec(
            type_name, encoder=_encode_json, decoder=_json_decoder.decode, schema="pg_catalog", format="text"
        )


async def _reset_connection(conn: Connection) -> None:
    """Cheap reset on release: the service never leaves session state behind, only a transaction could be left open
    (a cancelled request), so skip asyncpg's full reset query and roll back only when needed."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


# PostgreSQL reports some limits that a client's input reaches as internal errors (SQLSTATE XX000), e.g. a regular
# expression that compiles to more memory than one allocation may take.
_INPUT_INTERNAL_ERRORS = ("invalid memory alloc request size", "regular expression", "regex")


def input_error(exc: BaseException) -> ServiceError | None:
    """The 400 a database error that bad input provokes stands for: a data exception (SQLSTATE class 22: a NUL
    character, an invalid regex, a number out of range), a program limit (class 54), one of the internal errors input
    can reach, or a value the driver cannot send. None for any other exception. Messages never show the driver's
    wording (its "query argument $n")."""
    if isinstance(exc, asyncpg.InvalidRegularExpressionError):
        return BadRequest(f"Invalid q: {exc}.", field="q", type="invalid_query_parameter")
    if isinstance(exc, asyncpg.UntranslatableCharacterError | asyncpg.CharacterNotInRepertoireError):
        return BadRequest("Invalid input: text cannot contain the NUL character (\\u0000).", type="invalid_value")
    if isinstance(exc, ArgumentError) or (isinstance(exc, asyncpg.DataError) and "query argument" in str(exc)):
        return BadRequest(
            "Invalid input: a value is outside the range the service can store or compare.", type="invalid_value"
        )
    if isinstance(exc, asyncpg.DataError):
        return BadRequest(f"Invalid input: {exc}.", type="invalid_value")
    if isinstance(exc, asyncpg.ProgramLimitExceededError):
        return BadRequest(
            f"The request is beyond what the database can process: {exc}. Send smaller values or a simpler query.",
            type="invalid_value",
        )
    if isinstance(exc, asyncpg.InternalServerError) and any(m in str(exc) for m in _INPUT_INTERNAL_ERRORS):
        return BadRequest(
            "Invalid q: the query is too complex for the database (for example a regular expression "
            "with too many repetitions); simplify it.",
            field="q",
            type="invalid_query_parameter",
        )
    return None


class Database:
    """One pool per process, with `connection()` for reads and `transaction()` for writes."""

    def __init__(
        self, pool: asyncpg.Pool, *, transaction_settings: str | None = None, share: FairShare | None = None
    ) -> None:
        self.pool = pool
        #: Each tenant's share of the pool (core/fairshare.py); no limit when not given.
        self.share = share or FairShare(0, 0)
        #: Pooler-safe mode: what starts every borrow's transaction (core/dbconnect.py); None on a direct connection.
        self.transaction_settings = transaction_settings
        #: Borrowers waiting for a connection right now (asyncpg does not tell); read by the pool metrics.
        self.waiting = 0
        #: Called with every exception raised while a connection is borrowed (core/metrics.py counts them).
        self.on_error: Callable[[BaseException], None] | None = None
        #: The replicas of DATABASE_READ_URL; None without them, and then nothing of theirs runs.
        self.replicas: dbreplicas.ReplicaSet | None = None
        #: The storefront's cached answers for this database (core/answer_cache.py); the app sizes it at start.
        self.answers = AnswerCache(0)
        #: Versions kept from earlier reads while the host's generations vouch for them (core/host_versions.py);
        #: None unless SEGMENT_SERVICE_ANSWER_VERSIONS=host.
        self.memo: host_versions.VersionMemo | None = None
        #: The host's file of versions this process marks its writes in (SEGMENT_SERVICE_ANSWER_VERSIONS=host).
        self.host: host_versions.HostVersions | None = None

    @classmethod
    async def connect(cls, settings: Settings, dsn: str) -> Database:
        """Open the pool; every statement is bounded by the configured statement timeout."""
        pooled = await dbconnect.uses_pooler(settings, dsn)
        pool = await asyncpg.create_pool(
            dsn,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            init=_init_connection,
            reset=_reset_connection,
            **dbconnect.pool_options(settings, pooled),
        )
        db = cls(
            pool,
            transaction_settings=dbconnect.transaction_settings(settings) if pooled else None,
            share=FairShare(settings.tenant_pool_share, settings.tenant_pool_wait_ms / 1000),
        )
        if settings.database_read_urls:
            db.replicas = await _open_replicas(settings, pooled)
            db.replicas.start(db)
        if settings.answer_versions == "host":
            await db._use_host_versions()
        return db

    async def _use_host_versions(self) -> None:
        """Every process of the host that writes to the database marks its writes in the host's file
        (docs/answers.md#versions-kept-on-the-host), whether or not it keeps answers itself."""
        async with self.connection() as conn:
            installation = await schema_state.installation(conn)
        if installation is None:
            await self.close()
            raise RuntimeError(
                "SEGMENT_SERVICE_ANSWER_VERSIONS=host needs the database's id (migration 0020): run "
                "`segment-service migrate` first."
            )
        self.host = host_versions.HostVersions.shared(host_versions.path_for(installation))
        host_versions.use(self.host)

    async def close(self) -> None:
        if self.replicas is not None:
            await self.replicas.close()
        await self.pool.close()

    async def read(self, key: dbreplicas.ReadKey | None, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`await work(conn)` for a read that a replica may answer: on a replica that has replayed the last write of
        the caller `key` (core/auth.py `Caller.read_key`; None: no caller, any caught-up replica), else on the
        primary; without replicas, on the primary. `work` may run twice: once on a replica that fails it, then on the
        primary; it must only read."""
        if self.replicas is None:
            async with self.connection() as conn:
                return await work(conn)
        return await self.replicas.read(self, key, work)

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """Borrow a connection for reads outside a transaction (inside one in pooler-safe mode, for its settings)."""
        if self.transaction_settings is None:
            return _Borrow(self, share=True, report=True)
        return self._connection_in_transaction()

    @asynccontextmanager
    async def _connection_in_transaction(self) -> AsyncIterator[Connection]:
        async with _Borrow(self, share=True, report=False) as conn, conn.transaction():
            assert self.transaction_settings is not None
            await conn.execute(self.transaction_settings)
            yield conn
        OUTAGE.succeeded()  # reached only when the block succeeded: ends a logged outage

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Borrow a connection inside a transaction that commits on success and rolls back on error."""
        async with _Borrow(self, share=True, report=False) as conn:
            async with conn.transaction():
                if self.transaction_settings is not None:
                    await conn.execute(self.transaction_settings)
                yield conn
            # Committed (a rollback raised out of the block above): the caller's write position, before anything
            # answers the request, so that the caller's next read finds a replica that has it or the primary.
            writer = dbreplicas.WRITER.get() if self.replicas is not None else None
            if writer is not None:
                marking = asyncio.ensure_future(self._mark(conn, writer))
                try:
                    await asyncio.shield(marking)
                except asyncio.CancelledError:
                    # A request cancelled after its COMMIT still gets its mark: it may be read by a retry.
                    await asyncio.wait([marking])
                    raise
        OUTAGE.succeeded()

    async def _mark(self, conn: Connection, writer: dbreplicas.ReadKey) -> None:
        try:
            await dbreplicas.mark(conn, writer)
        except Exception as exc:
            if not is_connection_failure(exc):
                raise
            # The COMMIT returned, so any connection to the primary now sees a position at or past it. A second
            # failure fails the request: the write is never reported as done without its mark.
            async with _Borrow(self, share=False, report=False) as again:
                await dbreplicas.mark(again, writer)


class _Borrow:
    """A pooled connection, within the caller's tenant share when `share` (a 429 when that stays busy), counted as
    waiting until the pool hands it over, with every failure (the block's own too) reported to `on_error`; `report`:
    a success ends a logged outage. A class rather than nested generator-based context managers: every statement of
    every request passes here, and each generator layer costs as much as this whole class."""

    __slots__ = ("_conn", "_db", "_report", "_slot")

    def __init__(self, db: Database, *, share: bool, report: bool) -> None:
        self._db = db
        self._slot = db.share.slot() if share else None
        self._report = report
        self._conn: Connection | None = None

    async def __aenter__(self) -> Connection:
        db, slot = self._db, self._slot
        if slot is not None:
            await slot.__aenter__()
        db.waiting += 1
        try:
            conn = self._conn = await db.pool.acquire()
        except BaseException as exc:
            db.waiting -= 1
            if isinstance(exc, Exception) and db.on_error is not None:
                db.on_error(exc)
            if slot is not None:
                await slot.__aexit__(None, None, None)
            raise
        db.waiting -= 1
        return conn

    async def __aexit__(self, exc_type: object, exc: BaseException | None, traceback: object) -> None:
        db = self._db
        try:
            try:
                await db.pool.release(self._conn)  # type: ignore[arg-type]  # what acquire() gave
            except Exception as failure:
                if db.on_error is not None:
                    db.on_error(failure)
                raise
            if isinstance(exc, Exception) and db.on_error is not None:
                db.on_error(exc)
        finally:
            # The transaction has ended (committed, rolled back, or its connection closed): its host marks end.
            host_versions.release(self._conn)
            if self._slot is not None:
                await self._slot.__aexit__(None, None, None)
        if exc is None and self._report:
            OUTAGE.succeeded()  # ends a logged outage


async def _open_replicas(settings: Settings, pooled: bool) -> dbreplicas.ReplicaSet:
    """The replicas' pools, opened without connecting (min size 0): a replica that is down must not stop the start;
    the refresh finds it when it comes. They run in the primary's pooler mode (a deployment puts the same kind of
    pooler, or none, in front of all its servers)."""
    replicas = []
    for number, url in enumerate(settings.database_read_urls, start=1):
        pool = await asyncpg.create_pool(
            url,
            min_size=0,
            max_size=settings.pool_max_size,
            init=_init_connection,
            reset=_reset_connection,
            **dbconnect.pool_options(settings, pooled),
        )
        ts = dbconnect.transaction_settings(settings) if pooled else None
        replicas.append(dbreplicas.Replica(number, url, pool, ts))
    return dbreplicas.ReplicaSet(replicas, settings.read_max_lag_seconds, settings.connect_timeout_seconds)


def _shipped_files() -> list[Traversable]:
    folder = resources.files("segment_service") / "migrations"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


def migration_files() -> list[tuple[str, str]]:
    """The numbered SQL migrations shipped with the package, in order: (version, sql)."""
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in _shipped_files()]


def migration_checksums() -> dict[str, str]:
    """The sha256 of each shipped migration's file, by version: what `sha256sum` prints for it."""
    return {f.name.removesuffix(".sql"): hashlib.sha256(f.read_bytes()).hexdigest() for f in _shipped_files()}


async def migrate(dsn: str, settings: Settings | None = None, *, variable: str = "DATABASE_URL") -> list[str]:
    """Apply the migrations the database has not seen yet; safe to run from several processes at once. Refuses
    (schema_state.MigrationChanged) when the file of an applied migration has changed since it was applied.

    Each migration runs in its own transaction under a transaction-scoped advisory lock, so that nothing depends on
    the session: it also works through a transaction-mode pooler. `variable` names the URL in error messages."""
    conn = await dbconnect.open_connection(settings or Settings(), dsn, variable=variable)
    applied_now: list[str] = []
    checksums = migration_checksums()
    try:
        await schema_state.check_migration_rights(conn, variable)
        await schema_state.keep_checksums(conn, checksums, _MIGRATION_LOCK_ID)
        done = await schema_state.applied_versions(conn) or set()
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_ID)
                # Another process may have applied it while this one waited for the lock.
                if await conn.fetchval("SELECT 1 FROM schema_migrations WHERE version = $1", version):
                    continue
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", version, checksums[version]
                )
            applied_now.append(version)
            log.info("applied migration %s", version)
    finally:
        await conn.close()
    return applied_now
