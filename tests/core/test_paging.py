"""Paging, sorting, projection and bulk limits."""

from __future__ import annotations

import asyncio

import pytest

from segment_service.core.bulk import check_bulk_size, status_text
from segment_service.core.errors import BadRequest
from segment_service.core.paging import Page, order_by, page_total, parse_fields, parse_page, project, wants_total
from segment_service.core.query import Field, FieldKind

REGISTRY = {
    "id": Field("s.id", FieldKind.TEXT),
    "name": Field("s.name", FieldKind.LOCALIZED),
    "siteCode": Field("s.site_code", FieldKind.TEXT),
    "mixins": Field("s.mixins", FieldKind.JSON, sortable=False),
}


@pytest.mark.parametrize(
    ("number", "size", "expected"),
    [(None, None, Page(1, 60)), ("2", "10", Page(2, 10)), ("1", "5000", Page(1, 1000)), (" 3 ", "7", Page(3, 7))],
)
def test_pages(number: str | None, size: str | None, expected: Page) -> None:
    assert parse_page(number, size) == expected


def test_page_offset() -> None:
    assert Page(3, 20).offset == 40


@pytest.mark.parametrize(
    ("number", "size"), [("0", None), (None, "0"), ("-1", None), ("abc", None), (None, "1.5"), (None, "1e3")]
)
def test_bad_pages_are_400(number: str | None, size: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_page(number, size)
    assert caught.value.message.startswith(
        f"Invalid {'pageNumber' if number else 'pageSize'} '{number or size}': expected an integer "
    )


def test_order_by_ends_with_the_tiebreak() -> None:
    assert order_by(None, REGISTRY, tiebreak="s.id") == "s.id ASC"
    assert order_by("siteCode:desc,name.en", REGISTRY, tiebreak="s.id") == (
        "s.site_code DESC NULLS LAST, (s.name ->> 'en') ASC NULLS LAST, s.id ASC"
    )


@pytest.mark.parametrize(
    ("sort", "message"),
    [
        ("colour:ASC", "Invalid sort: Unknown field 'colour'"),
        ("siteCode:UP", "Invalid sort 'siteCode:UP': the direction must be ASC or DESC."),
        ("mixins", "Invalid sort: 'mixins' cannot be sorted on."),
    ],
)
def test_bad_sorts_are_400(sort: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        order_by(sort, REGISTRY)
    assert caught.value.message.startswith(message)


def test_fields_projection_keeps_the_id_and_nested_paths() -> None:
    document = {"id": "1", "name": {"en": "a", "de": "b"}, "status": "ACTIVE", "metadata": {"version": 2, "x": 1}}
    assert project(document, parse_fields("name.de,metadata.version")) == {
        "id": "1",
        "name": {"de": "b"},
        "metadata": {"version": 2},
    }
    assert project(document, parse_fields("status,unknown,status.deeper")) == {"id": "1", "status": "ACTIVE"}
    assert project(document, parse_fields(None)) is document


def test_total_only_when_asked() -> None:
    assert [wants_total(v) for v in ("true", "TRUE", None, "false", "1")] == [True, True, False, False, False]


def test_bulk_limit() -> None:
    check_bulk_size([0] * 200)
    with pytest.raises(BadRequest) as caught:
        check_bulk_size([0] * 201)
    assert caught.value.message == "A bulk request may hold at most 200 items; this one holds 201."


def test_bulk_status_texts_follow_the_spec_examples() -> None:
    assert (status_text(201), status_text(204), status_text(400), status_text(409)) == (
        "Created",
        "OK",
        "Bad Request",
        "Conflict",
    )


@pytest.mark.parametrize("value", ["²", "١٢", "1" * 5000, "0000"])
def test_odd_digits_are_400_or_capped_never_a_crash(value: str) -> None:
    if value == "1" * 5000:
        assert parse_page(None, value) == Page(1, 1000)
        with pytest.raises(BadRequest, match="expected an integer from 1 to 10000000"):
            parse_page(value, None)
    else:
        with pytest.raises(BadRequest, match="expected an integer from 1 to 10000000"):
            parse_page(value, None)


class TestPageTotal:
    """A partial page tells the total; an empty or a full page asks the database."""

    @pytest.mark.parametrize(
        ("number", "shown", "expected", "counted"),
        [
            (1, 7, 7, False),  # partial first page
            (3, 5, 25, False),  # partial third page of 10
            (1, 10, 42, True),  # full page: more may follow
            (9, 0, 42, True),  # past the end: the total is still the real one
        ],
    )
    def test_page_total(self, number: int, shown: int, expected: int, counted: bool) -> None:
        calls: list[int] = []

        async def count() -> int:
            calls.append(1)
            return 42

        assert asyncio.run(page_total(Page(number, 10), shown, count)) == expected
        assert bool(calls) is counted
