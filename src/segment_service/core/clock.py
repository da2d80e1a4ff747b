"""The clock that time-relative rule conditions read (docs/rules.md#time): the wall clock, which tests may move
forward (`advance`) to see memberships move without waiting days. Nothing else in the service reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current time of rule evaluation (UTC)."""
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the rule clock by `delta` (tests only)."""
    global _offset
    _offset += delta


def reset() -> None:
    """Back to the wall clock."""
    global _offset
    _offset = timedelta(0)
