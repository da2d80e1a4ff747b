"""Lists: `pageNumber`/`pageSize`, `sort`, `fields` and `X-Total-Count` (docs/decisions.md#lists-and-totals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from segment_service.core.errors import BadRequest
from segment_service.core.query import QueryError, Registry, resolve_path

MAX_PAGE_SIZE = 1000
MAX_SORT_FIELDS = 10
MAX_FIELDS = 100


@dataclass(frozen=True, slots=True)
class Page:
    """A 1-based page of `size` rows."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


MAX_PAGE_NUMBER = 10_000_000


def int_parameter(
    raw: str | None, name: str, *, low: int, high: int | None, default: int, clamped: bool = False
) -> int:
    """An integer query parameter within [low, high]; a 400 naming the parameter and its bounds otherwise. With
    `clamped`, values above `high` are read as `high` instead (pageSize)."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    sign = "-" if text.startswith("-") else ""
    digits = text[len(sign) :].lstrip("0") or "0"
    # isascii: str.isdigit also accepts "²" and other digits int() refuses.
    if not (digits.isascii() and digits.isdigit()) or text in ("-", ""):
        raise _out_of_bounds(raw, name, low, high, clamped)
    # Past 18 digits the exact value no longer matters (every bound is far below), and int() of thousands of digits
    # would be slow.
    value = int(sign + digits) if len(digits) <= 18 else int(sign + "1" + "0" * 18)
    if value < low or (high is not None and value > high and not clamped):
        raise _out_of_bounds(raw, name, low, high, clamped)
    return value if high is None else min(value, high)


def _out_of_bounds(raw: str, name: str, low: int, high: int | None, clamped: bool) -> BadRequest:
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    if high is None:
        bounds = f"an integer of at least {low}"
    elif clamped:
        bounds = f"an integer of at least {low} (above {high}, {high} is used)"
    else:
        bounds = f"an integer from {low} to {high}"
    return BadRequest(f"Invalid {name} '{shown}': expected {bounds}.", field=name, type="invalid_query_parameter")


def parse_page(page_number: str | None, page_size: str | None, *, default_size: int = 60) -> Page:
    """The page asked for; `pageSize` above the cap is clamped to it (docs/behaviour.md#lists-and-search)."""
    number = int_parameter(page_number, "pageNumber", low=1, high=MAX_PAGE_NUMBER, default=1)
    size = int_parameter(page_size, "pageSize", low=1, high=MAX_PAGE_SIZE, default=default_size, clamped=True)
    return Page(number, size)


async def page_total(page: Page, shown: int, count: Callable[[], Awaitable[int]]) -> int:
    """The total behind a page of `shown` rows: a page that is neither empty nor full tells it without counting;
    otherwise `count()` asks the database (X-Total-Count, docs/decisions.md#lists-and-totals)."""
    if 0 < shown < page.size:
        return page.offset + shown
    return await count()


def order_by(sort: str | None, registry: Registry, *, tiebreak: str = "id") -> str:
    """An ORDER BY clause for `field:ASC,field2:DESC`; the id always ends it so that pages are stable."""
    return ", ".join((*parse_sort(sort, registry), f"{tiebreak} ASC"))


def parse_sort(sort: str | None, registry: Registry) -> tuple[str, ...]:
    """The ORDER BY terms of `field:ASC,field2:DESC` over `registry` (no tiebreak); 400 naming the problem."""
    clauses: list[str] = []
    if sort and sort.strip():
        parts = [p.strip() for p in sort.split(",") if p.strip()]
        if len(parts) > MAX_SORT_FIELDS:
            raise BadRequest(
                f"Invalid sort: at most {MAX_SORT_FIELDS} fields.", field="sort", type="invalid_query_parameter"
            )
        for part in parts:
            path, _, direction = part.partition(":")
            direction = direction.strip().upper() or "ASC"
            if direction not in ("ASC", "DESC"):
                raise BadRequest(
                    f"Invalid sort '{part}': the direction must be ASC or DESC.",
                    field="sort",
                    type="invalid_query_parameter",
                )
            try:
                resolved = resolve_path(path.strip(), registry)
            except QueryError as exc:
                raise BadRequest(f"Invalid sort: {exc.message}", field="sort", type="invalid_query_parameter") from exc
            field = registry.get(path.strip())
            if field is not None and not field.sortable:
                raise BadRequest(
                    f"Invalid sort: '{path.strip()}' cannot be sorted on.", field="sort", type="invalid_query_parameter"
                )
            clauses.append(f"{resolved.sql} {direction} NULLS LAST")
    return tuple(clauses)


def sort_in_language(sort: str | None, localized: Collection[str], language: str) -> str | None:
    """`sort` with every localized field named without a language (`name:ASC`) made to sort by `language`
    (`name.en:ASC`): the Accept-Language's first choice, else the default language (category.yml and product.yml,
    `sort`)."""
    if not sort:
        return sort
    parts = []
    for part in sort.split(","):
        path, colon, direction = part.partition(":")
        if path.strip() in localized:
            path = f"{path.strip()}.{language}"
        parts.append(f"{path}{colon}{direction}")
    return ",".join(parts)


def parse_fields(fields: str | None) -> tuple[tuple[str, ...], ...] | None:
    """The projection `fields=a,b.c` asks for, as paths; None means the whole resource."""
    if fields is None or not fields.strip():
        return None
    paths = [p.strip() for p in fields.split(",") if p.strip()]
    if len(paths) > MAX_FIELDS:
        raise BadRequest(f"Invalid fields: at most {MAX_FIELDS} paths.", field="fields", type="invalid_query_parameter")
    return tuple(tuple(p.split(".")) for p in paths)


def project(document: dict[str, Any], paths: tuple[tuple[str, ...], ...] | None) -> dict[str, Any]:
    """`document` cut down to `paths`; `id` is always kept (docs/decisions.md#lists-and-totals)."""
    if paths is None:
        return document
    result: dict[str, Any] = {}
    if "id" in document:
        result["id"] = document["id"]
    for path in paths:
        source: Any = document
        for key in path:
            if not isinstance(source, dict) or key not in source:
                break
            source = source[key]
        else:
            target = result
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = source
    return result


def wants_total(header: str | None) -> bool:
    """Whether the `X-Total-Count: true` request header asks for the total."""
    return header is not None and header.strip().lower() == "true"
