"""Date-times on the wire: ISO 8601 in UTC with milliseconds and `Z`, as Emporix writes them."""

from __future__ import annotations

from datetime import UTC, datetime

from segment_service.core.errors import BadRequest


def iso(value: datetime) -> str:
    """`2024-05-14T12:00:00.000Z`; isoformat always writes four-digit years and is twice as fast as strftime."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_sql(column: str, alias: str | None = None) -> str:
    """SQL formatting a timestamptz column exactly as `iso` does, named `alias` (default: the column's name). Lists
    format hundreds of timestamps per page: PostgreSQL does it in C and sends text, which is far cheaper than decoding
    and formatting them in Python."""
    name = alias or column.rsplit(".", 1)[-1]
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS {name}"""


#: The two instants PostgreSQL cannot keep as themselves: asyncpg writes them as -infinity and infinity and reads
#: them back as naive datetimes, which no later comparison or formatting survives.
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def as_utc(value: datetime, *, field: str | None = None) -> datetime:
    """A timezone-aware datetime; a naive one is taken to be UTC. 400 when UTC lies outside years 1-9999, or on
    their very first or very last microsecond."""
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise BadRequest(
            f"Invalid date-time {value.isoformat()}: in UTC it falls outside the years 1 to 9999.",
            field=field,
            type="invalid_value",
        ) from None
    if moment in (_EARLIEST, _LATEST):
        raise BadRequest(
            f"Invalid date-time {moment.isoformat()}: in UTC it must lie after 0001-01-01T00:00:00Z "
            "and before 9999-12-31T23:59:59.999999Z.",
            field=field,
            type="invalid_value",
        )
    return moment


def now() -> datetime:
    return datetime.now(UTC)
