"""Bulk operations: at most 200 items, one result per item, each item committed or rejected on its own.

All items run in one transaction with a savepoint each, so a bad item never undoes the good ones and the whole
request costs one commit (docs/decisions.md#bulk-results).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import asyncpg
import msgspec

from segment_service.core.db import Connection, Database, input_error
from segment_service.core.errors import BadRequest, Conflict, ServiceError

MAX_BULK_ITEMS = 200
T = TypeVar("T")
log = logging.getLogger(__name__)

#: Emporix writes "OK" beside 204 (docs/decisions.md#bulk-results).
_STATUS_TEXT = {201: "Created", 204: "OK"}


# --- import batches (segment-service import): many rows, one statement, the rest one at a time ---------------------

#: Per imported row: True when created, False when replaced, else the error the API would have answered.
Outcome = bool | ServiceError

#: Errors that make a whole batch statement fail (a bad value in one row, contention, a batch slower than the
#: statement timeout); its rows are then written one at a time.
BATCH_FAULTS = (
    asyncpg.DataError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.QueryCanceledError,
)


def row_error(exc: Exception) -> ServiceError:
    """The error a row's write answers with, as the API would; anything that is not the row's fault is raised."""
    error = exc if isinstance(exc, ServiceError) else input_error(exc)
    if error is None:
        raise exc
    return error


class BulkResult(msgspec.Struct, omit_defaults=True):
    """One item's outcome; `index` is the item's 0-based position in the request (docs/decisions.md#bulk-results)."""

    index: int
    code: int
    status: str
    id: str | None = None
    message: str | None = None


def check_bulk_size(items: Sequence[Any], *, min_items: int = 0) -> None:
    """400 for the whole request when it holds more than 200 items (or fewer than `min_items`)."""
    if len(items) < min_items:
        raise BadRequest(
            f"A bulk request must hold at least {min_items} item{'s' if min_items > 1 else ''}; "
            f"this one holds {len(items)}.",
            type="bulk_size_too_small",
        )
    if len(items) > MAX_BULK_ITEMS:
        raise BadRequest(
            f"A bulk request may hold at most {MAX_BULK_ITEMS} items; this one holds {len(items)}.",
            type="bulk_size_exceeded",
        )


def status_text(code: int) -> str:
    return _STATUS_TEXT.get(code) or HTTPStatus(code).phrase


def status_name(code: int) -> str:
    """The status as the Category Service writes it in bulk results: `CREATED`, `NOT_FOUND`
    (docs/decisions.md#bulk-results)."""
    return HTTPStatus(code).name


def error_result(index: int, error: ServiceError, *, status: Callable[[int], str] = status_text) -> BulkResult:
    """The result of an item that failed with `error` (no `id`: assignment bulks name none)."""
    return BulkResult(index=index, code=error.status, status=status(error.status), message=error.message)


def item_id(item: Any) -> str | None:
    """The `id` an item names, when it names one, for error results."""
    if isinstance(item, dict):
        value = item.get("id")
        return value if isinstance(value, str) else None
    return item if isinstance(item, str) else None


async def run_bulk(
    db: Database,
    items: Sequence[T],
    handle: Callable[[Connection, T], Awaitable[tuple[int, str | None]]],
    *,
    with_ids: bool = True,
    lock_key: Callable[[T], str] | None = None,
    status: Callable[[int], str] = status_text,
    min_items: int = 0,
) -> list[BulkResult]:
    """Run `handle(conn, item)` for every item in its own savepoint; it returns (code, id) or raises ServiceError.

    All items share one transaction, so the rows they lock stay locked until it commits. With `lock_key` (the id of
    the row an item writes) items run in key order, so that two overlapping bulk requests lock rows in the same order
    and cannot deadlock; results still follow the request's order. `status` writes each result's status text
    (`status_name` for the Category Service's `CREATED`); `min_items` is the fewest items a request may hold.
    """
    check_bulk_size(items, min_items=min_items)
    order = list(range(len(items)))
    if lock_key is not None:
        order.sort(key=lambda i: lock_key(items[i]))  # stable: items with the same key keep their order
    results: list[BulkResult | None] = [None] * len(items)
    async with db.transaction() as conn:
        for index in order:
            item = items[index]
            try:
                async with conn.transaction():
                    code, resource_id = await handle(conn, item)
                results[index] = BulkResult(
                    index=index, code=code, status=status(code), id=resource_id if with_ids else None
                )
            except Exception as exc:
                # A data error from PostgreSQL (say, a NUL character) is this item's fault alone, and a deadlock
                # with another request this item's bad luck; its savepoint is rolled back, the other items go on.
                error = exc if isinstance(exc, ServiceError) else input_error(exc) or _contention_error(exc)
                if error is None:
                    raise
                results[index] = BulkResult(
                    index=index,
                    code=error.status,
                    status=status(error.status),
                    id=(error.resource_id or item_id(item)) if with_ids else None,
                    message=error.message,
                )
    return [r for r in results if r is not None]


def _contention_error(exc: BaseException) -> ServiceError | None:
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return Conflict("Another request changed this resource at the same time; send this item again.")
    return None


def lock_key_of(item: Any) -> str:
    """The id an item names, as a `lock_key` ("" for items without one, which create new rows)."""
    return item_id(item) or ""
