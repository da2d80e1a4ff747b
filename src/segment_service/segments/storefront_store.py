"""Storefront SQL: the items of the caller's segments, their category tree, and `match` (operations 11, 22, 23).

Every read is one statement. "Which segments" is a condition on `segments s` built here from the scope the service
decides (the caller's active memberships, the site); the statements put it in a semi-join, so PostgreSQL starts from
the customer's few membership rows (segment_customer_assignments_customer_idx) and walks the assignments' primary keys
from there. The category hierarchy comes from the closure table, never from a recursive walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.listing import Criteria, ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.timefmt import iso_sql
from segment_service.segments import item_assignment_store as item_store
from segment_service.segments.item_assignment_store import ItemAssignmentRow
from segment_service.segments.store import ACTIVE_CONDITION, SegmentVisibility, restrict_to_visible

#: The paging order of the items of several segments: the item assignments' primary key.
ITEMS_ORDER = "a.segment_id ASC, a.item_type ASC, a.item_id"


@dataclass(frozen=True, slots=True)
class SegmentScope:
    """Whose segments' items a storefront read covers: the caller's visible segments, of `site_code` when given.
    `few`: the visibility names a handful of segments (a customer's memberships). `ids`: exactly these segments,
    whatever the visibility says (a cached read's segments, read by `active_versions` a statement before)."""

    visibility: SegmentVisibility
    site_code: str | None
    few: bool
    ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """GET /segments/items: the segments in scope and the checked `q` and `sort`."""

    scope: SegmentScope
    search: Search


def _in_segments(criteria: Criteria, scope: SegmentScope, assignment: str = "a") -> str | None:
    """SQL: the item assignment `assignment` belongs to a segment in `scope`; None when every segment is.

    `few`: the condition names a handful of segments (a customer's memberships). They are gathered into an array
    first (an InitPlan), so the assignments are read by primary key range per segment. As a semi-join, the planner
    may instead walk the whole primary key in page order, hoping to fill a page early: seconds on a large tenant.
    With many segments (a service token's filters) that ordered walk is the right plan, so the semi-join stays."""
    if scope.ids is not None:
        return f"{assignment}.segment_id = ANY({criteria.bind(list(scope.ids))}::text[])"
    segments = criteria.inner()
    restrict_to_visible(segments, scope.visibility)
    if scope.site_code is not None:
        segments.where(f"s.site_code = {segments.bind(scope.site_code)}")
    if not segments:
        return None
    sql = f"SELECT s.id FROM segments s WHERE s.tenant = $1 AND {segments.sql}"
    return f"{assignment}.segment_id = ANY(ARRAY({sql}))" if scope.few else f"{assignment}.segment_id IN ({sql})"


@dataclass(frozen=True, slots=True)
class SegmentVersions:
    """What a cached answer of some segments is keyed by (docs/answers.md): the segments with their answer versions,
    in the database's order of their ids (the order of ITEMS_ORDER), and the catalogue's version."""

    segments: tuple[tuple[str, int], ...]
    catalogue: int
    #: Seconds until the validity window of one of the scope's segments opens or closes (when asked for and one
    #: will): until then the set of active segments stays as read, unless a write changes it.
    changes_in: float | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(segment_id for segment_id, _ in self.segments)


# The segments in scope (their id, their answer version) in id order and, in a last row whose id is NULL, the
# catalogue's version and the seconds until the next validity boundary of the `{candidates}` (NULL: none).
_VERSIONS = """
SELECT s.id, coalesce(v.version, 0), NULL::float8
FROM segments s
LEFT JOIN answer_versions v ON v.tenant = s.tenant AND v.scope = s.id
WHERE s.tenant = $1 AND {segments}
UNION ALL
SELECT NULL, coalesce((SELECT c.version FROM answer_versions c WHERE c.tenant = $1 AND c.scope = ''), 0), {changes_in}
ORDER BY 1 NULLS LAST
"""

# From the clock as the statement runs (later than the ticket's start), not now(): within a transaction (pooler-safe
# mode) now() is its start, and the time left would be counted from too early.
_CHANGES_IN = """(SELECT extract(epoch FROM min(b.at) - clock_timestamp())::float8
  FROM segments s CROSS JOIN LATERAL (VALUES (s.valid_from), (s.valid_to)) AS b(at)
  WHERE s.tenant = $1 AND {candidates} AND b.at > now())"""


def _versions(records: list[asyncpg.Record]) -> SegmentVersions:
    catalogue = 0
    changes_in: float | None = None
    segments: list[tuple[str, int]] = []
    for segment_id, version, seconds in records:
        if segment_id is None:
            catalogue, changes_in = version, seconds
        else:
            segments.append((segment_id, version))
    return SegmentVersions(tuple(segments), catalogue, changes_in)


async def active_versions(
    conn: Connection, tenant: str, scope: SegmentScope, *, changes_in: bool = False
) -> SegmentVersions:
    """The segments of `scope` (the caller's visible ones, of the site) and their versions: one statement, which for
    a customer starts from its few membership rows. `changes_in`: also when the first validity window of the
    caller's segments (active or not) opens or closes."""
    criteria = Criteria(tenant)
    restrict_to_visible(criteria, scope.visibility)
    if scope.site_code is not None:
        criteria.where(f"s.site_code = {criteria.bind(scope.site_code)}")
    boundary = "NULL::float8"
    if changes_in:
        candidates = criteria.inner()
        restrict_to_visible(candidates, replace(scope.visibility, active_only=False))
        boundary = _CHANGES_IN.format(candidates=candidates.sql)
    sql = _VERSIONS.format(segments=criteria.sql or "TRUE", changes_in=boundary)
    return _versions(await conn.fetch(sql, *criteria.values))


async def match_versions(
    conn: Connection, tenant: str, segment_ids: Sequence[str], site_code: str, *, changes_in: bool = False
) -> SegmentVersions:
    """The segments of `segment_ids` active now on the site, and their versions (what `match` reads); `changes_in`:
    also when the first validity window of the named segments opens or closes."""
    boundary = _CHANGES_IN.format(candidates="s.id = ANY($2::text[])") if changes_in else "NULL::float8"
    sql = _VERSIONS.format(
        segments=f"s.id = ANY($2::text[]) AND s.site_code = $3 AND {ACTIVE_CONDITION}", changes_in=boundary
    )
    return _versions(await conn.fetch(sql, tenant, list(segment_ids), site_code))


_ITEMS = ListStatement(
    item_store.COLUMNS,
    item_store.FROM,
    "a.tenant = $1",
    item_store.row,
    tiebreak=ITEMS_ORDER,
    count_source="FROM segment_item_assignments a",
)


_SEGMENT_ITEMS = f"""
SELECT {item_store.COLUMNS}
{item_store.FROM}
WHERE a.tenant = $1 AND a.segment_id = ANY($2::text[])
ORDER BY {ITEMS_ORDER}
"""


async def segment_items(conn: Connection, tenant: str, segment_ids: Sequence[str]) -> list[ItemAssignmentRow]:
    """Every item assignment of the segments, in ITEMS_ORDER (a cached read's segments that no cache holds)."""
    return [item_store.row(r) for r in await conn.fetch(_SEGMENT_ITEMS, tenant, list(segment_ids))]


async def list_items(
    conn: Connection, tenant: str, items: ItemFilter, *, page: Page, with_total: bool
) -> tuple[list[ItemAssignmentRow], int | None]:
    """One page of the item assignments of the segments in scope that match the filter, and the total when asked
    for."""
    criteria = _ITEMS.criteria(tenant)
    in_segments = _in_segments(criteria, items.scope)
    if in_segments is not None:
        criteria.where(in_segments)
    criteria.match(items.search.query)
    return await fetch_page(conn, _ITEMS, criteria, items.search.ordering, page=page, with_total=with_total)


class TreeRow(msgspec.Struct, frozen=True, array_like=True):
    """A category of a segments' tree: what a `CategoryTreeResponse` node shows, and whether it is segment content.
    Read positionally (`TreeRow(*record)`), so the field order is `_TREE`'s column order."""

    id: str
    parent_id: str | None
    code: str | None
    localized_name: dict[str, str]
    localized_description: dict[str, str] | None
    localized_slug: dict[str, str] | None
    ecn: list[str]
    position: int | None
    published: bool
    valid_from: str | None
    valid_to: str | None
    is_segment_assigned: bool


# The categories of the segments' tree: every published category that is assigned to one of the segments (a CATEGORY
# item) or lies below one (segment content: `is_segment_assigned`), and every category above those (the path from
# the root, shown for navigation). The closure gives both directions; the ids are grouped before the categories are
# read, so each is read once by its primary key. build_forest then drops what hangs below an unpublished category.
_TREE = """
WITH assigned AS (
    SELECT i.item_id AS id
    FROM segment_item_assignments i
    WHERE i.tenant = $1 AND i.item_type = 'CATEGORY' AND {in_segments}
), nodes AS (
    SELECT n.id, bool_or(n.content) AS content
    FROM (SELECT cc.descendant_id AS id, TRUE AS content
          FROM category_closure cc
          WHERE cc.tenant = $1 AND cc.ancestor_id IN (SELECT id FROM assigned)
          UNION ALL
          SELECT cc.ancestor_id, FALSE
          FROM category_closure cc
          WHERE cc.tenant = $1 AND cc.descendant_id IN (SELECT id FROM assigned) AND cc.depth > 0) n
    GROUP BY n.id
)
SELECT c.id, c.parent_id, c.code, c.localized_name, c.localized_description, c.localized_slug, c.ecn, c.position,
       c.published, {valid_from}, {valid_to}, n.content
FROM nodes n
JOIN categories c ON c.tenant = $1 AND c.id = n.id
WHERE c.published
"""


async def category_tree_rows(conn: Connection, tenant: str, scope: SegmentScope) -> list[TreeRow]:
    """The published categories of the tree of the segments in scope."""
    criteria = Criteria(tenant)
    in_segments = _in_segments(criteria, scope, "i")
    sql = _TREE.format(
        in_segments=in_segments or "TRUE",
        valid_from=iso_sql("c.valid_from"),
        valid_to=iso_sql("c.valid_to"),
    )
    return [TreeRow(*record) for record in await conn.fetch(sql, *criteria.values)]


_ACTIVE_SEGMENTS = f"""
    SELECT array_agg(s.id) AS ids
    FROM segments s
    WHERE s.tenant = $1 AND s.id = ANY($2::text[]) AND s.site_code = $4 AND {ACTIVE_CONDITION}
"""

# The asked products ($3, in the caller's order) that one of the segments ($2, active and of the site $4) holds:
# as a PRODUCT item, or through a category assignment of the product whose category (or a category above it) is a
# CATEGORY item. The active segments are gathered into one array first, so that every probe is an index lookup per
# asked product (the item index on type, id and segment; the product's categories; their ancestors in the closure)
# rather than a hash of everything the segments hold.
_MATCH = """
WITH active AS ({active})
SELECT asked.id
FROM active, unnest($3::text[]) WITH ORDINALITY AS asked (id, position)
WHERE EXISTS (SELECT 1
              FROM segment_item_assignments i
              WHERE i.tenant = $1 AND i.item_type = 'PRODUCT' AND i.item_id = asked.id
                AND i.segment_id = ANY(active.ids))
   OR EXISTS (SELECT 1
              FROM category_assignments ca
              JOIN category_closure up ON up.tenant = ca.tenant AND up.descendant_id = ca.category_id
              JOIN segment_item_assignments i ON i.tenant = up.tenant AND i.item_type = 'CATEGORY'
                   AND i.item_id = up.ancestor_id AND i.segment_id = ANY(active.ids)
              WHERE ca.tenant = $1 AND ca.product_id = asked.id)
ORDER BY asked.position
"""


async def match_products(
    conn: Connection,
    tenant: str,
    segment_ids: Sequence[str],
    product_ids: Sequence[str],
    site_code: str,
    *,
    active: Sequence[str] | None = None,
) -> list[str]:
    """The ids of `product_ids` (each once, in their order) that an active segment of `segment_ids` on the site
    holds, directly or through a category. `active`: those segments, already read (`match_versions`)."""
    if active is not None:
        sql = _MATCH.format(active="SELECT $2::text[] AS ids, $4::text AS site")  # $4 is read by the other form
        segment_ids = active
    else:
        sql = _MATCH.format(active=_ACTIVE_SEGMENTS)
    return [r["id"] for r in await conn.fetch(sql, tenant, list(segment_ids), list(product_ids), site_code)]
