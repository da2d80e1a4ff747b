"""Date-times on the wire: formatted the same way in Python and in SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from segment_service.core.errors import BadRequest
from segment_service.core.timefmt import as_utc, iso, iso_sql

MOMENTS = [
    datetime(2024, 5, 14, 12, 0, tzinfo=UTC),
    datetime(2024, 5, 14, 12, 0, 0, 999_999, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 1_500, tzinfo=timezone(timedelta(hours=-5))),
    datetime(5, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC),
]


def test_iso_writes_milliseconds_and_z() -> None:
    assert [iso(m) for m in MOMENTS] == [
        "2024-05-14T12:00:00.000Z",
        "2024-05-14T12:00:00.999Z",
        "2024-03-01T04:59:59.001Z",
        "0005-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
    ]


def test_sql_formats_exactly_as_python(database_url: str) -> None:
    async def formatted() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            sql = f"SELECT {iso_sql('t.at')} FROM unnest($1::timestamptz[]) AS t(at)"
            return [r["at"] for r in await conn.fetch(sql, MOMENTS)]
        finally:
            await conn.close()

    assert asyncio.run(formatted()) == [iso(m) for m in MOMENTS]


def test_naive_date_times_are_utc() -> None:
    assert as_utc(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)


def test_date_times_outside_the_years_1_to_9999_in_utc_are_400() -> None:
    with pytest.raises(BadRequest) as caught:
        as_utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), field="validity.from")
    assert caught.value.field == "validity.from"
