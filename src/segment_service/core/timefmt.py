"""Date-times on the wire: ISO 8601 in UTC with milliseconds and `Z`, as Emporix writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime) -> str:
    """`2024-05-14T12:00:00.000Z`."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def as_utc(value: datetime) -> datetime:
    """A timezone-aware datetime; a naive one is taken to be UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)
