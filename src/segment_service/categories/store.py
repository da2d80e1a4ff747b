"""Category SQL: the rows themselves, their ECNs and the list filters. The hierarchy (closure table) SQL is in
`closure_store.py`. Every statement filters on tenant; the only SQL built at run time comes from `core.query` and the
list filters below (placeholders only)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import Criteria, ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind, spec_only
from segment_service.core.timefmt import iso_sql

#: The message category.yml gives for a taken ECN (409).
DUPLICATED_ECN = "Duplicated ECN value - given ECN is already assigned to another category."

#: The public field paths of a category for `q` and `sort`, with the column each one reads. The deprecated `name` and
#: `description` are left out: sorting by a deprecated field is rejected (category.yml, `sort`).
CATEGORY_FIELDS: dict[str, Field] = {
    "id": Field("c.id", FieldKind.TEXT),
    "parentId": Field("c.parent_id", FieldKind.TEXT),
    "type": Field("c.type", FieldKind.TEXT),
    "code": Field("c.code", FieldKind.TEXT),
    "localizedName": Field("c.localized_name", FieldKind.LOCALIZED),
    "localizedDescription": Field("c.localized_description", FieldKind.LOCALIZED),
    "localizedSlug": Field("c.localized_slug", FieldKind.LOCALIZED),
    "validity.from": Field("c.valid_from", FieldKind.DATETIME),
    "validity.to": Field("c.valid_to", FieldKind.DATETIME),
    "position": Field("c.position", FieldKind.NUMBER),
    "published": Field("c.published", FieldKind.BOOLEAN),
    "mixins": Field("c.mixins", FieldKind.JSON),
    "metadata.version": Field("c.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("c.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("c.modified_at", FieldKind.DATETIME),
    "metadata.mixins": Field("c.metadata_mixins", FieldKind.JSON),
    # The flat spellings of Emporix's own q examples (docs/decisions.md#the-q-language).
    "metadataCreatedAt": Field("c.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("c.modified_at", FieldKind.DATETIME),
    # Fields of category.yml the service does not store (core/query FieldKind.ABSENT).
    **spec_only(
        "classificationMixins",
        "ownClassificationMixins",
    ),
}
LOCALIZED_FIELDS = ("localizedName", "localizedDescription", "localizedSlug")

#: Every column of a category as the service reads it, date-times already in the wire format.
COLUMNS = (
    "c.id, c.parent_id, c.type, c.code, c.localized_name, c.localized_description, c.localized_slug, c.ecn, "
    "c.position, c.published, c.mixins, c.metadata_mixins, c.version, "
    + ", ".join(
        iso_sql(col, alias)
        for col, alias in (
            ("c.valid_from", "valid_from"),
            ("c.valid_to", "valid_to"),
            ("c.created_at", "created_at"),
            ("c.modified_at", "modified_at"),
        )
    )
)


class CategoryContent(msgspec.Struct, kw_only=True):
    """What a client writes of a category; the database keeps the version and the timestamps."""

    id: str
    parent_id: str | None
    type: str
    code: str | None
    localized_name: dict[str, str]
    localized_description: dict[str, str] | None
    localized_slug: dict[str, str] | None
    ecn: list[str]
    valid_from: datetime | None
    valid_to: datetime | None
    position: int
    published: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class CategoryRow(msgspec.Struct, kw_only=True, frozen=True):
    """A stored category; date-times are `2024-05-14T12:00:00.000Z` strings."""

    id: str
    parent_id: str | None
    type: str
    code: str | None
    localized_name: dict[str, str]
    localized_description: dict[str, str] | None
    localized_slug: dict[str, str] | None
    ecn: list[str]
    valid_from: str | None
    valid_to: str | None
    position: int | None
    published: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None
    version: int
    created_at: str
    modified_at: str


def row(record: asyncpg.Record) -> CategoryRow:
    """A fetched record as a CategoryRow (the record must hold `COLUMNS`)."""
    return CategoryRow(**{k: record[k] for k in CategoryRow.__struct_fields__})


_SELECT_CATEGORY = f"""
SELECT {COLUMNS}
FROM categories c
WHERE c.tenant = $1 AND c.id = $2
"""

_SELECT_CATEGORIES = f"""
SELECT {COLUMNS}
FROM categories c
WHERE c.tenant = $1 AND c.id = ANY($2::text[])
"""

_CATEGORY_EXISTS = """
SELECT EXISTS (SELECT 1 FROM categories WHERE tenant = $1 AND id = $2)
"""

# FOR KEY SHARE: the category cannot be deleted until the caller's transaction ends (other writes of it go on).
_LOCK_CATEGORY_KEY = """
SELECT 1 FROM categories WHERE tenant = $1 AND id = $2 FOR KEY SHARE
"""

_INSERT_CATEGORY = """
INSERT INTO categories (tenant, id, parent_id, type, code, localized_name, localized_description, localized_slug, ecn,
                        valid_from, valid_to, position, published, mixins, metadata_mixins, version, created_at,
                        modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, now(), now())
"""

# Replace only when the stored version is the one the client saw ($16 NULL: no optimistic lock).
_UPDATE_CATEGORY = """
UPDATE categories AS c
SET parent_id = $3, type = $4, code = $5, localized_name = $6, localized_description = $7, localized_slug = $8,
    ecn = $9, valid_from = $10, valid_to = $11, position = $12, published = $13, mixins = $14, metadata_mixins = $15,
    version = c.version + 1, modified_at = now()
WHERE c.tenant = $1 AND c.id = $2 AND ($16::integer IS NULL OR c.version = $16)
"""

_DELETE_ECNS = """
DELETE FROM category_ecns
WHERE tenant = $1 AND category_id = $2
"""

_INSERT_ECNS = """
INSERT INTO category_ecns (tenant, ecn, category_id)
SELECT $1, e.ecn, $2
FROM unnest($3::text[]) AS e(ecn)
"""


def _values(content: CategoryContent) -> tuple[Any, ...]:
    return (
        content.parent_id,
        content.type,
        content.code,
        content.localized_name,
        content.localized_description,
        content.localized_slug,
        content.ecn,
        content.valid_from,
        content.valid_to,
        content.position,
        content.published,
        content.mixins,
        content.metadata_mixins,
    )


@contextmanager
def _conflicts(content: CategoryContent) -> Iterator[None]:
    """Turn a taken id, code or ECN into the 409 category.yml describes."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "categories_pkey":
            raise Conflict(f"A category with id '{content.id}' already exists.", resource_id=content.id) from exc
        if exc.constraint_name == "categories_code_key":
            raise Conflict(
                f"A category with code '{content.code}' already exists; category codes are unique "
                "(regardless of case).",
                resource_id=content.id,
            ) from exc
        if exc.constraint_name == "category_ecns_pkey":
            raise Conflict(DUPLICATED_ECN, resource_id=content.id) from exc
        raise


async def fetch_category(
    conn: Connection, tenant: str, category_id: str, *, for_update: bool = False
) -> CategoryRow | None:
    """The category with this id (locked until the transaction ends with `for_update`), or None."""
    record = await conn.fetchrow(_SELECT_CATEGORY + ("FOR UPDATE" if for_update else ""), tenant, category_id)
    return None if record is None else row(record)


async def fetch_categories(conn: Connection, tenant: str, ids: Sequence[str]) -> list[CategoryRow]:
    """The categories with these ids that exist, in no particular order."""
    return [row(r) for r in await conn.fetch(_SELECT_CATEGORIES, tenant, list(ids))]


async def category_exists(conn: Connection, tenant: str, category_id: str) -> bool:
    """Whether the tenant has a category with this id."""
    return bool(await conn.fetchval(_CATEGORY_EXISTS, tenant, category_id))


async def category_exists_locked(conn: Connection, tenant: str, category_id: str) -> bool:
    """`category_exists`, keeping the category from being deleted until the transaction ends."""
    return bool(await conn.fetch(_LOCK_CATEGORY_KEY, tenant, category_id))


async def insert_category(conn: Connection, tenant: str, content: CategoryContent) -> None:
    """Store a new category at version 1 with its ECNs; Conflict when its id, code or an ECN is taken."""
    with _conflicts(content):
        await conn.execute(_INSERT_CATEGORY, tenant, content.id, *_values(content))
        if content.ecn:
            await conn.execute(_INSERT_ECNS, tenant, content.id, content.ecn)


async def update_category(
    conn: Connection, tenant: str, content: CategoryContent, expected_version: int | None
) -> bool:
    """Replace a category's content and ECNs; False when its version is not `expected_version` (or it is gone)."""
    with _conflicts(content):
        status = await conn.execute(_UPDATE_CATEGORY, tenant, content.id, *_values(content), expected_version)
        if str(status) == "UPDATE 0":
            return False
        await conn.execute(_DELETE_ECNS, tenant, content.id)
        if content.ecn:
            await conn.execute(_INSERT_ECNS, tenant, content.id, content.ecn)
    return True


@dataclass(frozen=True, slots=True)
class CategoryFilter:
    """GET /categories: the checked `q` and `sort` and the list filters, dates already parsed. `localized` holds
    (filter name, value) pairs matched in `languages` (None: any language); `valid_to_before` is exclusive."""

    search: Search
    show_unpublished: bool
    roots_only: bool = False
    code: str | None = None
    ecn: str | None = None
    localized: tuple[tuple[str, str], ...] = ()
    languages: tuple[str, ...] | None = None
    valid_from_after: datetime | None = None
    valid_to_before: datetime | None = None
    modified_after: datetime | None = None


_CATEGORIES = ListStatement(COLUMNS, "FROM categories c", "c.tenant = $1", row, tiebreak="c.id")


async def list_categories(
    conn: Connection, tenant: str, categories: CategoryFilter, *, page: Page, with_total: bool
) -> tuple[list[CategoryRow], int | None]:
    """One page of the categories matching the filter, and the total when asked for."""
    criteria = _CATEGORIES.criteria(tenant, query=categories.search.query)
    if categories.code is not None:
        # Exact and case-insensitive (served by categories_code_key).
        criteria.where(f"lower(c.code) = lower({criteria.bind(categories.code)}::text)")
    if categories.ecn is not None:
        # Exact (served by category_ecns_pkey).
        criteria.where(
            "c.id IN (SELECT e.category_id FROM category_ecns e WHERE e.tenant = $1 "
            f"AND e.ecn = {criteria.bind(categories.ecn)}::text)"
        )
    for name, value in categories.localized:
        criteria.where(_localized_condition(criteria, name, value, categories.languages))
    if categories.valid_from_after is not None:
        criteria.where(f"c.valid_from >= {criteria.bind(categories.valid_from_after)}::timestamptz")
    if categories.valid_to_before is not None:
        criteria.where(f"c.valid_to < {criteria.bind(categories.valid_to_before)}::timestamptz")
    if categories.modified_after is not None:
        criteria.where(f"c.modified_at >= {criteria.bind(categories.modified_after)}::timestamptz")
    if not categories.show_unpublished:
        criteria.where("c.published")
    if categories.roots_only:
        criteria.where("c.parent_id IS NULL")
    return await fetch_page(conn, _CATEGORIES, criteria, categories.search.ordering, page=page, with_total=with_total)


#: The columns the localized list filters read; the keys are the query parameters' names.
_LOCALIZED_COLUMNS = {
    "localizedName": "c.localized_name",
    "localizedDescription": "c.localized_description",
    "localizedSlug": "c.localized_slug",
}


def _localized_condition(criteria: Criteria, name: str, value: str, languages: Sequence[str] | None) -> str:
    """`localizedName` / `localizedDescription` / `localizedSlug` filters: some translation in one of `languages`
    (any language when None) equals `value`, ignoring case."""
    column = _LOCALIZED_COLUMNS[name]
    value_sql = criteria.bind(value)
    languages_sql = criteria.bind(None if languages is None else list(languages))
    return (
        f"EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof({column}) = 'object' THEN {column} END)"
        f" AS l(k, v) WHERE lower(l.v) = lower({value_sql}::text)"
        f" AND ({languages_sql}::text[] IS NULL OR l.k = ANY({languages_sql}::text[])))"
    )
