"""Attacks on the pool borrow (core/db.py `_Borrow`) and the tenant share (core/fairshare.py `_Slot`), the two class
context managers every statement passes through: task cancellation at each of their await points (waiting for the
share, acquiring from the pool, connecting, inside the block, releasing), 429s under many waiters racing releases,
exceptions inside the block and while releasing, nested borrows in one request, many tenants at once, and a database
that refuses, never answers, or is stopped under them.

After every attack nothing is left behind: no share entry (`FairShare._shares`), no connection counted as held
(`in_use`), no borrower counted as waiting (`Database.waiting`), every pool holder back in the pool's queue with its
connection idle, the request's `_holding` flag clear, and the next requests of the same tenants succeed and take their
share again. Each test runs a pool of its own over the real PostgreSQL (a stoppable one of its own for the outage),
in one event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import secrets
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from tests.ops.servers import StoppablePostgres

from segment_service.core import db as db_module
from segment_service.core.db import Connection, Database
from segment_service.core.dbconnect import transaction_settings
from segment_service.core.errors import TooManyRequests
from segment_service.core.fairshare import FairShare, _holding, bind_request, unbind_request
from segment_service.core.outage import OUTAGE, is_connection_failure
from segment_service.settings import Settings

T = TypeVar("T")

#: How a borrow is opened: `connection()` direct, `connection()` in pooler mode (its own transaction), `transaction()`.
KINDS = ("connection", "pooled connection", "transaction")


def new_tenant() -> str:
    return "t" + secrets.token_hex(6)


def request_path(key: str) -> str:
    """A request path whose pool key is `key` (a tenant)."""
    return f"/product/{key}/products"


def borrow(db: Database, kind: str) -> AbstractAsyncContextManager[Connection]:
    return db.transaction() if kind == "transaction" else db.connection()


async def as_request(key: str, work: Callable[[], Awaitable[T]]) -> T:
    token = bind_request(request_path(key))
    try:
        return await work()
    finally:
        unbind_request(token)


def spawn(key: str, work: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
    """A request of tenant `key` running `work`, in a context of its own: not one copied from a caller that may be
    holding a connection (a task copies its creator's context, `_holding` included)."""
    return asyncio.create_task(as_request(key, work), context=contextvars.Context())


async def until(condition: Callable[[], bool], seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110  # the conditions are counters of the code under test
            await asyncio.sleep(0.002)


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(10):  # a hang fails the test instead of the run
            await main()

    asyncio.run(bounded())


@dataclass
class Rig:
    db: Database
    errors: list[BaseException]  # what the borrows reported to `on_error`
    size: int  # the pool's max size: how many holders its queue has when every one is back

    @property
    def share(self) -> FairShare:
        return self.db.share

    def users(self, key: str) -> int:
        share = self.share._shares.get(key)
        return 0 if share is None else share.users

    def free_holders(self) -> int:
        queue: Any = getattr(self.db.pool, "_queue")  # noqa: B009  # asyncpg's stubs do not type it
        return int(queue.qsize())

    async def settle(self) -> None:
        """Wait for connections still being released in the background (asyncpg shields a release) to be back."""
        pool = self.db.pool
        await until(lambda: self.free_holders() == self.size and pool.get_idle_size() == pool.get_size())

    async def assert_clean(self, *keys: str, later: bool = True) -> None:
        """Nothing leaked; then (`later`) each key's next request succeeds, in both kinds of borrow, and takes its
        share again."""
        await self.settle()
        db = self.db
        assert db.waiting == 0
        assert db.share._shares == {}
        assert [db.share.in_use(key) for key in keys] == [0] * len(keys)
        assert not _holding.get()
        if not later:
            return
        expected = 1 if db.share.limit > 0 else 0

        for key in keys or ("later",):

            async def next_request(key: str = key) -> None:
                async with db.connection() as conn:
                    assert await conn.fetchval("SELECT 1") == 1
                    assert db.share.in_use(key) == expected
                async with db.transaction() as conn:
                    assert await conn.fetchval("SELECT 2") == 2
                    assert db.share.in_use(key) == expected
                assert not _holding.get()

            await spawn(key, next_request)
        await self.settle()
        assert db.waiting == 0
        assert db.share._shares == {}


@asynccontextmanager
async def rig(
    url: str,
    *,
    limit: int = 2,
    wait: float = 2.0,
    min_size: int = 1,
    max_size: int = 4,
    pooled: Settings | None = None,
    reset: Callable[[Any], Coroutine[Any, Any, None]] | None = None,
    setup: Callable[[Any], Coroutine[Any, Any, None]] | None = None,
    connect_timeout: float = 5.0,
) -> AsyncIterator[Rig]:
    """A Database over a pool of its own, as `Database.connect` makes it (the same init and reset), with hooks into
    the pool's acquire (`setup`) and release (`reset`) to stop a borrow exactly there; `pooled`: in pooler mode."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=db_module._init_connection,
        reset=reset or db_module._reset_connection,
        setup=setup,
        timeout=connect_timeout,
    )
    db = Database(
        pool,
        transaction_settings=None if pooled is None else transaction_settings(pooled),
        share=FairShare(limit, wait),
    )
    errors: list[BaseException] = []
    db.on_error = errors.append
    try:
        yield Rig(db, errors, max_size)
    finally:
        pool.terminate()


@asynccontextmanager
async def service_rig(settings: Settings, **changes: Any) -> AsyncIterator[Rig]:
    """The Database the service opens (`Database.connect`) with `changes` to its settings."""
    changed = replace(settings, **changes)
    assert changed.database_url is not None
    db = await Database.connect(changed, changed.database_url)
    errors: list[BaseException] = []
    db.on_error = errors.append
    try:
        yield Rig(db, errors, changed.pool_max_size)
    finally:
        db.pool.terminate()


# ---------------------------------------------------------------------------- cancellation while waiting for the share


def test_waiters_cancelled_while_waiting_for_the_share_lose_no_permit(database_url: str) -> None:
    async def main() -> None:
        async with rig(database_url, limit=2, wait=5, max_size=4) as r:
            db, tenant = r.db, new_tenant()
            gate = asyncio.Event()
            most = inside = 0

            async def use() -> None:
                nonlocal most, inside
                async with db.connection() as conn:
                    inside += 1
                    most = max(most, db.share.in_use(tenant))
                    await gate.wait()
                    assert await conn.fetchval("SELECT 1") == 1

            holders = [spawn(tenant, use) for _ in range(2)]
            await until(lambda: inside == 2)  # both have their connection
            waiters = [spawn(tenant, use) for _ in range(20)]
            await until(lambda: r.users(tenant) == 22)
            assert db.waiting == 0  # they wait for the share, not for the pool
            cancelled = waiters[::2]
            for task in cancelled:
                task.cancel()
            await asyncio.wait(cancelled)
            assert all(task.cancelled() for task in cancelled)
            assert (r.users(tenant), db.share.in_use(tenant)) == (12, 2)

            gate.set()
            await asyncio.gather(*holders, *waiters[1::2])  # every remaining waiter gets in, none gets a 429
            assert most == 2
            assert r.errors == []
            await r.assert_clean(tenant)

    run(main)


def test_a_waiter_cancelled_just_as_its_permit_is_granted_passes_the_permit_on(database_url: str) -> None:
    async def main() -> None:
        async with rig(database_url, limit=1, wait=2, max_size=3) as r:
            db, tenant = r.db, new_tenant()

            async def quick() -> str:
                async with db.connection() as conn:
                    await conn.fetchval("SELECT 1")
                return "ok"

            token = bind_request(request_path(tenant))
            try:
                async with db.connection():
                    first, second = spawn(tenant, quick), spawn(tenant, quick)
                    await until(lambda: r.users(tenant) == 3)
                # The release just handed the permit to `first`, which has not run yet: cancel it now.
                semaphore = db.share._shares[tenant].semaphore
                assert semaphore._value == 0
                assert semaphore._waiters is not None
                assert semaphore._waiters[0].done()
                first.cancel()
            finally:
                unbind_request(token)
            await asyncio.wait([first])
            assert first.cancelled()
            # The permit went on to `second`; lost, `second` would wait its 2 s and answer 429.
            assert await second == "ok"
            await r.assert_clean(tenant)

    run(main)


@pytest.mark.parametrize("wait", [0.0, 5.0])
def test_a_cancelled_waiter_is_cancelled_not_refused_even_when_its_timer_fires_too(
    database_url: str, wait: float
) -> None:
    """The share's timeout turns only its own cancellation into a 429; a request cancelled from outside (its client
    went away) stays cancelled, also when the wait's timer fires in the same loop iteration (wait 0)."""

    async def main() -> None:
        async with rig(database_url, limit=1, wait=wait, max_size=2) as r:
            db, tenant = r.db, new_tenant()
            gate = asyncio.Event()

            async def hold() -> None:
                async with db.connection():
                    await gate.wait()

            async def wait_for_share() -> None:
                async with db.connection():
                    pytest.fail("got in while the share was held")

            holder = spawn(tenant, hold)
            await until(lambda: db.share.in_use(tenant) == 1)
            for _ in range(5):
                waiter = spawn(tenant, wait_for_share)
                await asyncio.sleep(0)  # the waiter enters and arms its timer
                waiter.cancel()
                await asyncio.wait([waiter])
                assert waiter.cancelled()
                assert r.users(tenant) == 1
            gate.set()
            await holder
            await r.assert_clean(tenant)

    run(main)


# --------------------------------------------------------------------------------------------- 429s under many waiters


def test_many_waiters_past_the_share_get_429_and_other_tenants_are_not_held_up(database_url: str) -> None:
    async def main() -> None:
        async with rig(database_url, limit=2, wait=0.2, min_size=2, max_size=8) as r:
            db, tenant = r.db, new_tenant()
            others = [new_tenant() for _ in range(3)]
            gate = asyncio.Event()

            async def hold() -> None:
                async with db.connection():
                    await gate.wait()

            async def statement() -> int:
                async with db.connection() as conn:
                    value = await conn.fetchval("SELECT 7")
                    assert isinstance(value, int)
                    return value

            holders = [spawn(tenant, hold) for _ in range(2)]
            await until(lambda: db.share.in_use(tenant) == 2)
            started = time.monotonic()
            waiters = [spawn(tenant, statement) for _ in range(40)]
            elsewhere = [spawn(other, statement) for other in others for _ in range(2)]
            refused = await asyncio.gather(*waiters, return_exceptions=True)
            elapsed = time.monotonic() - started
            assert await asyncio.gather(*elsewhere) == [7] * 6
            assert all(isinstance(answer, TooManyRequests) for answer in refused), refused
            assert {
                (e.status, e.retry_after, (e.headers or {}).get("Retry-After"))
                for e in refused
                if isinstance(e, TooManyRequests)
            } == {(429, 1, "1")}
            assert f"tenant '{tenant}'" in str(refused[0])
            assert 0.2 <= elapsed < 5
            assert (r.users(tenant), db.share.in_use(tenant), sorted(db.share._shares)) == (2, 2, [tenant])
            assert r.errors == []  # a 429 is no database error
            gate.set()
            await asyncio.gather(*holders)
            await r.assert_clean(tenant, *others)

    run(main)


def test_timeouts_racing_releases_and_cancellations_keep_the_permit_count_exact(database_url: str) -> None:
    """Rounds in which the holders release right when the waiters' timers fire, some waiters are cancelled, and one
    connection stays held all along (so the share, its semaphore included, is never dropped and made anew): after
    every round the semaphore has exactly the permits that are not held, and no more than the share was ever held."""

    async def main() -> None:
        limit = 3
        async with rig(database_url, limit=limit, wait=0.03, min_size=4, max_size=6) as r:
            db, tenant = r.db, new_tenant()
            most = 0
            anchored = asyncio.Event()
            done = asyncio.Event()

            async def anchor() -> None:
                async with db.connection():
                    anchored.set()
                    await done.wait()

            async def use(hold: float) -> str:
                nonlocal most
                async with db.connection() as conn:
                    most = max(most, db.share.in_use(tenant))
                    await asyncio.sleep(hold)
                    await conn.fetchval("SELECT 1")
                return "ok"

            anchoring = spawn(tenant, anchor)
            await anchored.wait()
            outcomes: dict[str, int] = {"ok": 0, "429": 0, "cancelled": 0}
            for round_ in range(8):
                holders = [spawn(tenant, lambda: use(0.03)) for _ in range(limit - 1)]
                await until(lambda: db.share.in_use(tenant) == limit)
                waiters = [spawn(tenant, lambda: use(0.001)) for _ in range(30)]
                await asyncio.sleep(0.005 * round_)
                for task in waiters[round_ % 3 :: 4]:
                    task.cancel()
                answers = await asyncio.gather(*holders, *waiters, return_exceptions=True)
                for answer in answers:
                    if answer == "ok":
                        outcomes["ok"] += 1
                    elif isinstance(answer, TooManyRequests):
                        outcomes["429"] += 1
                    else:
                        assert isinstance(answer, asyncio.CancelledError), answer
                        outcomes["cancelled"] += 1
                share = db.share._shares[tenant]
                assert (share.users, share.held, share.semaphore._value) == (1, 1, limit - 1), round_
                assert not share.semaphore._waiters
            assert most <= limit
            assert outcomes["ok"] >= 8 * (limit - 1), outcomes
            assert outcomes["429"] > 0, outcomes
            assert outcomes["cancelled"] > 0, outcomes
            done.set()
            await anchoring
            assert r.errors == []
            await r.assert_clean(tenant)

    run(main)


# ----------------------------------- cancellation while acquiring from the pool, inside the block, and while releasing


@pytest.mark.parametrize("kind", ["connection", "transaction"])
def test_cancelled_while_waiting_for_an_exhausted_pool(database_url: str, kind: str) -> None:
    async def main() -> None:
        async with rig(database_url, limit=2, wait=5, min_size=1, max_size=1) as r:
            db, tenant, other = r.db, new_tenant(), new_tenant()
            gate = asyncio.Event()
            held = asyncio.Event()

            async def hold() -> None:
                async with db.connection():
                    held.set()
                    await gate.wait()

            async def statement() -> None:
                async with borrow(db, kind) as conn:
                    await conn.fetchval("SELECT 1")

            holder = spawn(other, hold)
            await held.wait()  # the pool's only connection is taken
            victims = [spawn(tenant, statement) for _ in range(2)]
            survivor = spawn(tenant, statement)
            await until(lambda: db.waiting == 2 and r.users(tenant) == 3)
            assert db.share.in_use(tenant) == 2  # two wait for the pool, the third for the share
            for task in victims:
                task.cancel()
            await asyncio.wait(victims)
            assert all(task.cancelled() for task in victims)
            await until(lambda: db.waiting == 1)  # the survivor took a freed share and waits for the pool
            assert (db.share.in_use(tenant), r.users(tenant), db.share.in_use(other)) == (1, 1, 1)
            gate.set()
            await asyncio.gather(holder, survivor)
            assert r.errors == []
            await r.assert_clean(tenant, other)

    run(main)


def test_cancelled_while_the_pool_sets_a_connection_up(database_url: str) -> None:
    """The pool's acquire stopped in its `setup` step (after connecting): a cancellation there gives the holder back."""
    entered = asyncio.Event()
    gate = asyncio.Event()

    async def setup(conn: Any) -> None:
        entered.set()
        await gate.wait()

    async def main() -> None:
        async with rig(database_url, limit=1, wait=5, min_size=1, max_size=2, setup=setup) as r:
            db, tenant = r.db, new_tenant()
            for kind in KINDS[::2]:
                entered.clear()

                async def statement(kind: str = kind) -> None:
                    async with borrow(db, kind) as conn:
                        await conn.fetchval("SELECT 1")

                task = spawn(tenant, statement)
                await entered.wait()
                assert (db.waiting, db.share.in_use(tenant)) == (1, 1)
                task.cancel()
                await asyncio.wait([task])
                assert task.cancelled()
                assert (db.waiting, db.share.in_use(tenant), db.share._shares) == (0, 0, {})
            gate.set()
            assert r.errors == []
            await r.assert_clean(tenant)

    run(main)


@pytest.mark.parametrize("kind", KINDS)
def test_cancelled_inside_the_block_during_a_statement(database_url: str, settings: Settings, kind: str) -> None:
    async def main() -> None:
        pooled = settings if kind == "pooled connection" else None
        async with rig(database_url, limit=1, wait=5, min_size=1, max_size=2, pooled=pooled) as r:
            db, tenant = r.db, new_tenant()
            running = asyncio.Event()

            async def slow() -> None:
                async with borrow(db, kind) as conn:
                    running.set()
                    await conn.fetchval("SELECT pg_sleep(30)")

            async def next_in_line() -> None:
                async with borrow(db, kind) as conn:
                    await conn.fetchval("SELECT 1")

            task = spawn(tenant, slow)
            await running.wait()
            await asyncio.sleep(0.05)  # the statement is running on the server
            waiter = spawn(tenant, next_in_line)
            await until(lambda: r.users(tenant) == 2)
            started = time.monotonic()
            task.cancel()
            await asyncio.wait([task])
            assert task.cancelled()
            await waiter  # got the share the cancelled block gave back
            await r.settle()
            assert time.monotonic() - started < 5  # the statement was cancelled on the server, not waited for
            assert r.errors == []
            await r.assert_clean(tenant)

    run(main)


@pytest.mark.parametrize("failure", [None, "reset", "block and reset"])
def test_cancelled_or_failing_while_releasing(database_url: str, failure: str | None) -> None:
    """The release stopped in the pool's reset step: cancelling the borrower there frees its share at once (the pool
    finishes the release in the background); a release that fails is reported and frees the share too."""
    entered = asyncio.Event()
    gate = asyncio.Event()
    failing = [False]

    async def reset(conn: Connection) -> None:
        entered.set()
        await gate.wait()
        if failing[0]:
            raise RuntimeError("reset failed")
        await db_module._reset_connection(conn)

    async def main() -> None:
        async with rig(database_url, limit=1, wait=5, min_size=1, max_size=1, reset=reset) as r:
            db, tenant = r.db, new_tenant()

            async def statement() -> None:
                async with db.connection() as conn:
                    await conn.execute("BEGIN")  # left open: the release must roll it back
                    if failure == "block and reset":
                        raise ValueError("the block failed")

            task = spawn(tenant, statement)
            await entered.wait()
            assert db.share.in_use(tenant) == 1  # the slot is held until the connection is released
            if failure is None:
                task.cancel()
                await asyncio.wait([task])
                assert task.cancelled()
                assert (db.share.in_use(tenant), db.share._shares, db.waiting) == (0, {}, 0)
                assert r.free_holders() == 0  # still being released, shielded from the cancellation
                gate.set()
                await r.settle()
                assert r.errors == []
            else:
                failing[0] = True
                gate.set()
                with pytest.raises(RuntimeError, match="reset failed") as raised:
                    await task
                assert any(e is raised.value for e in r.errors)
                if failure == "block and reset":
                    assert isinstance(raised.value.__context__, ValueError)
                failing[0] = False
            entered.clear()

            async def in_transaction() -> bool:
                async with db.connection() as conn:
                    return conn.is_in_transaction()

            assert await spawn(tenant, in_transaction) is False  # the next borrower gets a clean connection
            await r.assert_clean(tenant)

    run(main)


@pytest.mark.parametrize("kind", KINDS)
def test_cancellation_swept_over_every_loop_step_of_a_borrow(database_url: str, settings: Settings, kind: str) -> None:
    """A request of a tenant whose share is busy, cancelled after 0, 1, 2, … loop steps: wherever that lands
    (waiting for the share, the pool, the BEGIN, the statements, the COMMIT or ROLLBACK, the release), nothing leaks
    and the tenant's other requests go on."""

    async def main() -> None:
        pooled = settings if kind == "pooled connection" else None
        async with rig(database_url, limit=1, wait=5, min_size=2, max_size=3, pooled=pooled) as r:
            db, tenant = r.db, new_tenant()
            outcomes: set[str] = set()

            async def request(hold: int) -> None:
                async with borrow(db, kind) as conn:
                    for _ in range(hold):
                        await asyncio.sleep(0)
                    await conn.fetchval("SELECT 1")
                    await conn.fetchval("SELECT 2")

            for steps in range(40):
                before = spawn(tenant, functools.partial(request, steps % 4))  # the share is busy a few steps
                victim = spawn(tenant, functools.partial(request, 1))
                after = spawn(tenant, functools.partial(request, 0))
                for _ in range(steps):
                    await asyncio.sleep(0)
                victim.cancel()
                await asyncio.gather(before, after)
                await asyncio.wait([victim])
                outcomes.add("cancelled" if victim.cancelled() else "finished")
                await r.settle()
                assert (db.waiting, db.share._shares) == (0, {}), steps
            assert "cancelled" in outcomes
            assert r.errors == []
            await r.assert_clean(tenant)

    run(main)


# ----------------------------------------------------------------------------------------- exceptions inside the block


@pytest.mark.parametrize("kind", KINDS)
def test_an_exception_in_the_block_is_reported_once_and_only_a_success_ends_an_outage(
    database_url: str, settings: Settings, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        pooled = settings if kind == "pooled connection" else None
        async with rig(database_url, limit=1, wait=5, min_size=1, max_size=1, pooled=pooled) as r:
            db, tenant = r.db, new_tenant()
            monkeypatch.setattr(OUTAGE, "since", time.monotonic())  # a logged outage, which only a success ends
            raised: list[BaseException] = []

            async def failing(error: str) -> None:
                try:
                    async with borrow(db, kind) as conn:
                        if error == "python":
                            raise ValueError("the block failed")
                        await conn.fetchval("SELECT 1 / 0")
                except Exception as exc:
                    raised.append(exc)

            await spawn(tenant, functools.partial(failing, "python"))
            await spawn(tenant, functools.partial(failing, "sql"))
            assert isinstance(raised[0], ValueError)
            assert isinstance(raised[1], asyncpg.DivisionByZeroError)
            assert [id(e) for e in r.errors] == [id(e) for e in raised]  # each reported once, as raised
            assert OUTAGE.since is not None
            assert (db.waiting, db.share._shares) == (0, {})

            async def succeeding() -> None:
                async with borrow(db, kind) as conn:
                    assert not conn.is_in_transaction() if kind == "connection" else conn.is_in_transaction()

            await spawn(tenant, succeeding)
            assert OUTAGE.since is None
            assert len(r.errors) == 2
            await r.assert_clean(tenant)

    run(main)


def test_a_failed_write_is_rolled_back_and_its_share_freed(database_url: str) -> None:
    async def main() -> None:
        async with rig(database_url, limit=1, wait=1, min_size=1, max_size=1) as r:
            db, tenant = r.db, new_tenant()

            async def write_then_fail() -> None:
                async with db.transaction() as conn:
                    await conn.execute("CREATE TEMPORARY TABLE attack_rollback (n int)")
                    raise KeyError("after the write")

            with pytest.raises(KeyError):
                await spawn(tenant, write_then_fail)

            async def exists() -> object:
                async with db.connection() as conn:
                    return await conn.fetchval("SELECT to_regclass('pg_temp.attack_rollback')")

            assert await spawn(tenant, exists) is None
            assert [type(e) for e in r.errors] == [KeyError]
            await r.assert_clean(tenant)

    run(main)


# --------------------------------------------------------------------------------------- nested borrows in one request


@pytest.mark.parametrize("pooled", [False, True])
def test_nested_borrows_take_no_second_share_and_the_flag_is_cleared_after(
    database_url: str, settings: Settings, pooled: bool
) -> None:
    async def main() -> None:
        async with rig(database_url, limit=1, wait=3, min_size=2, max_size=4, pooled=settings if pooled else None) as r:
            db, tenant = r.db, new_tenant()
            other_request_ran = asyncio.Event()

            async def other_request() -> None:
                async with db.connection() as conn:
                    await conn.fetchval("SELECT 1")
                other_request_ran.set()

            async def request() -> None:
                async with db.connection() as outer:
                    waiting = spawn(tenant, other_request)
                    await until(lambda: r.users(tenant) == 2)
                    async with db.connection() as inner:
                        assert inner is not outer
                        assert db.share.in_use(tenant) == 1
                        async with db.transaction() as innermost:
                            assert await innermost.fetchval("SELECT 3") == 3
                            assert db.share.in_use(tenant) == 1
                    with pytest.raises(asyncpg.DivisionByZeroError):
                        async with db.transaction() as inner:
                            await inner.fetchval("SELECT 1 / 0")
                    with pytest.raises(ValueError, match="inner"):
                        async with db.connection():
                            raise ValueError("inner")
                    assert _holding.get()  # a failed inner borrow leaves the outer one's flag alone
                    assert db.share.in_use(tenant) == 1
                    assert not other_request_ran.is_set()
                    assert await outer.fetchval("SELECT 4") == 4
                assert not _holding.get()
                await waiting
                # Later borrows of the same request take the share again.
                async with db.connection():
                    assert db.share.in_use(tenant) == 1
                    assert _holding.get()
                assert not _holding.get()

            await spawn(tenant, request)
            assert other_request_ran.is_set()
            assert [type(e) for e in r.errors] == [asyncpg.DivisionByZeroError, ValueError]
            await r.assert_clean(tenant)

    run(main)


def test_a_request_cancelled_inside_a_nested_borrow_releases_both(database_url: str) -> None:
    async def main() -> None:
        async with rig(database_url, limit=1, wait=3, min_size=2, max_size=3) as r:
            db, tenant = r.db, new_tenant()
            inside = asyncio.Event()

            async def request() -> None:
                async with db.transaction(), db.connection() as inner:
                    inside.set()
                    await inner.fetchval("SELECT pg_sleep(30)")

            task = spawn(tenant, request)
            await inside.wait()
            assert (db.share.in_use(tenant), r.free_holders()) == (1, 1)
            task.cancel()
            await asyncio.wait([task])
            assert task.cancelled()
            assert r.errors == []
            await r.assert_clean(tenant)

    run(main)


# ------------------------------------------------------------------------------------------------ many tenants at once


def test_many_tenants_at_once_with_failures_and_cancellations(settings: Settings) -> None:
    async def main() -> None:
        async with service_rig(
            settings, tenant_pool_share=2, tenant_pool_wait_ms=10_000, pool_min_size=2, pool_max_size=10
        ) as r:
            db = r.db
            tenants = [new_tenant() for _ in range(25)]
            most: dict[str, int] = dict.fromkeys(tenants, 0)
            held = 0
            most_held = 0

            async def request(tenant: str, number: int) -> str:
                nonlocal held, most_held
                async with borrow(db, "transaction" if number % 3 == 0 else "connection") as conn:
                    held += 1
                    most_held = max(most_held, held)
                    most[tenant] = max(most[tenant], db.share.in_use(tenant))
                    try:
                        await conn.fetchval("SELECT pg_sleep(0.005)")
                        if number % 7 == 3:
                            raise ValueError("the block failed")
                    finally:
                        held -= 1
                return "ok"

            tasks = [spawn(t, functools.partial(request, t, n)) for t in tenants for n in range(6)]
            await asyncio.sleep(0.02)
            for task in tasks[5::11]:
                task.cancel()
            answers = await asyncio.gather(*tasks, return_exceptions=True)
            kinds = {type(answer).__name__ for answer in answers}
            assert kinds <= {"str", "ValueError", "CancelledError"}, kinds
            assert {"str", "ValueError"} <= kinds, kinds
            assert max(most.values()) == 2  # each tenant got, and kept to, its share
            assert most_held <= 10
            assert all(isinstance(e, ValueError) for e in r.errors)
            assert len(r.errors) == sum(isinstance(a, ValueError) for a in answers)
            await r.assert_clean(*tenants[:3])

    run(main)


# -------------------------------------------------------------------- a database that refuses, never answers, or stops


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://nobody@127.0.0.1:{port}/nothing"


@asynccontextmanager
async def silent_server(hang_up: bool = False) -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers them (or hangs up at once)."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if hang_up:
            writer.close()
        else:
            writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql://nobody@127.0.0.1:{port}/nothing?sslmode=disable"
    finally:
        for writer in writers:
            writer.close()
        server.close()


def test_a_refusing_database_fails_every_borrow_and_leaks_nothing() -> None:
    async def main() -> None:
        async with rig(refused_url(), limit=2, wait=5, min_size=0, max_size=3) as r:
            db = r.db
            tenants = [new_tenant() for _ in range(3)]

            async def statement(kind: str) -> None:
                async with borrow(db, kind) as conn:
                    await conn.fetchval("SELECT 1")

            tasks = [spawn(t, functools.partial(statement, k)) for t in tenants for k in KINDS[::2] * 3]
            answers = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(a, OSError) and is_connection_failure(a) for a in answers), answers
            assert sorted(map(id, r.errors)) == sorted(map(id, answers))  # each failure reported, once
            await r.assert_clean(*tenants, later=False)

    run(main)


@pytest.mark.parametrize("hang_up", [False, True])
def test_a_database_that_never_answers_or_hangs_up(hang_up: bool) -> None:
    """Connecting hangs: a borrow stuck there holds its share (the tenant's next request answers 429 after its
    wait) and counts as waiting; cancelled, it gives both back; left to the connect timeout, or hung up on, it fails
    and is reported."""

    async def main() -> None:
        async with (
            silent_server(hang_up) as url,
            rig(url, limit=1, wait=0.1, min_size=0, max_size=2, connect_timeout=1.0) as r,
        ):
            db, tenant = r.db, new_tenant()

            async def statement() -> None:
                async with db.connection() as conn:
                    await conn.fetchval("SELECT 1")

            stuck = spawn(tenant, statement)
            if not hang_up:
                await until(lambda: db.waiting == 1)
                assert db.share.in_use(tenant) == 1
                with pytest.raises(TooManyRequests):
                    await spawn(tenant, statement)
                stuck.cancel()
                await asyncio.wait([stuck])
                assert stuck.cancelled()
                assert (db.waiting, db.share._shares, r.errors) == (0, {}, [])
                stuck = spawn(tenant, statement)  # now left to its connect timeout
            with pytest.raises(Exception) as raised:  # noqa: PT011  # any connection failure
                await stuck
            assert is_connection_failure(raised.value), repr(raised.value)
            assert r.errors == [raised.value]
            await r.assert_clean(tenant, later=False)

    run(main)


@pytest.fixture(scope="module")
def stoppable() -> Iterator[StoppablePostgres]:
    postgres = StoppablePostgres(Path(tempfile.mkdtemp(prefix="borrow-attacks-")))
    try:
        yield postgres
    finally:
        postgres.close()


def test_a_database_stopped_under_running_borrows(stoppable: StoppablePostgres) -> None:
    async def main() -> None:
        async with rig(stoppable.url, limit=2, wait=5, min_size=2, max_size=3) as r:
            db = r.db
            tenants = [new_tenant() for _ in range(3)]
            running = asyncio.Event()

            async def slow() -> None:
                async with db.transaction() as conn:
                    running.set()
                    await conn.fetchval("SELECT pg_sleep(30)")

            async def statement(kind: str) -> None:
                async with borrow(db, kind) as conn:
                    await conn.fetchval("SELECT 1")

            await r.assert_clean(*tenants)  # up and running
            in_flight = spawn(tenants[0], slow)
            await running.wait()
            await asyncio.sleep(0.05)
            await asyncio.to_thread(stoppable.stop)
            try:
                with pytest.raises(Exception) as raised:  # noqa: PT011  # any connection failure
                    await in_flight
                assert is_connection_failure(raised.value), repr(raised.value)
                tasks = [spawn(t, functools.partial(statement, k)) for t in tenants for k in KINDS[::2] * 2]
                answers = await asyncio.gather(*tasks, return_exceptions=True)
                assert all(isinstance(a, Exception) and is_connection_failure(a) for a in answers), answers
                assert len(r.errors) >= 1 + len(answers)
                assert all(is_connection_failure(e) for e in r.errors), r.errors
                await r.assert_clean(*tenants, later=False)
            finally:
                await asyncio.to_thread(stoppable.start)
            await r.assert_clean(*tenants)  # recovered by itself

    run(main)


def test_a_slot_left_in_another_context_still_gives_its_permit_back() -> None:
    """An exit in another context than the entry (the context variable cannot be reset there) still gives the
    permit back and drops the share."""

    async def attack() -> None:
        fair = FairShare(2, 1.0)
        token = bind_request("/product/t1/x")
        try:
            slot = fair.slot()
            await slot.__aenter__()
            assert fair.in_use("t1") == 1
            await asyncio.create_task(slot.__aexit__(None, None, None), context=contextvars.copy_context())
            assert fair.in_use("t1") == 0
            assert not fair._shares
        finally:
            unbind_request(token)

    asyncio.run(attack())
