"""The rule evaluator: one loop per serving process (docs/rules.md#evaluation), cooperating through the database.

- A saved rule is queued (state EVALUATING); the loop takes the tenant of the oldest one, evaluates that tenant's
  queued rules that read no other queued rule's segment together, for the whole tenant under the tenant's exclusive
  rule lock, and records READY with the member count (or FAILED with the error; saving the rule again retries). A
  process that dies mid-way leaves the rules queued for another.
- Time-relative rules are moved every `rule_sweep_seconds`: only the customers whose values a `now - D` boundary
  swept over since the last move are re-evaluated (rules/compiler.py `moved_sql`), never the whole tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

import asyncpg

from segment_service.core import clock
from segment_service.core.db import Database
from segment_service.rules import evaluation_store, store
from segment_service.rules.evaluation import apply_rule, apply_rules, evaluate_customers, graph_of, parsed
from segment_service.rules.store import RuleRow

log = logging.getLogger("segment_service.rules")

#: The wake-up event of each running evaluator with its loop (an app per loop; tests run several in one process).
_wakes: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
ERROR_PAUSE_SECONDS = 1.0
#: At most this many queued rules of a tenant are evaluated together, in one transaction (writes of the tenant's
#: memberships wait for it: docs/rules.md#evaluation).
EVALUATION_BATCH = 64


def wake() -> None:
    """Have this process's evaluators look for queued rules now (after a rule was saved and committed)."""
    for event, loop in list(_wakes.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


async def evaluate_one(db: Database) -> bool:
    """Evaluate a batch of one tenant's queued rules fully, together; whether there was one."""
    async with db.connection() as conn:
        candidate = await store.next_queued(conn)
    if candidate is None:
        return False
    tenant, _ = candidate
    async with db.transaction() as conn:
        await store.allow_long_statements(conn)  # the wait for writes under way, and the evaluation itself
        await store.lock_exclusive(conn, tenant)  # one full evaluation of the tenant at a time
        queued = await store.queued_rules(conn, tenant)
        if not queued:
            return True  # another process evaluated them meanwhile
        rows = await store.fetch_rules(conn, tenant)
        batch = ready_batch(rows, queued)
        now = clock.now()
        failed: dict[str, str] = {}
        try:
            async with conn.transaction():
                changes = len(await apply_rules(conn, tenant, batch, None, now))
        except _CONFLICTS:
            raise  # a conflict with a write, not the rules' fault: the loop pauses and tries again
        except Exception:  # one of them cannot be evaluated: each on its own, to tell which
            changes = 0
            for row in batch:
                try:
                    async with conn.transaction():
                        changes += len(await apply_rule(conn, tenant, row, None, now))
                except _CONFLICTS:
                    raise
                except Exception as exc:  # FAILED with the reason, never retried blindly
                    log.warning("rule of segment %s (tenant %s) failed: %s", row.segment_id, tenant, exc)
                    failed[row.segment_id] = str(exc)[:1000]
        for row in batch:
            error = failed.get(row.segment_id)
            state = "READY" if error is None else "FAILED"
            swept = now if error is None else None
            queued_at = queued[row.segment_id]
            await store.finish(conn, tenant, row.segment_id, state=state, swept_at=swept, error=error, queued=queued_at)
    log.info("rules of %d segments (tenant %s) evaluated: %d changes", len(batch), tenant, changes)
    return True


_CONFLICTS = (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError, asyncpg.SerializationError)


def ready_batch(rows: Sequence[RuleRow], queued: Mapping[str, object]) -> list[RuleRow]:
    """The queued rules that read no other queued rule's segment (directly or through others), at most
    EVALUATION_BATCH of them, oldest segment ids first: evaluated together, they share passes over the subjects and
    the orders (rules/compiler.py `compile_shared`). The rest wait for the next batch."""
    graph = graph_of(rows)
    ready = [row for row in rows if row.segment_id in queued and not graph.reads(row.segment_id) & queued.keys()]
    return sorted(ready, key=lambda row: row.segment_id)[:EVALUATION_BATCH]


async def sweep_one(db: Database, interval: float) -> bool:
    """Move one time-relative rule whose last move is older than `interval`; whether there was one."""
    now = clock.now()
    due = now - timedelta(seconds=interval)
    async with db.connection() as conn:
        candidate = await store.next_due_sweep(conn, due, now)
    if candidate is None:
        return False
    tenant, segment_id = candidate
    async with db.transaction() as conn:
        await store.lock_shared(conn, tenant)
        if not await store.lock_due_sweep(conn, tenant, segment_id, due, now):
            return False
        row = await store.fetch_rule(conn, tenant, segment_id)
        assert row is not None
        assert row.swept_at is not None
        customers = await evaluation_store.moved_candidates(conn, tenant, parsed(tenant, row), row.swept_at, now)
        if customers:
            await evaluate_customers(conn, tenant, customers, only={segment_id})
        await store.set_swept(conn, tenant, segment_id, now)
    return True


async def run_forever(db: Database, *, poll_seconds: float, sweep_seconds: float) -> None:
    """Evaluate queued rules and move time-relative ones until cancelled; a failing database pauses the loop."""
    wake_event = asyncio.Event()
    _wakes[wake_event] = asyncio.get_running_loop()
    try:
        await _evaluate_forever(db, wake_event, poll_seconds, sweep_seconds)
    finally:
        _wakes.pop(wake_event, None)


async def _evaluate_forever(db: Database, wake_event: asyncio.Event, poll_seconds: float, sweep_seconds: float) -> None:
    failing = False
    while True:
        try:
            busy = await evaluate_one(db) or await sweep_one(db, sweep_seconds)
            if failing:
                failing = False
                log.info("rule evaluator works again")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not failing:
                failing = True
                log.warning("rule evaluator failed (%s: %s); trying again", type(exc).__name__, exc)
            await asyncio.sleep(ERROR_PAUSE_SECONDS)
            continue
        if busy:
            await asyncio.sleep(0)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake_event.wait(), poll_seconds)
        wake_event.clear()
