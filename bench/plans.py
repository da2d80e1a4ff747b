"""Query plans of the hot paths, for the SQL the service really sends.

The SQL is not copied here: the service's own functions are called with a stand-in database that records the
statement and its parameters instead of running them, so the plans follow the service when its SQL changes.

The stand-in also shows how many statements one request sends: every statement a service function sends is recorded,
and each gets its own plans. The stand-in returns no rows, so a category assignments list looks empty to the service,
which then also checks the category (404 or an empty page); a page that has rows is the first statement alone.

For each statement the report shows
- the custom plan (EXPLAIN ANALYZE with the bound values: what PostgreSQL does on the first executions),
- the generic plan (PREPARE + plan_cache_mode=force_generic_plan: what it may switch to after five executions),
- which of the two PostgreSQL's plan cache actually picks over many executions through asyncpg (asyncpg prepares and
  caches every statement), and the mean time of one execution in that mode and with the generic plan forced. A
  statement that is re-planned on every execution pays the planner each time,
- whether either plan reads a table with a sequential scan (on these tables that means reading all of it).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import asyncpg

from segment_service.core.answer_cache import AnswerCache
from segment_service.core.auth import Caller, Scope, TokenKind
from segment_service.core.db import Database
from segment_service.core.errors import NotFound
from segment_service.core.paging import Page
from segment_service.segments import service

T = TypeVar("T")

SEARCH_Q = "siteCode:main status:ACTIVE"
DEFAULT_PAGE_SIZE = 60  # what the search endpoint uses when the client sends no pageSize
_TIMED_EXECUTIONS = 300
# A subtree statement may take milliseconds: stop timing a mode after this long, whatever the count.
_TIMED_BUDGET_SECONDS = 1.5
_names = itertools.count()
_EXECUTION_TIME = re.compile(r"^Execution Time: ([\d.]+) ms", re.MULTILINE)
_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
_SCAN_NODE = re.compile(
    r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan|Seq Scan)"
    r"(?: Backward)?(?: using \w+)? on \w+(?: \w+)?|Bitmap Index Scan on \w+)"
)
Statement = tuple[str, tuple[Any, ...]]


class _Recorder:
    """Stands in for an asyncpg connection: records each statement and returns no rows.

    `fetchval` answers `fetchval_result`: 0 suits counts, True a "does it exist / is it published" check that must
    pass for the service to go on to the statement that matters."""

    def __init__(self, fetchval_result: Any = 0) -> None:
        self.statements: list[Statement] = []
        self.fetchval_result = fetchval_result

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append((sql, args))
        return []

    async def fetchrow(self, sql: str, *args: Any) -> None:
        self.statements.append((sql, args))
        return None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append((sql, args))
        return self.fetchval_result


class _RecordingDatabase:
    """Stands in for `core.db.Database`, handing out the recorder."""

    def __init__(self, fetchval_result: Any = 0) -> None:
        self.recorder = _Recorder(fetchval_result)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_Recorder]:
        yield self.recorder

    transaction = connection

    async def read(self, key: object, work: Callable[[_Recorder], Awaitable[T]]) -> T:
        """`Database.read` without replicas: the work on the recorder."""
        return await work(self.recorder)

    #: No answer is kept: every read sends its statements (core/answer_cache.py), and nothing is remembered on the
    #: host (core/host_versions.py).
    answers = AnswerCache(0)
    memo = None


async def record(call: Callable[[Database], Awaitable[object]], *, fetchval_result: Any = 0) -> list[Statement]:
    """Every statement `call` sends, in order."""
    fake = _RecordingDatabase(fetchval_result)
    # The recorder returns no row, so a single read ends in 404; the statement is recorded by then.
    with contextlib.suppress(NotFound):
        await call(cast(Database, fake))
    if not fake.recorder.statements:
        raise RuntimeError("the service sent no SQL")
    return fake.recorder.statements


def _caller(tenant: str) -> Caller:
    # The bench's token: segment scopes only, which is also "any valid token of the tenant" for category reads.
    return Caller(
        tenant=tenant,
        kind=TokenKind.SERVICE,
        subject="bench",
        scopes=frozenset({Scope.SEGMENT_READ.value, Scope.SEGMENT_MANAGE.value}),
        expires_at=int(time.time()) + 3600,
    )


async def service_statements(tenant: str, segment_id: str) -> dict[str, list[Statement]]:
    """The SQL and parameters the service sends for the two measured requests, by scenario name."""
    caller = _caller(tenant)
    get_sql = await record(lambda db: service.get_segment(db, caller, segment_id))
    search_sql = await record(
        lambda db: service.list_segments(
            db, caller, q=SEARCH_Q, page=Page(1, DEFAULT_PAGE_SIZE), sort=None, with_total=False
        )
    )
    return {"get segment": get_sql[:1], "search": search_sql[:1]}


@dataclass(frozen=True, slots=True)
class CategoryProbe:
    """The categories whose assignment lists are explained: one per category scenario (by scenario name), and
    whether that scenario asks for withSubcategories."""

    requests: dict[str, tuple[str, bool]]


async def category_statements(
    tenant: str, probe: CategoryProbe, default_language: str = "en"
) -> dict[str, list[Statement]]:
    """What `GET /category/{tenant}/categories/{id}/assignments[?withSubcategories=true]` sends, by scenario name,
    called as the route calls it: no query options but withSubcategories, no Accept-Language, default page."""
    # Imported here so that a run with --skip-categories does not depend on the category service at all.
    from segment_service.categories import assignments as category_service
    from segment_service.core.http import ReadShape
    from segment_service.core.paging import parse_page

    caller = _caller(tenant)
    shape = ReadShape.of(None, None, default_language)
    result = {}
    for name, (category_id, with_subcategories) in probe.requests.items():
        filters = category_service.AssignmentFilters(
            with_subcategories=with_subcategories,
            show_unpublished=False,
            hide_unpublished_products=False,
            product_id=None,
            name_contains=None,
        )

        async def call(
            db: Database, category_id: str = category_id, filters: category_service.AssignmentFilters = filters
        ) -> object:
            return await category_service.category_assignments_answer(
                db,
                caller,
                category_id,
                filters=filters,
                page=parse_page(None, None),
                sort=None,
                with_total=False,
                languages=shape.languages,
                default_language=shape.default_language,
                variant=None,
                render=lambda page: (b"", {}),
            )

        # Only the page statement: with rows (the measured case) the service sends nothing else; the category check
        # the stand-in's empty answer provokes belongs to empty pages.
        result[name] = (await record(call, fetchval_result=True))[:1]
    return result


@dataclass(frozen=True, slots=True)
class AssignmentProbe:
    """The ids the segment assignment plans are explained for: a typical customer, item segment and product."""

    customer_id: str
    segment_id: str
    product_id: str


#: "Which segments is product P in": no route lists it yet (GET /segments/items lists every segment's items), but
#: the bulk delete of a product's assignments and any "segments of this item" lookup need exactly this access path.
#: Written here, so it is the access path the index must serve, not the service's SQL.
ITEM_SEGMENTS_SQL = """SELECT a.segment_id, a.version, a.modified_at
FROM segment_item_assignments a
WHERE a.tenant = $1 AND a.item_type = $2 AND a.item_id = $3
ORDER BY a.segment_id
LIMIT 60"""
#: The fallback for "items of segment S" while segment_service.segments.item_assignments is not importable.
SEGMENT_ITEMS_SQL = """SELECT a.item_type, a.item_id, a.version, a.modified_at
FROM segment_item_assignments a
WHERE a.tenant = $1 AND a.segment_id = $2
ORDER BY a.item_type, a.item_id
LIMIT 60"""
CUSTOMER_SEGMENTS = "segments of a customer"
SEGMENT_ITEMS = "items of a segment"
ITEM_SEGMENTS = "assignments of an item"


async def assignment_statements(tenant: str, probe: AssignmentProbe) -> tuple[dict[str, list[Statement]], list[str]]:
    """The SQL behind the three assignment reads, by name, and notes on which of it is the bench's own.

    "segments of a customer" and "items of a segment" are recorded from the service's functions (what
    `GET /segments?customerId=` and `GET /segments/{id}/items` send, default page, no q); "assignments of an item"
    has no service function yet and uses ITEM_SEGMENTS_SQL."""
    caller = _caller(tenant)
    notes: list[str] = []
    page = Page(1, DEFAULT_PAGE_SIZE)
    result = {
        CUSTOMER_SEGMENTS: (
            await record(
                lambda db: service.list_segments(
                    db, caller, q=None, page=page, sort=None, with_total=False, customer_id=probe.customer_id
                )
            )
        )[:1]
    }
    try:
        from segment_service.segments import item_assignments

        # The first statement is the page: the recorder's empty answer then provokes the segment check (404).
        result[SEGMENT_ITEMS] = (
            await record(
                lambda db: item_assignments.list_assignments(
                    db, caller, probe.segment_id, q=None, page=page, sort=None, with_total=False
                )
            )
        )[:1]
    except (ImportError, AttributeError, TypeError) as exc:  # the module is being written right now
        notes.append(
            f"{SEGMENT_ITEMS}: the service's item_assignments.list_assignments could not be recorded "
            f"({type(exc).__name__}: {exc}); the plan is of the bench's SEGMENT_ITEMS_SQL instead"
        )
        result[SEGMENT_ITEMS] = [(SEGMENT_ITEMS_SQL, (tenant, probe.segment_id))]
    result[ITEM_SEGMENTS] = [(ITEM_SEGMENTS_SQL, (tenant, "PRODUCT", probe.product_id))]
    notes.append(
        f"{ITEM_SEGMENTS}: no service route lists one item's segments yet; the plan is of the bench's "
        "ITEM_SEGMENTS_SQL (the access path segment_item_assignments_item_idx exists for)"
    )
    return result, notes


def _literal(value: Any) -> str:
    """A SQL literal for EXECUTE's arguments (the hot paths bind text, integers and arrays of text)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):  # the ids of `= ANY($n::text[])`
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]::text[]" if value else "'{}'::text[]"
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
    request_statements: int = 1
    """How many statements the request this one belongs to sends (the recorder saw them all)."""
    position: int = 1
    """Which of them this is, 1-based."""

    @property
    def scans(self) -> list[str]:
        """The custom plan's scan nodes, in plan order, each once (`Index Scan using x_pkey on x t`)."""
        found = _SCAN_NODE.findall(self.custom_plan)
        return list(dict.fromkeys(found)) or [self.custom_plan.splitlines()[0].split("  (cost=")[0]]

    @property
    def seq_scans(self) -> list[str]:
        """Tables read with a sequential scan in the custom or the generic plan."""
        return sorted(set(_SEQ_SCAN.findall(self.custom_plan)) | set(_SEQ_SCAN.findall(self.generic_plan)))

    @property
    def custom_execution_ms(self) -> float | None:
        """`Execution Time` of the custom plan's EXPLAIN ANALYZE."""
        found = _EXECUTION_TIME.search(self.custom_plan)
        return float(found.group(1)) if found else None

    @property
    def generic_execution_ms(self) -> float | None:
        """`Execution Time` of the generic plan's EXPLAIN ANALYZE."""
        found = _EXECUTION_TIME.search(self.generic_plan)
        return float(found.group(1)) if found else None

    @property
    def summary(self) -> str:
        """One line: the plan's scan nodes, sequential scans, the plan cache behaviour and the timings."""
        mode = "generic" if self.generic_plans > self.custom_plans else "custom (re-planned each time)"
        seq = "no sequential scan" if not self.seq_scans else "SEQUENTIAL SCAN of " + ", ".join(self.seq_scans)
        executed = ""
        if self.custom_execution_ms is not None and self.generic_execution_ms is not None:
            executed = (
                f"; EXPLAIN ANALYZE {self.custom_execution_ms:.3f} ms custom, "
                f"{self.generic_execution_ms:.3f} ms generic"
            )
        return (
            f"{' + '.join(self.scans)}; {seq}; plan cache uses {mode} plans; {self.auto_ms:.3f} ms/execution "
            f"as run, {self.forced_generic_ms:.3f} ms with the generic plan forced{executed}"
        )


async def _explain(conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]) -> str:
    # Run it once first: otherwise the custom plan, explained first, pays for reading the pages into shared buffers
    # and looks slower than the generic plan explained right after it, which is not a difference between the plans.
    await conn.fetch(sql, *params)
    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
    return "\n".join(r[0] for r in rows)


async def _generic_explain(conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]) -> str:
    # A protocol-level prepared statement cannot be EXPLAINed, so prepare the same text at SQL level.
    await conn.execute("PREPARE bench_generic AS " + sql)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        # A statement without parameters is executed without parentheses (`EXECUTE name()` is a syntax error).
        arguments = f"({', '.join(_literal(p) for p in params)})" if params else ""
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic{arguments}")
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
        executions = 0
        while executions < _TIMED_EXECUTIONS and time.perf_counter() - started < _TIMED_BUDGET_SECONDS:
            await statement.fetch(*params)
            executions += 1
        mean_ms = (time.perf_counter() - started) * 1000 / executions
        counts = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1", statement.get_name()
        )
        generic, custom = (int(counts["generic_plans"]), int(counts["custom_plans"])) if counts else (0, 0)
    finally:
        await conn.execute("RESET plan_cache_mode")
    return mean_ms, generic, custom


async def explain_hot_paths(
    dsn: str,
    tenant: str,
    segment_id: str,
    *,
    segments: Collection[str] = ("get segment", "search"),
    categories: CategoryProbe | None = None,
    assignments: AssignmentProbe | None = None,
    notes: list[str] | None = None,
    recorded: dict[str, list[Statement]] | None = None,
) -> list[StatementPlans]:
    """Plans and plan-cache behaviour of the statements behind the measured requests: the segment scenarios named in
    `segments` and, given probes, the category assignment lists and the segment assignment reads. A statement two
    scenarios send alike (the category check) is explained once. Notes on what was explained go to `notes`; statements
    recorded elsewhere (by scenario name) are explained after these."""
    statements = {
        name: sent for name, sent in (await service_statements(tenant, segment_id)).items() if name in segments
    }
    if categories is not None:
        statements.update(await category_statements(tenant, categories))
    if assignments is not None:
        assignment_sql, assignment_notes = await assignment_statements(tenant, assignments)
        statements.update(assignment_sql)
        if notes is not None:
            notes.extend(assignment_notes)
    statements.update(recorded or {})
    # The same session settings as the service's pool: JIT off (it only slows short OLTP queries).
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    results = []
    explained: set[str] = set()
    try:
        for name, sent in statements.items():
            for position, (sql, params) in enumerate(sent, start=1):
                if sql in explained and position < len(sent):
                    continue  # the same check before every list: its plan does not depend on the scenario
                explained.add(sql)
                custom = await _explain(conn, sql, params)
                generic = await _generic_explain(conn, sql, params)
                auto_ms, generic_count, custom_count = await _timed(conn, sql, params, "auto")
                forced_ms, _, _ = await _timed(conn, sql, params, "force_generic_plan")
                results.append(
                    StatementPlans(
                        name=name,
                        sql=sql.strip(),
                        params=params,
                        custom_plan=custom,
                        generic_plan=generic,
                        generic_plans=generic_count,
                        custom_plans=custom_count,
                        auto_ms=auto_ms,
                        forced_generic_ms=forced_ms,
                        request_statements=len(sent),
                        position=position,
                    )
                )
    finally:
        await conn.close()
    return results
