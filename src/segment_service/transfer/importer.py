"""`segment-service import`: read a file's rows, write them in batches through the services, and sum up what
happened to each row."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segment_service.core.auth import SERVICE_SCOPES, Caller, TokenKind
from segment_service.core.db import Database
from segment_service.core.languages import WriteLanguage
from segment_service.customers.passwords import passwords
from segment_service.oauth.service import check_tenant
from segment_service.reactions import register_reactions
from segment_service.settings import Settings
from segment_service.transfer import kinds, readers

#: Rows per batch: assignments go to the database as one statement per batch; resources one row at a time anyway.
ASSIGNMENT_BATCH = 5000
RESOURCE_BATCH = 50
#: Rows written between two runs of the cycle collector, which is otherwise off during an import.
COLLECT_EVERY = 100_000
#: Rows read between two turns of the event loop, in which the batch being written goes on.
YIELD_EVERY = 200


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was not imported: its line, and the status and message the API answers for that body."""

    line: int
    status: int
    message: str


@dataclass(slots=True)
class Summary:
    kind: str
    file: str
    tenant: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "tenant": self.tenant,
            "rows": self.rows,
            "imported": self.created + self.updated,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "rowsPerSecond": round(self.rows_per_second),
            "errors": [dataclasses.asdict(e) for e in self.errors],
        }


def _caller(tenant: str) -> Caller:
    """A service caller of the tenant with every service scope: what the import may do is what such a token may."""
    return Caller(
        tenant=tenant,
        kind=TokenKind.SERVICE,
        subject="segment-service import",
        scopes=frozenset(SERVICE_SCOPES),
        expires_at=0,
    )


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Turn off Python's cycle collector while a file is imported: rows and their batches hold no reference cycles
    (reference counting frees them), and with thousands of rows alive per batch every collection walks them all. It
    was measured to take more than half of the import's CPU (docs/performance.md#orders)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def import_file(
    settings: Settings, dsn: str, kind: str, path: Path, tenant: str, progress: Callable[[int], None] = lambda _: None
) -> Summary:
    """Import every row of `path` as `kind` into `tenant`; `progress` hears how many bytes of the file are read."""
    check_tenant(tenant)
    register_reactions()  # the import writes through the services, whose writes emit change events
    with _without_cycle_collection():
        return await _import_file(settings, dsn, kind, path, tenant, progress)


async def _import_file(
    settings: Settings, dsn: str, kind: str, path: Path, tenant: str, progress: Callable[[int], None]
) -> Summary:
    summary = Summary(kind=kind, file=str(path), tenant=tenant)
    started = time.perf_counter()
    db = await Database.connect(dataclasses.replace(settings, pool_min_size=1, pool_max_size=2), dsn)
    try:
        context = kinds.Context(
            db,
            _caller(tenant),
            WriteLanguage(None, settings.default_language),
            passwords(settings.password_hash_memory_kib),
        )
        await import_rows(context, kind, path, summary, progress)
    finally:
        await db.close()
    summary.seconds = time.perf_counter() - started
    return summary


async def import_rows(
    context: kinds.Context,
    kind: str,
    path: Path,
    summary: Summary,
    progress: Callable[[int], None] = lambda _: None,
    after_batch: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The row pipeline of every import (the command's and the HTTP import jobs', transfer/jobs.py): read the rows of
    `path`, write them in batches as `context.caller`, and count what happened to each in `summary` (its errors
    sorted by line at the end). `progress` hears how many bytes of the file are read, `after_batch` is awaited after
    each written batch."""
    lenient = readers.lenient(path)
    batch_size = ASSIGNMENT_BATCH if kind in kinds.ASSIGNMENTS or kind in kinds.DOCUMENTS else RESOURCE_BATCH
    batch: list[readers.Row] = []
    writing: asyncio.Task[None] | None = None

    async def write(rows: list[readers.Row]) -> None:
        outcomes = await kinds.write_batch(context, kind, [r.body for r in rows], lenient=lenient)
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome is True:
                summary.created += 1
            elif outcome is False:
                summary.updated += 1
            else:
                summary.errors.append(RowError(row.line, outcome.status, outcome.message))
        progress(rows[-1].read_bytes)
        written_rows[0] += len(rows)
        if written_rows[0] >= COLLECT_EVERY:
            written_rows[0] = 0
            gc.collect()  # the few cycles made meanwhile (a failed row's exception and its traceback)
        if after_batch is not None:
            await after_batch()

    written_rows = [0]
    # One batch is written while the next is read: the database works on one core while Python reads on the
    # other. Batches still reach the database one after the other, in the file's order.
    try:
        for row in readers.read_rows(path):
            summary.rows += 1
            if summary.rows % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the batch being written take its next step
            if row.error is not None:
                summary.errors.append(RowError(row.line, row.error.status, row.error.message))
                continue
            if kind in kinds.DOCUMENTS:
                row = dataclasses.replace(
                    row, body=kinds.prepare(kind, row.body, lenient=lenient, text=row.text), text=None
                )
            batch.append(row)
            if len(batch) >= batch_size:
                if writing is not None:
                    await writing
                writing = asyncio.create_task(write(batch))
                batch = []
    finally:
        if writing is not None:
            await writing  # a batch being written is finished, also when the file turns out unreadable
    if batch:
        await write(batch)
    summary.errors.sort(key=lambda e: e.line)
