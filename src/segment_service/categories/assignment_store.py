"""Category assignment SQL (table `category_assignments`, migration 0007). Every statement filters on tenant.

The list statements are put together from the constant fragments below and the ORDER BY of the checked `sort` over
`ASSIGNMENT_FIELDS` / `CATEGORY_FIELDS` (core/listing.py); every value is a bound parameter. The hot list reads the
`products` table in a JOIN for `ref.localizedName` and `hideUnpublishedProducts`, so that a page costs one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import msgspec

from segment_service.categories import store as category_store
from segment_service.categories.store import CategoryRow
from segment_service.core.db import Connection
from segment_service.core.errors import BadRequest, Conflict, NotFound
from segment_service.core.listing import ListStatement, Ordering, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind
from segment_service.core.timefmt import iso_sql

#: The public paths of an assignment for `sort`. `ref.localizedName` is the product's name.
ASSIGNMENT_FIELDS: dict[str, Field] = {
    "id": Field("a.id", FieldKind.TEXT),
    "categoryId": Field("a.category_id", FieldKind.TEXT),
    "ref.id": Field("a.product_id", FieldKind.TEXT),
    "ref.type": Field("a.ref_type", FieldKind.TEXT),
    "ref.localizedName": Field("p.name", FieldKind.LOCALIZED),
}
#: The paging order of assignments, after any `sort` fields: the unique index's order (migration 0007).
ASSIGNMENT_ORDER = "a.category_id ASC, a.product_id"

#: The public paths of a category for `sort` in "the categories of a product".
CATEGORY_FIELDS: dict[str, Field] = {
    "id": Field("c.id", FieldKind.TEXT),
    "parentId": Field("c.parent_id", FieldKind.TEXT),
    "type": Field("c.type", FieldKind.TEXT),
    "code": Field("c.code", FieldKind.TEXT),
    "localizedName": Field("c.localized_name", FieldKind.LOCALIZED),
    "localizedDescription": Field("c.localized_description", FieldKind.LOCALIZED),
    "localizedSlug": Field("c.localized_slug", FieldKind.LOCALIZED),
    "position": Field("c.position", FieldKind.NUMBER),
    "published": Field("c.published", FieldKind.BOOLEAN),
    "validity.from": Field("c.valid_from", FieldKind.DATETIME),
    "validity.to": Field("c.valid_to", FieldKind.DATETIME),
    "metadata.version": Field("c.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("c.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("c.modified_at", FieldKind.DATETIME),
}


class AssignmentRow(msgspec.Struct, frozen=True, kw_only=True):
    """An assignment with its product's localized name."""

    id: str
    category_id: str
    ref_type: str
    product_id: str
    product_name: dict[str, str]


@dataclass(frozen=True, slots=True)
class AssignmentFilters:
    """The filters of GET /categories/{categoryId}/assignments."""

    with_subcategories: bool
    show_unpublished: bool
    hide_unpublished_products: bool
    product_id: str | None
    name_contains: str | None
    #: `segmentsIds`: only categories these segments make visible (None: no segment filter).
    segment_ids: tuple[str, ...] | None = None


_SELECT_CATEGORY_PUBLISHED = """
SELECT published
FROM categories
WHERE tenant = $1 AND id = $2
"""

# The assignments of one category ($2), with the product's name.
_FROM_CATEGORY = """
FROM category_assignments a
JOIN products p ON p.tenant = a.tenant AND p.id = a.product_id
"""
_IN_CATEGORY = "a.tenant = $1 AND a.category_id = $2"

# The assignments of a category ($2) and every category below it: the closure gives the subtree in descendant
# order, the unique index each category's assignments in product order (migration 0007).
_FROM_SUBTREE = """
FROM category_closure cc
JOIN categories c ON c.tenant = cc.tenant AND c.id = cc.descendant_id
JOIN category_assignments a ON a.tenant = cc.tenant AND a.category_id = cc.descendant_id
JOIN products p ON p.tenant = a.tenant AND p.id = a.product_id
"""
_IN_SUBTREE = "cc.tenant = $1 AND cc.ancestor_id = $2"
_PUBLISHED_SUBCATEGORIES = "c.published"
# The asked category itself must be visible. An InitPlan run once, so that a page that has rows needs no second
# statement to tell "unknown or unpublished category" (404) from "empty page".
_VISIBLE_CATEGORY = "EXISTS (SELECT 1 FROM categories t WHERE t.tenant = $1 AND t.id = $2 AND t.published)"
_PUBLISHED_PRODUCTS = "p.published"
# `segmentsIds`: the assignment's category is assigned to one of the segments, or lies below a category that is (the
# rule of `POST /segments/match` and of the segments' category trees; docs/categories.md). One probe of the
# category's ancestors (closure, nearest first) against the segments' category items (their item index).
_IN_SEGMENTS = (
    "EXISTS (SELECT 1 FROM category_closure up\n"
    "        JOIN segment_item_assignments si ON si.tenant = up.tenant AND si.item_type = 'CATEGORY'\n"
    "             AND si.item_id = up.ancestor_id\n"
    "        WHERE up.tenant = $1 AND up.descendant_id = {category}\n"
    "          AND si.segment_id = ANY({segments}::text[]))"
)
_PRODUCT_IS = "a.product_id = {product}"
# Any translation of the product's name contains the text, ignoring case (strpos: no LIKE wildcards to escape).
_NAME_CONTAINS = (
    "EXISTS (SELECT 1 FROM jsonb_each_text(p.name) AS n (language, value)\n"
    "        WHERE strpos(lower(n.value), lower({text})) > 0)"
)

# PRODUCT is the only reference type; naming it as a constant lets the unique index answer without the table.
_ASSIGNMENT_COLUMNS = "a.id, a.category_id, 'PRODUCT' AS ref_type, a.product_id, p.name AS product_name"

_INSERT_ASSIGNMENT = """
INSERT INTO category_assignments (tenant, id, category_id, product_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT ON CONSTRAINT category_assignments_product_key DO NOTHING
RETURNING id
"""

# PUT: the existing assignment of the pair is kept (and touched), or a new one made; xmax = 0 marks an insert.
_UPSERT_ASSIGNMENT = """
INSERT INTO category_assignments AS a (tenant, id, category_id, product_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT ON CONSTRAINT category_assignments_product_key DO UPDATE
SET modified_at = now()
RETURNING a.id, (a.xmax = 0) AS created
"""

_SELECT_ASSIGNMENT_ID = """
SELECT id
FROM category_assignments
WHERE tenant = $1 AND category_id = $2 AND product_id = $3
"""

_DELETE_CATEGORY_ASSIGNMENTS = """
DELETE FROM category_assignments
WHERE tenant = $1 AND category_id = $2
RETURNING id, category_id, product_id
"""

_DELETE_ASSIGNMENT = """
DELETE FROM category_assignments
WHERE tenant = $1 AND category_id = $2 AND id = $3
RETURNING id, category_id, product_id
"""

_DELETE_ASSIGNMENT_OF_PRODUCT = """
DELETE FROM category_assignments
WHERE tenant = $1 AND category_id = $2 AND product_id = $3
RETURNING id, category_id, product_id
"""

_DELETE_PRODUCT_ASSIGNMENTS = """
DELETE FROM category_assignments
WHERE tenant = $1 AND product_id = $2
RETURNING id, category_id, product_id
"""

# The ancestors of a category, root first (the closure's depth counts up from the category itself).
_SUPERCATEGORIES = """
(SELECT array_agg(up.ancestor_id ORDER BY up.depth DESC)
 FROM category_closure up
 WHERE up.tenant = c.tenant AND up.descendant_id = c.id AND up.depth > 0)"""

_FROM_CATEGORIES_OF_PRODUCT = """
FROM category_assignments a
JOIN categories c ON c.tenant = a.tenant AND c.id = a.category_id
"""
_OF_PRODUCT = "a.tenant = $1 AND a.product_id = $2"
_PUBLISHED_CATEGORIES = "c.published"

_PRODUCT_HAS_ASSIGNMENTS = """
SELECT EXISTS (SELECT 1 FROM category_assignments WHERE tenant = $1 AND product_id = $2)
"""


def category_not_found(category_id: str) -> NotFound:
    """The spec's 404 for a category that does not exist (or that the caller may not see)."""
    return NotFound(f"Category with id '{category_id}' not found.", resource_id=category_id)


def product_missing(product_id: str) -> BadRequest:
    """The 400 for an assignment of a product that does not exist."""
    return BadRequest(
        f"Product '{product_id}' does not exist in this tenant; create it first (POST /product/{{tenant}}/products).",
        field="ref.id",
        type="invalid_reference",
    )


def _translate_fk(exc: asyncpg.ForeignKeyViolationError, category_id: str, product_id: str) -> Exception:
    # The category or the product was deleted after the service checked it: the same answer as if it had been gone
    # before.
    if exc.constraint_name == "category_assignments_category_fkey":
        return category_not_found(category_id)
    if exc.constraint_name == "category_assignments_product_fkey":
        return product_missing(product_id)
    return exc


async def category_published(conn: Connection, tenant: str, category_id: str) -> bool | None:
    """Whether the category is published; None when it does not exist."""
    value = await conn.fetchval(_SELECT_CATEGORY_PUBLISHED, tenant, category_id)
    return None if value is None else bool(value)


def _assignment(record: asyncpg.Record) -> AssignmentRow:
    return AssignmentRow(**record)


_CATEGORY_ASSIGNMENTS = ListStatement(
    _ASSIGNMENT_COLUMNS, _FROM_CATEGORY, _IN_CATEGORY, _assignment, tiebreak=ASSIGNMENT_ORDER
)
_SUBTREE_ASSIGNMENTS = ListStatement(
    _ASSIGNMENT_COLUMNS, _FROM_SUBTREE, _IN_SUBTREE, _assignment, tiebreak=ASSIGNMENT_ORDER
)


async def list_assignments(
    conn: Connection,
    tenant: str,
    category_id: str,
    filters: AssignmentFilters,
    ordering: Ordering,
    *,
    page: Page,
    with_total: bool,
) -> tuple[list[AssignmentRow], int | None]:
    """One page of a category's assignments (with `with_subcategories`, of its whole subtree), one statement, and
    the total when asked for."""
    statement = _SUBTREE_ASSIGNMENTS if filters.with_subcategories else _CATEGORY_ASSIGNMENTS
    criteria = statement.criteria(tenant, category_id)
    if not filters.show_unpublished:
        criteria.where(_VISIBLE_CATEGORY)
        if filters.with_subcategories:
            criteria.where(_PUBLISHED_SUBCATEGORIES)
    if filters.hide_unpublished_products:
        criteria.where(_PUBLISHED_PRODUCTS)
    if filters.product_id is not None:
        criteria.where(_PRODUCT_IS.format(product=criteria.bind(filters.product_id)))
    if filters.name_contains is not None:
        criteria.where(_NAME_CONTAINS.format(text=criteria.bind(filters.name_contains)))
    if filters.segment_ids is not None:
        segments = criteria.bind(list(filters.segment_ids))
        # In a subtree the probe is per category (the closure row), not per assignment; for one category it is
        # about $2 alone, so PostgreSQL runs it once.
        category = "cc.descendant_id" if filters.with_subcategories else "$2"
        criteria.where(_IN_SEGMENTS.format(category=category, segments=segments))
    return await fetch_page(conn, statement, criteria, ordering, page=page, with_total=with_total)


async def insert_assignment(
    conn: Connection, tenant: str, assignment_id: str, category_id: str, product_id: str
) -> None:
    """Store a new assignment; Conflict (naming the existing one) when the product is already in the category."""
    try:
        created = await conn.fetchval(_INSERT_ASSIGNMENT, tenant, assignment_id, category_id, product_id)
    except asyncpg.ForeignKeyViolationError as exc:
        raise _translate_fk(exc, category_id, product_id) from exc
    if created is None:
        existing = await conn.fetchval(_SELECT_ASSIGNMENT_ID, tenant, category_id, product_id)
        raise Conflict(
            f"Product '{product_id}' is already assigned to category '{category_id}' (assignment "
            f"'{existing}'); PUT /categories/{category_id}/assignments/references/{product_id} keeps "
            "it without an error.",
            resource_id=existing,
        )


async def upsert_assignment(
    conn: Connection, tenant: str, assignment_id: str, category_id: str, product_id: str
) -> tuple[str, bool]:
    """The pair's assignment, made with `assignment_id` when there was none: (its id, whether it was created)."""
    try:
        record = await conn.fetchrow(_UPSERT_ASSIGNMENT, tenant, assignment_id, category_id, product_id)
    except asyncpg.ForeignKeyViolationError as exc:
        raise _translate_fk(exc, category_id, product_id) from exc
    assert record is not None  # an upsert always returns its row
    return str(record["id"]), bool(record["created"])


#: (assignment id, category id, product id) of a removed assignment: what its change event names.
RemovedAssignment = tuple[str, str, str]


def _removed(records: list[asyncpg.Record]) -> list[RemovedAssignment]:
    return [(r["id"], r["category_id"], r["product_id"]) for r in records]


async def delete_category_assignments(conn: Connection, tenant: str, category_id: str) -> list[RemovedAssignment]:
    """Delete every assignment of a category; the removed ones."""
    return _removed(await conn.fetch(_DELETE_CATEGORY_ASSIGNMENTS, tenant, category_id))


async def delete_assignment(
    conn: Connection, tenant: str, category_id: str, assignment_id: str
) -> list[RemovedAssignment]:
    """Delete one assignment of a category by its id; the removed one, if any."""
    return _removed(await conn.fetch(_DELETE_ASSIGNMENT, tenant, category_id, assignment_id))


async def delete_assignment_of_product(
    conn: Connection, tenant: str, category_id: str, product_id: str
) -> list[RemovedAssignment]:
    """Delete the assignment of a product to a category; the removed one, if any."""
    return _removed(await conn.fetch(_DELETE_ASSIGNMENT_OF_PRODUCT, tenant, category_id, product_id))


async def delete_product_assignments(conn: Connection, tenant: str, product_id: str) -> list[RemovedAssignment]:
    """Delete every category assignment of a product; the removed ones."""
    return _removed(await conn.fetch(_DELETE_PRODUCT_ASSIGNMENTS, tenant, product_id))


def _category_with_supercategories(record: asyncpg.Record) -> tuple[CategoryRow, list[str] | None]:
    return category_store.row(record), record["supercategories_ids"]


async def list_categories_of_product(
    conn: Connection,
    tenant: str,
    product_id: str,
    ordering: Ordering,
    *,
    show_unpublished: bool,
    with_supercategories: bool,
    page: Page,
    with_total: bool,
) -> tuple[list[tuple[CategoryRow, list[str] | None]], int | None]:
    """One page of the categories a product is assigned to, each with its ancestors' ids (root first) when asked
    for, and the total when asked for."""
    supercategories = _SUPERCATEGORIES if with_supercategories else "NULL::text[]"
    statement = ListStatement(
        f"{category_store.COLUMNS}, {supercategories} AS supercategories_ids",
        _FROM_CATEGORIES_OF_PRODUCT,
        _OF_PRODUCT,
        _category_with_supercategories,
        tiebreak="c.id",
    )
    criteria = statement.criteria(tenant, product_id)
    if not show_unpublished:
        criteria.where(_PUBLISHED_CATEGORIES)
    return await fetch_page(conn, statement, criteria, ordering, page=page, with_total=with_total)


async def product_has_assignments(conn: Connection, tenant: str, product_id: str) -> bool:
    """Whether the product is assigned to any category at all."""
    return bool(await conn.fetchval(_PRODUCT_HAS_ASSIGNMENTS, tenant, product_id))


async def created_at_of(conn: Connection, tenant: str, assignment_ids: Sequence[str]) -> dict[str, str]:
    """When each of these assignments was made (wire format), by id (one statement; webhook payloads)."""
    records = await conn.fetch(
        f"SELECT id, {iso_sql('created_at')} FROM category_assignments WHERE tenant = $1 AND id = ANY($2::text[])",
        tenant,
        list(assignment_ids),
    )
    return {r["id"]: r["created_at"] for r in records}
