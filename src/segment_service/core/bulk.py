"""Bulk operations: at most 200 items, one result per item, each item committed or rejected on its own.

All items run in one transaction with a savepoint each, so a bad item never undoes the good ones and the whole
request costs one commit (decisions.md: Lists, search and bulk).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import msgspec

from segment_service.core.db import Connection, Database, input_error
from segment_service.core.errors import BadRequest, ServiceError

MAX_BULK_ITEMS = 200
T = TypeVar("T")
log = logging.getLogger(__name__)

#: Emporix writes "OK" beside 204 (digest §1.2, bulk examples).
_STATUS_TEXT = {201: "Created", 204: "OK"}


class BulkResult(msgspec.Struct, omit_defaults=True):
    """One item's outcome; `index` is the item's 0-based position in the request (decisions.md)."""

    index: int
    code: int
    status: str
    id: str | None = None
    message: str | None = None


def check_bulk_size(items: Sequence[Any]) -> None:
    """400 for the whole request when it holds more than 200 items."""
    if len(items) > MAX_BULK_ITEMS:
        raise BadRequest(
            f"A bulk request may hold at most {MAX_BULK_ITEMS} items; this one holds {len(items)}.",
            type="bulk_size_exceeded",
        )


def status_text(code: int) -> str:
    return _STATUS_TEXT.get(code) or HTTPStatus(code).phrase


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
) -> list[BulkResult]:
    """Run `handle(conn, item)` for every item in its own savepoint; it returns (code, id) or raises ServiceError."""
    check_bulk_size(items)
    results: list[BulkResult] = []
    async with db.transaction() as conn:
        for index, item in enumerate(items):
            try:
                async with conn.transaction():
                    code, resource_id = await handle(conn, item)
                results.append(
                    BulkResult(index=index, code=code, status=status_text(code), id=resource_id if with_ids else None)
                )
            except Exception as exc:
                # A data error from PostgreSQL (say, a NUL character) is this item's fault alone; its savepoint is
                # already rolled back, so the other items go on.
                error = exc if isinstance(exc, ServiceError) else input_error(exc)
                if error is None:
                    raise
                results.append(
                    BulkResult(
                        index=index,
                        code=error.status,
                        status=status_text(error.status),
                        id=(error.resource_id or item_id(item)) if with_ids else None,
                        message=error.message,
                    )
                )
    return results
