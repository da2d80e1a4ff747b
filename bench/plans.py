"""Query plans of the hot paths, for the SQL the service really sends.

The SQL is not copied here: the service's own functions are called with a stand-in database that records the
statement and its parameters instead of running them, so the plans follow the service when its SQL changes.

For each statement the report shows
- the custom plan (EXPLAIN ANALYZE with the bound values: what PostgreSQL does on the first executions),
- the generic plan (PREPARE + plan_cache_mode=force_generic_plan: what it may switch to after five executions),
- which of the two PostgreSQL's plan cache actually picks over many executions through asyncpg (asyncpg prepares and
  caches every statement), and the mean time of one execution in that mode and with the generic plan forced. A
  statement that is re-planned on every execution pays the planner each time.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg

from segment_service.core.auth import Caller, Scope, TokenKind
from segment_service.core.db import Database
from segment_service.core.errors import NotFound
from segment_service.core.paging import Page
from segment_service.segments import service

SEARCH_Q = "siteCode:main status:ACTIVE"
DEFAULT_PAGE_SIZE = 60  # what the search endpoint uses when the client sends no pageSize
_TIMED_EXECUTIONS = 300
_names = itertools.count()


class _Recorder:
    """Stands in for an asyncpg connection: records each statement and returns no rows."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append((sql, args))
        return []

    async def fetchrow(self, sql: str, *args: Any) -> None:
        self.statements.append((sql, args))
        return None

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.statements.append((sql, args))
        return 0


class _RecordingDatabase:
    """Stands in for `core.db.Database`, handing out the recorder."""

    def __init__(self) -> None:
        self.recorder = _Recorder()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_Recorder]:
        yield self.recorder

    transaction = connection


async def _record(call: Callable[[Database], Awaitable[object]]) -> tuple[str, tuple[Any, ...]]:
    fake = _RecordingDatabase()
    # The recorder returns no row, so a single read ends in 404; the statement is recorded by then.
    with contextlib.suppress(NotFound):
        await call(cast(Database, fake))
    if not fake.recorder.statements:
        raise RuntimeError("the service sent no SQL")
    return fake.recorder.statements[0]


async def service_statements(tenant: str, segment_id: str) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """The SQL and parameters the service sends for the two measured requests, by scenario name."""
    caller = Caller(tenant=tenant, kind=TokenKind.SERVICE, subject="bench",
                    scopes=frozenset({Scope.SEGMENT_READ.value, Scope.SEGMENT_MANAGE.value}),
                    expires_at=int(time.time()) + 3600)
    get_sql = await _record(lambda db: service.get_segment(db, caller, segment_id))
    search_sql = await _record(lambda db: service.list_segments(
        db, caller, q=SEARCH_Q, page=Page(1, DEFAULT_PAGE_SIZE), sort=None, with_total=False))
    return {"get segment": get_sql, "search": search_sql}


def _literal(value: Any) -> str:
    """A SQL literal for EXECUTE's arguments (the hot paths bind only text and integers)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class StatementPlans:
    """Everything the report says about one statement."""

    name: str
    sql: str
    params: tuple[Any, ...]
    custom_plan: str
    generic_plan: str
    generic_plans: int
    custom_plans: int
    auto_ms: float
    forced_generic_ms: float

    @property
    def summary(self) -> str:
        """One line: the plan's scan node and the plan cache behaviour."""
        scan = next((line.strip().removeprefix("->").strip() for line in self.custom_plan.splitlines()
                     if " Scan" in line), self.custom_plan.splitlines()[0])
        scan = scan.split("  (cost=")[0]
        mode = "generic" if self.generic_plans > self.custom_plans else "custom (re-planned each time)"
        return (f"{scan}; plan cache uses {mode} plans; {self.auto_ms:.3f} ms/execution as run, "
                f"{self.forced_generic_ms:.3f} ms with the generic plan forced")


async def _explain(conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]) -> str:
    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
    return "\n".join(r[0] for r in rows)


async def _generic_explain(conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]) -> str:
    # A protocol-level prepared statement cannot be EXPLAINed, so prepare the same text at SQL level.
    await conn.execute("PREPARE bench_generic AS " + sql)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        arguments = ", ".join(_literal(p) for p in params)
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic({arguments})")
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE bench_generic")


async def _timed(conn: asyncpg.Connection, sql: str, params: tuple[Any, ...], mode: str) -> tuple[float, int, int]:
    """Mean ms of one execution through an asyncpg prepared statement under `plan_cache_mode = mode`, and how many
    generic and custom plans PostgreSQL made for it."""
    await conn.execute(f"SET plan_cache_mode = {mode}")
    try:
        # Named, as the service's cached statements are: PostgreSQL plans an unnamed statement afresh every time.
        statement = await conn.prepare(sql, name=f"bench_timed_{next(_names)}")
        for _ in range(20):  # past the five custom plans PostgreSQL always makes first
            await statement.fetch(*params)
        started = time.perf_counter()
        for _ in range(_TIMED_EXECUTIONS):
            await statement.fetch(*params)
        mean_ms = (time.perf_counter() - started) * 1000 / _TIMED_EXECUTIONS
        counts = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1", statement.get_name())
        generic, custom = (int(counts["generic_plans"]), int(counts["custom_plans"])) if counts else (0, 0)
    finally:
        await conn.execute("RESET plan_cache_mode")
    return mean_ms, generic, custom


async def explain_hot_paths(dsn: str, tenant: str, segment_id: str) -> list[StatementPlans]:
    """Plans and plan-cache behaviour of the statements behind the measured requests."""
    statements = await service_statements(tenant, segment_id)
    # The same session settings as the service's pool: JIT off (it only slows short OLTP queries).
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    results = []
    try:
        for name, (sql, params) in statements.items():
            custom = await _explain(conn, sql, params)
            generic = await _generic_explain(conn, sql, params)
            auto_ms, generic_count, custom_count = await _timed(conn, sql, params, "auto")
            forced_ms, _, _ = await _timed(conn, sql, params, "force_generic_plan")
            results.append(StatementPlans(name=name, sql=sql.strip(), params=params, custom_plan=custom,
                                          generic_plan=generic, generic_plans=generic_count,
                                          custom_plans=custom_count, auto_ms=auto_ms, forced_generic_ms=forced_ms))
    finally:
        await conn.close()
    return results
