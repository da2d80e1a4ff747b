"""The rule evaluator: one loop per serving process (docs/rules.md#evaluation), cooperating through the database.

- A saved rule is queued (state EVALUATING); the loop takes the oldest one no other process holds, evaluates it
  for the whole tenant under the tenant's exclusive rule lock, and records READY with the member count (or FAILED
  with the error; saving the rule again retries). A process that dies mid-way leaves the rule queued for another.
- Time-relative rules are moved every `rule_sweep_seconds`: only the customers whose values a `now - D` boundary
  swept over since the last move are re-evaluated (rules/compiler.py `moved_sql`), never the whole tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import asyncpg

from segment_service.core import clock
from segment_service.core.db import Database
from segment_service.rules import evaluation_store, store
from segment_service.rules.evaluation import apply_rule, evaluate_customers, parsed

log = logging.getLogger("segment_service.rules")

#: The wake-up event of each running evaluator with its loop (an app per loop; tests run several in one process).
_wakes: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
ERROR_PAUSE_SECONDS = 1.0


def wake() -> None:
    """Have this process's evaluators look for queued rules now (after a rule was saved and committed)."""
    for event, loop in list(_wakes.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


async def evaluate_one(db: Database) -> bool:
    """Evaluate one queued rule fully; whether there was one."""
    async with db.connection() as conn:
        candidate = await store.next_queued(conn)
    if candidate is None:
        return False
    tenant, segment_id = candidate
    async with db.transaction() as conn:
        await store.allow_long_statements(conn)  # the wait for writes under way, and the evaluation itself
        await store.lock_exclusive(conn, tenant)  # one full evaluation of the tenant at a time
        queued = await store.queued_at(conn, tenant, segment_id)
        if queued is None:
            return True  # another process evaluated it meanwhile
        now = clock.now()
        row = await store.fetch_rule(conn, tenant, segment_id)
        assert row is not None
        try:
            async with conn.transaction():
                changes = await apply_rule(conn, tenant, row, None, now)
        except (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError, asyncpg.SerializationError):
            raise  # a conflict with a write, not the rule's fault: the loop pauses and tries again
        except Exception as exc:  # a rule that cannot be evaluated is FAILED with the reason, never retried blindly
            log.warning("rule of segment %s (tenant %s) failed: %s", segment_id, tenant, exc)
            await store.finish(
                conn, tenant, segment_id, state="FAILED", swept_at=None, error=str(exc)[:1000], queued=queued
            )
            return True
        await store.finish(conn, tenant, segment_id, state="READY", swept_at=now, error=None, queued=queued)
    log.info("rule of segment %s (tenant %s) evaluated: %d changes", segment_id, tenant, len(changes))
    return True


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
