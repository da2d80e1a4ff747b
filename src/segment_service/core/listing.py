"""How a store reads a list: a `Criteria` (conditions and their bound values, numbered in one place), the checked
`q` and `sort` a service passes in its typed filters, and `fetch_page`, the one page-and-total reader.

A service decides *what* a caller asks for and may see (typed filters); the store turns that into SQL with these
helpers, so no SQL text crosses from a service into a store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest
from segment_service.core.paging import Page, page_total, parse_sort
from segment_service.core.query import QueryError, Registry, Term, compile_terms, parse_q

T = TypeVar("T")


class Criteria:
    """Conditions AND-ed into one WHERE, and the values they bind. The values given first are `$1`, `$2`... of the
    store's fixed SQL (the tenant, a parent id); every later one is numbered by `bind`."""

    __slots__ = ("_conditions", "_values")

    def __init__(self, *values: object) -> None:
        self._values: list[object] = list(values)
        self._conditions: list[str] = []

    def bind(self, value: object) -> str:
        """The placeholder of `value`, bound as the next parameter."""
        self._values.append(value)
        return f"${len(self._values)}"

    def inner(self) -> Criteria:
        """Empty criteria for a subquery, binding into this one's values (so that numbering stays in one place)."""
        inner = Criteria()
        inner._values = self._values
        return inner

    def where(self, condition: str) -> None:
        """AND `condition` (store SQL whose values were bound through `bind`) into the criteria."""
        self._conditions.append(condition)

    def match(self, query: Query) -> None:
        """AND the compiled `q`; a blank one adds nothing."""
        if query.terms:
            self._conditions.append(compile_terms(query.terms, query.registry, self._values))

    @property
    def values(self) -> list[object]:
        return self._values

    @property
    def sql(self) -> str:
        """The conditions AND-ed ("TRUE" when there are none)."""
        return " AND ".join(self._conditions) if self._conditions else "TRUE"

    def __bool__(self) -> bool:
        return bool(self._conditions)


@dataclass(frozen=True, slots=True)
class Query:
    """A `q` parsed and checked against a store's field registry: it compiles without error."""

    terms: tuple[Term, ...]
    registry: Registry


def parse_query(q: str | None, registry: Registry) -> Query:
    """`q` checked against `registry`; 400 naming the problem when it is invalid (the compile is tried once here, so
    that the error comes before any database work)."""
    try:
        terms = tuple(parse_q(q)) if q else ()
        if terms:
            compile_terms(terms, registry, [])
    except QueryError as exc:
        raise BadRequest(exc.message, field="q", type="invalid_query_parameter") from exc
    return Query(terms, registry)


@dataclass(frozen=True, slots=True)
class Ordering:
    """A `sort` checked against a store's field registry: its ORDER BY terms, without the store's tiebreak."""

    terms: tuple[str, ...]

    def sql(self, tiebreak: str) -> str:
        """The ORDER BY: the sort's terms, then `tiebreak` so that pages are stable."""
        return ", ".join((*self.terms, f"{tiebreak} ASC"))

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_ordering(sort: str | None, registry: Registry) -> Ordering:
    """`sort` (`field:ASC,field2:DESC`) checked against `registry`; 400 naming the problem when it is invalid."""
    return Ordering(parse_sort(sort, registry))


@dataclass(frozen=True, slots=True)
class Search:
    """The checked `q` and `sort` of a list: what most typed list filters hold."""

    query: Query
    ordering: Ordering


def parse_search(q: str | None, sort: str | None, registry: Registry) -> Search:
    """`q`, then `sort`, checked against a store's `registry` (a 400 for the first problem)."""
    return Search(parse_query(q, registry), parse_ordering(sort, registry))


@dataclass(frozen=True, slots=True)
class ListStatement(Generic[T]):
    """What a store pages through: `SELECT columns FROM source WHERE scope AND ...`. `scope` is the condition every
    row meets (its tenant, its parent: `$1`, `$2`...); `decode` reads a row; `tiebreak` ends every ORDER BY so that
    pages are stable, and `default_order` replaces the whole ORDER BY when no `sort` is given (None: the tiebreak
    alone); `count_source` is a cheaper FROM over the same rows for the total (None: `source`)."""

    columns: str
    source: str
    scope: str
    decode: Callable[[asyncpg.Record], T]
    tiebreak: str
    default_order: str | None = None
    count_source: str | None = None

    def criteria(self, *values: object, query: Query | None = None) -> Criteria:
        """Criteria holding the scope's `values` ($1, $2...), the scope and, when given, the compiled `q`."""
        criteria = Criteria(*values)
        criteria.where(self.scope)
        if query is not None:
            criteria.match(query)
        return criteria

    def order_by(self, ordering: Ordering) -> str:
        if not ordering and self.default_order is not None:
            return self.default_order
        return ordering.sql(self.tiebreak)


async def fetch_page(
    conn: Connection,
    statement: ListStatement[T],
    criteria: Criteria,
    ordering: Ordering,
    *,
    page: Page,
    with_total: bool,
) -> tuple[list[T], int | None]:
    """One page of `statement` meeting `criteria` in `ordering` (one statement), and with `with_total` the total; a
    page that is neither empty nor full tells the total without counting (core/paging.py `page_total`), any other
    asks one more statement."""
    values = criteria.values
    n = len(values)
    sql = (
        f"SELECT {statement.columns}\n{statement.source.strip()}\nWHERE {criteria.sql}\n"
        f"ORDER BY {statement.order_by(ordering)}\nLIMIT ${n + 1} OFFSET ${n + 2}"
    )
    rows = [statement.decode(r) for r in await conn.fetch(sql, *values, page.size, page.offset)]
    if not with_total:
        return rows, None
    source = statement.source if statement.count_source is None else statement.count_source

    async def counted() -> int:
        return int(await conn.fetchval(f"SELECT count(*)\n{source.strip()}\nWHERE {criteria.sql}", *values))

    return rows, await page_total(page, len(rows), counted)
