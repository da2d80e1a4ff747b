"""Category reads and the look-ups other services use; no HTTP here. Writes are in `writes.py` and re-exported.

`category_exists`, `fetch_categories` and `subtree_ids` are how other services (segments, category assignments)
look categories up: they see every category, published or not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from segment_service.categories import closure_store, store
from segment_service.categories.rules import not_found, show_unpublished
from segment_service.categories.store import CategoryRow
from segment_service.categories.trees import build_forest, category_document, tree_node
from segment_service.categories.writes import (
    create_category,
    delete_category,
    patch_category,
    rebuild_tree,
    upsert_category,
)
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, NotFound
from segment_service.core.listing import Ordering, Search, parse_ordering, parse_query
from segment_service.core.paging import Page, sort_in_language

__all__ = [
    "LOCALIZED_FIELDS",
    "CategoryRow",
    "ListFilters",
    "category_exists",
    "category_tree",
    "category_trees",
    "create_category",
    "delete_category",
    "fetch_categories",
    "get_category",
    "list_categories",
    "list_parents",
    "list_subcategories",
    "not_found",
    "patch_category",
    "rebuild_tree",
    "subtree_ids",
    "upsert_category",
]

LOCALIZED_FIELDS = store.LOCALIZED_FIELDS


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The list filters of GET /categories, as sent (dates still `yyyy-MM-dd` text)."""

    code: str | None = None
    localized_name: str | None = None
    localized_description: str | None = None
    localized_slug: str | None = None
    ecn: str | None = None
    validity_from: str | None = None
    validity_to: str | None = None
    metadata_modified_at: str | None = None


def _day(raw: str, name: str) -> datetime:
    """A `yyyy-MM-dd` filter value as midnight UTC of that day."""
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"Invalid {name} '{raw[:40]}': expected a date as yyyy-MM-dd, e.g. 2022-11-01.",
            field=name,
            type="invalid_query_parameter",
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _ordering(sort: str | None, languages: tuple[str, ...] | None, default_language: str) -> Ordering:
    """`sort` checked, a localized field named without a language sorting by the first asked (or the default)."""
    sort = sort_in_language(sort, LOCALIZED_FIELDS, languages[0] if languages else default_language)
    return parse_ordering(sort, store.CATEGORY_FIELDS)


async def list_categories(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    filters: ListFilters,
    show_roots: bool,
    unpublished: bool,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the categories matching `q` and the filters, and the total when asked for."""
    query = parse_query(q, store.CATEGORY_FIELDS)
    valid_from = None if filters.validity_from is None else _day(filters.validity_from, "validityFrom")
    # "validity.to before the given day": up to the end of that day.
    valid_to = None if filters.validity_to is None else _day(filters.validity_to, "validityTo") + timedelta(days=1)
    modified = (
        None if filters.metadata_modified_at is None else _day(filters.metadata_modified_at, "metadataModifiedAt")
    )
    localized = (
        ("localizedName", filters.localized_name),
        ("localizedDescription", filters.localized_description),
        ("localizedSlug", filters.localized_slug),
    )
    categories = store.CategoryFilter(
        Search(query, _ordering(sort, languages, default_language)),
        show_unpublished=show_unpublished(caller, unpublished),
        roots_only=show_roots,
        code=filters.code,
        ecn=filters.ecn,
        localized=tuple((name, value) for name, value in localized if value is not None),
        languages=languages,
        valid_from_after=valid_from,
        valid_to_before=valid_to,
        modified_after=modified,
    )
    rows, total = await db.read(
        caller.read_key,
        lambda conn: store.list_categories(conn, caller.tenant, categories, page=page, with_total=with_total),
    )
    return [category_document(r, default_language) for r in rows], total


async def _visible(conn: Connection, caller: Caller, category_id: str, unpublished: bool) -> CategoryRow:
    """The category, or 404 when there is none or it is unpublished and unpublished ones are not shown."""
    row = await store.fetch_category(conn, caller.tenant, category_id)
    if row is None or not (row.published or unpublished):
        raise not_found(category_id)
    return row


async def get_category(
    db: Database, caller: Caller, category_id: str, *, unpublished: bool, default_language: str
) -> dict[str, Any]:
    """One category; 404 when there is none, or when it is unpublished and `showUnpublished` is not true."""
    shown = show_unpublished(caller, unpublished)
    async with db.connection() as conn:
        row = await _visible(conn, caller, category_id, shown)
    return category_document(row, default_language)


async def list_parents(
    db: Database,
    caller: Caller,
    category_id: str,
    *,
    unpublished: bool,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of a category's ancestors, root first; a root has none (an empty list, not a 404)."""
    shown = show_unpublished(caller, unpublished)
    ordering = _ordering(sort, languages, default_language)
    async with db.connection() as conn:
        await _visible(conn, caller, category_id, shown)
        rows, total = await closure_store.list_ancestors(
            conn, caller.tenant, category_id, ordering, unpublished=shown, page=page, with_total=with_total
        )
    return [category_document(r, default_language) for r in rows], total


#: The deepest `depth` of a subcategory list: far below any real tree's height, and within PostgreSQL's integer.
MAX_SUBCATEGORY_DEPTH = 1000


async def list_subcategories(
    db: Database,
    caller: Caller,
    category_id: str,
    *,
    depth: int | None,
    unpublished: bool,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the categories below a category down to `depth` (None: all), level by level."""
    if depth is not None and not 1 <= depth <= MAX_SUBCATEGORY_DEPTH:
        raise BadRequest(
            f"Invalid depth '{depth}': expected an integer from 1 to {MAX_SUBCATEGORY_DEPTH}.",
            field="depth",
            type="invalid_query_parameter",
        )
    shown = show_unpublished(caller, unpublished)
    ordering = _ordering(sort, languages, default_language)
    async with db.connection() as conn:
        await _visible(conn, caller, category_id, shown)
        rows, total = await closure_store.list_descendants(
            conn,
            caller.tenant,
            category_id,
            ordering,
            depth=depth,
            unpublished=shown,
            page=page,
            with_total=with_total,
        )
    return [category_document(r, default_language) for r in rows], total


async def category_trees(
    db: Database,
    caller: Caller,
    *,
    unpublished: bool,
    category_ids: Sequence[str] | None,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> list[dict[str, Any]]:
    """The tenant's category trees (only those holding one of `category_ids` when given), roots in sibling order."""
    shown = show_unpublished(caller, unpublished)
    async with db.connection() as conn:
        if category_ids is None:
            rows = await closure_store.fetch_all(conn, caller.tenant)
        else:
            roots = await closure_store.roots_of(conn, caller.tenant, list(dict.fromkeys(category_ids)))
            rows = await closure_store.fetch_subtrees(conn, caller.tenant, roots) if roots else []
    return build_forest(rows, lambda r: tree_node(r, default_language, languages), unpublished=shown)


async def category_tree(
    db: Database,
    caller: Caller,
    root_id: str,
    *,
    unpublished: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> dict[str, Any]:
    """The tree under a root category; 404 unless `root_id` is a (visible) root."""
    shown = show_unpublished(caller, unpublished)
    async with db.connection() as conn:
        rows = await closure_store.fetch_subtrees(conn, caller.tenant, [root_id])
    forest = build_forest(
        rows, lambda r: tree_node(r, default_language, languages), unpublished=shown, root_ids=[root_id]
    )
    if not forest:
        raise NotFound(f"Category with id {root_id} is not a root category, or does not exist.", resource_id=root_id)
    return forest[0]


@asynccontextmanager
async def _borrowed(db_or_conn: Database | Connection) -> AsyncIterator[Connection]:
    """The connection to run on: the caller's own, or one borrowed from the pool."""
    if isinstance(db_or_conn, Database):
        async with db_or_conn.connection() as conn:
            yield conn
    else:
        yield db_or_conn


async def category_exists(
    conn: Database | Connection, tenant: str, category_id: str, *, for_write: bool = False
) -> bool:
    """Whether the tenant has a category with this id, published or not. `for_write` keeps it from being deleted
    until the caller's transaction ends, for a write that stores a reference to it (as `product_exists`)."""
    async with _borrowed(conn) as c:
        if for_write:
            return await store.category_exists_locked(c, tenant, category_id)
        return await store.category_exists(c, tenant, category_id)


async def fetch_categories(conn: Database | Connection, tenant: str, ids: Sequence[str]) -> dict[str, CategoryRow]:
    """The tenant's categories with these ids, published or not, by id (one query); unknown ids are left out."""
    if not ids:
        return {}
    async with _borrowed(conn) as c:
        rows = await store.fetch_categories(c, tenant, ids)
    return {r.id: r for r in rows}


async def subtree_ids(conn: Database | Connection, tenant: str, category_id: str) -> list[str]:
    """The category's id and the ids of every category below it, nearest first (one query on the closure table;
    empty when the category does not exist)."""
    async with _borrowed(conn) as c:
        return await closure_store.subtree_ids(c, tenant, category_id)
