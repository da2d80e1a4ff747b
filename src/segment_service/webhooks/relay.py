"""The webhook relay: one per process that delivers (every `serve` worker unless `--no-deliver`, and
`segment-service deliver`), all cooperating through the database (docs/webhooks.md#delivery).

Three loops share one database pool:
- the **dispatcher** turns outbox rows into deliveries (one relay at a time, webhooks/relay_store.py);
- the **deliverer** claims due deliveries up to its concurrency and sends each (webhooks/sender.py);
- the **recorder** writes the attempts' outcomes in batches.
Each polls every `webhook_poll_ms` while idle and goes on at once while there is work. A database that is down
makes a loop log once and try again after a pause; the relay never stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from segment_service.core import events
from segment_service.core.db import Connection, Database
from segment_service.core.events import EventRegistry
from segment_service.settings import Settings
from segment_service.webhooks import catalogue, dispatch_store, relay_store
from segment_service.webhooks.dispatch import deliveries_for
from segment_service.webhooks.dispatch_store import Rendered
from segment_service.webhooks.outbox import decode_events
from segment_service.webhooks.relay_store import Claimed, Outcome
from segment_service.webhooks.sender import Attempt, Sender

log = logging.getLogger("segment_service.webhooks")

#: Outbox rows (writes) one dispatch takes.
DISPATCH_ROWS = 100
#: Deliveries of one ordering key one claim takes, sent one after the other.
CHAIN = 50
#: The pause after a loop's database error.
ERROR_PAUSE_SECONDS = 1.0
#: How often old events and their delivery log are purged.
PURGE_EVERY_SECONDS = 600.0


async def dispatch_once(db: Database, registry: EventRegistry, limit: int = DISPATCH_ROWS) -> tuple[int, int]:
    """Turn up to `limit` outbox rows into published events (payloads rendered now, by the owning services'
    builders) and their deliveries, one relay at a time; (rows taken, deliveries made)."""
    async with db.connection() as conn:
        if not await dispatch_store.has_outbox(conn):
            return 0, 0
    async with db.transaction() as conn:
        if not await dispatch_store.try_dispatch_lock(conn):
            return 0, 0
        rows = await dispatch_store.claim_outbox(conn, limit)
        if not rows:
            return 0, 0
        setups = await dispatch_store.tenant_setups(conn, sorted({row.tenant for row in rows}))
        rendered = await _render(conn, registry, rows, setups)
        published = await dispatch_store.insert_events(conn, rendered)
        deliveries = [d for event in published for d in deliveries_for(event, setups.get(event.tenant))]
        await dispatch_store.insert_deliveries(conn, deliveries)
        await dispatch_store.delete_outbox(conn, [row.seq for row in rows])
    return len(rows), len(deliveries)


async def _render(
    conn: Connection,
    registry: EventRegistry,
    rows: list[dispatch_store.OutboxRow],
    setups: dict[str, dispatch_store.TenantSetup],
) -> list[Rendered]:
    """The events of the rows, in order, with their payloads: those a write rendered (it checked the subscription
    when it committed) as they are; of a bulk write's, those its tenant receives now (an active configuration,
    subscribed to the type), rendered now with one builder call per tenant and event type."""
    decoded = [
        (row, event, payload)
        for row in rows
        for event, payload in decode_events(registry, row.events)
        # A small write chose its events when it committed; a bulk write's are chosen now.
        if payload is not None or (row.tenant in setups and event.catalogue_name in setups[row.tenant].subscribed)
    ]
    payloads: list[dict[str, Any]] = [item[2] or {} for item in decoded]
    # Events a bulk write left unrendered, by tenant: their payloads are rendered now.
    by_tenant: dict[str, list[int]] = {}
    for index, (row, _, payload) in enumerate(decoded):
        if payload is None:
            by_tenant.setdefault(row.tenant, []).append(index)
    for indexes in by_tenant.values():
        batch = [decoded[i][1] for i in indexes]
        for index, payload in zip(indexes, await registry.payloads(conn, batch), strict=True):
            payloads[index] = payload
    rendered = []
    for (row, event, _), payload in zip(decoded, payloads, strict=True):
        event_type = event.catalogue_name or ""
        fields = catalogue.fields_of(event_type)
        # The catalogue's schema is the contract: a field the rendered document has beyond it is left out.
        kept = {key: value for key, value in payload.items() if key in fields}
        rendered.append(Rendered(str(uuid.uuid4()), row.tenant, event_type, event.ordering_key(), kept, row.created_at))
    return rendered


def next_delay(schedule: tuple[float, ...], attempt: int) -> float | None:
    """The delay before the attempt after `attempt` (1-based), or None when `attempt` was the last one."""
    return schedule[attempt - 1] if attempt <= len(schedule) else None


class Relay:
    """Delivers the outbox of every tenant; `run()` until cancelled or `stop()`."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        sender: Sender | None = None,
        registry: EventRegistry = events.registry,
    ) -> None:
        self._db = db
        self._registry = registry
        self._schedule = settings.webhook_retry_schedule
        self._poll = settings.webhook_poll_ms / 1000
        self._concurrency = settings.webhook_concurrency
        self._retention_days = settings.webhook_retention_days
        # Longer than any attempt can take, so that only a relay that died loses its claim.
        self._lease = settings.webhook_timeout_seconds * 1.5 + 5
        self._sender = sender or Sender(
            timeout_seconds=settings.webhook_timeout_seconds,
            public_only=settings.webhook_public_only,
            concurrency=settings.webhook_concurrency,
        )
        self._in_flight: set[asyncio.Task[None]] = set()
        self._per_tenant: Counter[str] = Counter()
        #: The chains one tenant may have in flight at once (a quarter of the slots, at least one).
        self._tenant_share = max(1, settings.webhook_concurrency // 4)
        self._outcomes: list[Outcome] = []
        self._releases: list[int] = []
        self._deliver_wake = asyncio.Event()
        self._record_wake = asyncio.Event()
        self._stopping = False
        self._failing: set[str] = set()

    async def run(self) -> None:
        loops = [
            asyncio.create_task(self._loop("dispatch", self._dispatch_once)),
            asyncio.create_task(self._loop("deliver", self._deliver_once, wake=self._deliver_wake)),
            asyncio.create_task(self._loop("record", self._record_once, wake=self._record_wake)),
            asyncio.create_task(self._loop("purge", self._purge_once, idle=PURGE_EVERY_SECONDS)),
        ]
        try:
            await asyncio.gather(*loops)
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._shutdown()

    async def _shutdown(self) -> None:
        """Let attempts in flight finish briefly, record what finished, give back the leases of the rest."""
        self._stopping = True
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=2.0)
        unfinished = [t for t in self._in_flight if not t.done()]
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._record_once()
        await self._sender.close()

    async def _loop(
        self, name: str, step: Callable[[], Awaitable[bool]], *, wake: asyncio.Event | None = None, idle: float = 0.0
    ) -> None:
        """Run `step` again at once while it finds work; otherwise after the poll interval (or `wake`)."""
        while True:
            try:
                busy = await step()
                if name in self._failing:
                    self._failing.discard(name)
                    log.info("webhook relay: %s works again", name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if name not in self._failing:
                    self._failing.add(name)
                    log.warning("webhook relay: %s failed (%s: %s); trying again", name, type(exc).__name__, exc)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if busy:
                await asyncio.sleep(0)
                continue
            pause = idle or self._poll
            if wake is None:
                await asyncio.sleep(pause)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), pause)
                wake.clear()

    async def _dispatch_once(self) -> bool:
        rows, deliveries = await dispatch_once(self._db, self._registry)
        if deliveries:
            self._deliver_wake.set()
        return rows == DISPATCH_ROWS

    async def _deliver_once(self) -> bool:
        free = self._concurrency - len(self._in_flight)
        if free <= 0 or self._stopping:
            return False
        # A tenant whose destinations are slow holds at most its share of the slots; the others' events go on.
        busy = [tenant for tenant, count in self._per_tenant.items() if count >= self._tenant_share]
        async with self._db.connection() as conn:
            claimed = await relay_store.claim_deliveries(conn, free, self._lease, CHAIN, skip_tenants=busy)
            chains: list[list[Claimed]] = []
            over: list[int] = []
            taken: Counter[str] = Counter()
            for chain in claimed:
                tenant = chain[0].tenant
                if self._per_tenant[tenant] + taken[tenant] < self._tenant_share:
                    taken[tenant] += 1
                    chains.append(chain)
                else:
                    over.extend(link.seq for link in chain)
            if over:  # beyond the tenant's share: back for a later claim
                await relay_store.release(conn, over)
        for chain in chains:
            tenant = chain[0].tenant
            self._per_tenant[tenant] += 1
            task = asyncio.create_task(self._attempt_chain(chain))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            task.add_done_callback(functools.partial(self._chain_done, tenant))
        return len(claimed) == free and not over

    def _chain_done(self, tenant: str, _: asyncio.Task[None]) -> None:
        self._per_tenant[tenant] -= 1
        if self._per_tenant[tenant] <= 0:
            del self._per_tenant[tenant]

    async def _attempt_chain(self, chain: list[Claimed]) -> None:
        """Send a key's deliveries one after the other; the first that fails ends the chain, and the rest go back
        (they wait for it, to keep the key's order)."""
        rest: list[Claimed] = []
        for index, delivery in enumerate(chain):
            if self._stopping:
                rest = chain[index:]
                break
            try:
                delivered = await self._attempt(delivery)
            except asyncio.CancelledError:
                # The relay is stopping: this attempt and the rest go back (the receiver may get this one again).
                self._releases.extend(link.seq for link in chain[index:])
                raise
            if not delivered:
                rest = chain[index + 1 :]
                break
        if rest:
            self._releases.extend(link.seq for link in rest)
            self._record_wake.set()

    async def _attempt(self, delivery: Claimed) -> bool:
        """One attempt, its outcome queued for the recorder; whether it delivered."""
        try:
            result = await self._sender.send(delivery)
        except Exception as exc:  # a failure of the sender itself still ends the attempt, never the lease's wait
            log.exception("webhook relay: attempt %s of delivery %s failed unexpectedly", delivery.attempt, delivery.id)
            result = Attempt()
            result.error = f"{type(exc).__name__}: {exc}"[:500]
        code = result.status_code
        ok = code is not None and 200 <= code < 300
        gone = code == 410
        delay = None if ok or gone or delivery.replay else next_delay(self._schedule, delivery.attempt)
        status = "DELIVERED" if ok else ("PENDING" if delay is not None else "FAILED")
        error = result.error
        if not ok and error is None:
            error = f"the receiver answered {code}" + (" (Gone): the endpoint is disabled" if gone else "")
        self._outcomes.append(
            Outcome(
                claimed=delivery,
                started_at=result.started_at,
                duration_ms=result.duration_ms,
                status_code=code,
                response_excerpt=result.excerpt,
                error=error,
                status=status,
                next_attempt_in=delay,
                gone=gone,
            )
        )
        self._record_wake.set()
        return ok

    async def _record_once(self) -> bool:
        if not self._outcomes and not self._releases:
            return False
        outcomes, self._outcomes = self._outcomes, []
        releases, self._releases = self._releases, []
        try:
            async with self._db.transaction() as conn:
                await relay_store.record(conn, outcomes)
                if releases:
                    await relay_store.release(conn, releases)
        except BaseException:
            self._outcomes[:0] = outcomes  # kept for the next try; the leases cover them meanwhile
            self._releases[:0] = releases
            raise
        # A recorded delivery may let the next one of its ordering key go.
        self._deliver_wake.set()
        return False

    async def _purge_once(self) -> bool:
        async with self._db.connection() as conn:
            deleted = await relay_store.purge(conn, self._retention_days)
        return deleted > 0


async def deliver_forever(db: Database, settings: Settings) -> None:
    """Run a relay until cancelled (the CLI's `deliver` command and the app's lifespan)."""
    started = time.monotonic()
    log.info("webhook relay started")
    try:
        await Relay(db, settings).run()
    finally:
        log.info("webhook relay stopped after %.0f s", time.monotonic() - started)
