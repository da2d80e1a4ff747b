"""Litestar dependencies every route uses: the database, the caller, languages, paging and read shaping.

Declaring the query and header parameters here, once, documents them in the OpenAPI document of every operation
that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from litestar.routes import HTTPRoute

from segment_service.core.auth import Caller, current_caller
from segment_service.core.db import Database
from segment_service.core.http import ReadShape
from segment_service.core.languages import WriteLanguage, content_language
from segment_service.core.paging import Page, parse_page, wants_total


@dataclass(frozen=True, slots=True)
class Listing:
    """The paging, sorting and total-count options of a list or search request."""

    page: Page
    sort: str | None
    with_total: bool


def provide_db(state: State) -> Database:
    db: Database = state.db
    return db


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    return current_caller(request)


def provide_write_language(
    state: State,
    content_language_header: str | None = Parameter(header="Content-Language", required=False, default=None),
) -> WriteLanguage:
    return WriteLanguage(content_language(content_language_header), state.settings.default_language)


def provide_read_shape(
    state: State,
    fields: str | None = Parameter(
        query="fields",
        required=False,
        default=None,
        description="Fields to be returned in the response, e.g. `name,siteCode`.",
    ),
    accept_language: str | None = Parameter(header="Accept-Language", required=False, default=None),
) -> ReadShape:
    return ReadShape.of(fields, accept_language, state.settings.default_language)


def listing_dependency(default_page_size: int) -> Provide:
    """The `listing` dependency (paging, sort, X-Total-Count) with the spec's `pageSize` default: 60 app-wide; a
    service whose spec says otherwise (Customer Management and Coupon: 16) sets
    `dependencies = {"listing": listing_dependency(16)}` on its controller."""

    def provide_sized_listing(
        page_number: str | None = Parameter(query="pageNumber", required=False, default=None),
        page_size: str | None = Parameter(
            query="pageSize", required=False, default=None, description=f"Default {default_page_size}, at most 1000."
        ),
        sort: str | None = Parameter(query="sort", required=False, default=None, description="`field:ASC,field2:DESC`"),
        x_total_count: str | None = Parameter(header="X-Total-Count", required=False, default=None),
    ) -> Listing:
        page = parse_page(page_number, page_size, default_size=default_page_size)
        return Listing(page, sort, wants_total(x_total_count))

    return Provide(provide_sized_listing, sync_to_thread=False)


DEPENDENCIES = {
    "db": Provide(provide_db, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
    "language": Provide(provide_write_language, sync_to_thread=False),
    "shape": Provide(provide_read_shape, sync_to_thread=False),
    "listing": listing_dependency(60),
}


def resolve_in_order(app: Litestar) -> None:
    """Let every route resolve its dependencies one after another.

    Litestar resolves the dependencies of one level of a route's dependency graph concurrently: an anyio task group
    and a task per dependency, on every request. The service's dependencies are synchronous and take microseconds,
    so the tasks cost far more than the work: about 100 µs of CPU per request on `GET /segments/{id}`
    (docs/performance.md#the-frameworks-share-of-a-request). A level with an async dependency keeps Litestar's way."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _, model in route.route_handler_map.values():
            batches: list[set[Any]] = []
            for batch in model.dependency_batches:
                if all(dependency.provide.has_sync_callable for dependency in batch):
                    batches.extend({dependency} for dependency in batch)
                else:
                    batches.append(batch)
            model.dependency_batches = batches
