"""Category hierarchy SQL over the closure table `category_closure(tenant, ancestor_id, descendant_id, depth)`.

Every (ancestor, descendant) pair has a row, depth 0 for a category itself, so each subtree or ancestor question is
one indexed statement at any depth. Writes that change the shape (create under a parent, move, delete, rebuild) run in
the service's transaction after `lock_hierarchy`.
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_service.categories.store import COLUMNS, CategoryRow, row
from segment_service.core.db import Connection
from segment_service.core.listing import ListStatement, Ordering, fetch_page
from segment_service.core.paging import Page

# Moves, deletes and rebuilds of one tenant run one at a time (exclusive), so that two concurrent moves cannot close
# a cycle that neither sees alone; creates under a parent take the shared lock, so they run side by side but never
# while a move rewrites their parent's ancestors.
_LOCK_HIERARCHY = """
SELECT pg_advisory_xact_lock(hashtextextended('categories:' || $1, 0))
"""
_LOCK_HIERARCHY_SHARED = """
SELECT pg_advisory_xact_lock_shared(hashtextextended('categories:' || $1, 0))
"""

# A new category ($2) below $3: the parent's ancestor rows one level deeper, plus its own row.
_INSERT_CLOSURE = """
INSERT INTO category_closure (tenant, ancestor_id, descendant_id, depth)
SELECT $1, a.ancestor_id, $2, a.depth + 1
FROM category_closure a
WHERE a.tenant = $1 AND a.descendant_id = $3
UNION ALL
SELECT $1, $2, $2, 0
"""

# Whether $3 is $2 itself or lies below it: moving $2 under $3 would then make it its own ancestor.
_IS_IN_SUBTREE = """
SELECT EXISTS (
    SELECT 1 FROM category_closure
    WHERE tenant = $1 AND ancestor_id = $2 AND descendant_id = $3
)
"""

# Detach the subtree of $2 from its old ancestors: the rows linking a strict ancestor of $2 to anything in it.
_DETACH_SUBTREE = """
DELETE FROM category_closure d
USING category_closure s
WHERE s.tenant = $1 AND s.ancestor_id = $2
  AND d.tenant = $1 AND d.descendant_id = s.descendant_id
  AND d.ancestor_id IN (
      SELECT a.ancestor_id FROM category_closure a
      WHERE a.tenant = $1 AND a.descendant_id = $2 AND a.depth > 0
  )
"""

# Attach the subtree of $2 below $3: every ancestor of $3 (itself included) times every member of the subtree.
_ATTACH_SUBTREE = """
INSERT INTO category_closure (tenant, ancestor_id, descendant_id, depth)
SELECT $1, p.ancestor_id, s.descendant_id, p.depth + s.depth + 1
FROM category_closure p
JOIN category_closure s ON s.tenant = $1 AND s.ancestor_id = $2
WHERE p.tenant = $1 AND p.descendant_id = $3
"""

# Delete $2 and everything below it; the closure rows go with them (ON DELETE CASCADE).
_DELETE_SUBTREE = """
DELETE FROM categories
WHERE tenant = $1 AND id IN (
    SELECT descendant_id FROM category_closure WHERE tenant = $1 AND ancestor_id = $2
)
"""

# Before deleting $2 alone: its children become roots, their subtrees kept. First cut the rows that link $2 or one
# of its ancestors to anything strictly below $2 ...
_CUT_BELOW = """
DELETE FROM category_closure d
USING category_closure s
WHERE s.tenant = $1 AND s.ancestor_id = $2 AND s.depth > 0
  AND d.tenant = $1 AND d.descendant_id = s.descendant_id
  AND d.ancestor_id IN (
      SELECT a.ancestor_id FROM category_closure a
      WHERE a.tenant = $1 AND a.descendant_id = $2
  )
"""

# ... then make the children roots (a change of theirs: version and modifiedAt move on) ...
_PROMOTE_CHILDREN = """
UPDATE categories
SET parent_id = NULL, version = version + 1, modified_at = now()
WHERE tenant = $1 AND parent_id = $2
"""

# ... and delete $2 itself (its own closure rows cascade).
_DELETE_ONE = """
DELETE FROM categories
WHERE tenant = $1 AND id = $2
"""

# Every member of the subtrees of the $2 ids, themselves included (served by the closure primary key).
_SELECT_SUBTREES = f"""
SELECT DISTINCT ON (c.id) {COLUMNS}
FROM category_closure cc
JOIN categories c ON c.tenant = cc.tenant AND c.id = cc.descendant_id
WHERE cc.tenant = $1 AND cc.ancestor_id = ANY($2::text[])
"""

_SELECT_SUBTREE_IDS = """
SELECT descendant_id
FROM category_closure
WHERE tenant = $1 AND ancestor_id = $2
ORDER BY depth, descendant_id
"""

# The roots of the trees holding any of the $2 ids (a root is its own ancestor at depth 0).
_SELECT_ROOTS_OF = """
SELECT DISTINCT cc.ancestor_id
FROM category_closure cc
JOIN categories r ON r.tenant = cc.tenant AND r.id = cc.ancestor_id AND r.parent_id IS NULL
WHERE cc.tenant = $1 AND cc.descendant_id = ANY($2::text[])
"""

_SELECT_ALL = f"""
SELECT {COLUMNS}
FROM categories c
WHERE c.tenant = $1
"""

# The tree under root $2 from `parent_id` alone, each member with its path from the root (the path stops any cycle).
_TREE_BY_PARENT = """
WITH RECURSIVE tree (id, path) AS (
    SELECT c.id, ARRAY[c.id]
    FROM categories c
    WHERE c.tenant = $1 AND c.id = $2
    UNION ALL
    SELECT c.id, t.path || c.id
    FROM categories c
    JOIN tree t ON c.tenant = $1 AND c.parent_id = t.id
    WHERE c.id <> ALL(t.path)
)
"""

# Rebuilding a tree: drop every closure row touching a member ...
_DROP_TREE_ROWS = (
    _TREE_BY_PARENT
    + """
DELETE FROM category_closure d
WHERE d.tenant = $1 AND (d.descendant_id IN (SELECT id FROM tree) OR d.ancestor_id IN (SELECT id FROM tree))
"""
)

# ... and write each member's path again.
_WRITE_TREE_ROWS = (
    _TREE_BY_PARENT
    + """
INSERT INTO category_closure (tenant, ancestor_id, descendant_id, depth)
SELECT $1, p.ancestor_id, t.id, cardinality(t.path) - p.ord
FROM tree t, unnest(t.path) WITH ORDINALITY AS p(ancestor_id, ord)
"""
)

# The ancestors of $2 (root first unless sorted otherwise); $3: unpublished ones too.
_ANCESTORS_FROM = """
FROM category_closure cc
JOIN categories c ON c.tenant = cc.tenant AND c.id = cc.ancestor_id
"""
_ANCESTORS_WHERE = "cc.tenant = $1 AND cc.descendant_id = $2 AND cc.depth > 0 AND ($3::boolean OR c.published)"
#: The parents' default order: from the root down to the nearest.
ANCESTORS_ORDER = "cc.depth DESC"

# The categories below $2 down to depth $3 (NULL: all); with $4 false, only those with no unpublished category
# between $2 and them (themselves included): the subtrees below an unpublished category are cut.
_DESCENDANTS_FROM = """
FROM category_closure cc
JOIN categories c ON c.tenant = cc.tenant AND c.id = cc.descendant_id
"""
_DESCENDANTS_WHERE = """cc.tenant = $1 AND cc.ancestor_id = $2 AND cc.depth > 0
  AND ($3::integer IS NULL OR cc.depth <= $3)
  AND ($4::boolean OR NOT EXISTS (
      SELECT 1
      FROM category_closure up
      JOIN category_closure x ON x.tenant = $1 AND x.ancestor_id = $2 AND x.descendant_id = up.ancestor_id
                             AND x.depth > 0
      JOIN categories u ON u.tenant = $1 AND u.id = up.ancestor_id AND NOT u.published
      WHERE up.tenant = $1 AND up.descendant_id = cc.descendant_id
  ))"""
#: The subcategories' default order: level by level, siblings by position, then id.
DESCENDANTS_ORDER = "cc.depth ASC, coalesce(c.position, 0) ASC, c.id ASC"


async def lock_hierarchy(conn: Connection, tenant: str, *, shared: bool = False) -> None:
    """Serialize changes of the tenant's hierarchy until the transaction ends (shared: only against moves)."""
    await conn.execute(_LOCK_HIERARCHY_SHARED if shared else _LOCK_HIERARCHY, tenant)


async def insert_closure(conn: Connection, tenant: str, category_id: str, parent_id: str | None) -> None:
    """The closure rows of a new category below `parent_id` (None: a root)."""
    await conn.execute(_INSERT_CLOSURE, tenant, category_id, parent_id)


async def is_in_subtree(conn: Connection, tenant: str, root_id: str, category_id: str) -> bool:
    """Whether `category_id` is `root_id` or lies below it."""
    return bool(await conn.fetchval(_IS_IN_SUBTREE, tenant, root_id, category_id))


async def move_subtree(conn: Connection, tenant: str, category_id: str, new_parent_id: str | None) -> None:
    """Rewrite the closure rows of the subtree of `category_id` for its new parent (None: it becomes a root)."""
    await conn.execute(_DETACH_SUBTREE, tenant, category_id)
    if new_parent_id is not None:
        await conn.execute(_ATTACH_SUBTREE, tenant, category_id, new_parent_id)


async def delete_subtree(conn: Connection, tenant: str, category_id: str) -> None:
    """Delete a category and every category below it."""
    await conn.execute(_DELETE_SUBTREE, tenant, category_id)


async def delete_promoting_children(conn: Connection, tenant: str, category_id: str) -> None:
    """Delete a category alone; its children become roots and keep their subtrees."""
    await conn.execute(_CUT_BELOW, tenant, category_id)
    await conn.execute(_PROMOTE_CHILDREN, tenant, category_id)
    await conn.execute(_DELETE_ONE, tenant, category_id)


async def fetch_subtrees(conn: Connection, tenant: str, root_ids: Sequence[str]) -> list[CategoryRow]:
    """Every category in the subtrees of `root_ids`, the roots included, in no particular order."""
    return [row(r) for r in await conn.fetch(_SELECT_SUBTREES, tenant, list(root_ids))]


async def fetch_all(conn: Connection, tenant: str) -> list[CategoryRow]:
    """Every category of the tenant, in no particular order."""
    return [row(r) for r in await conn.fetch(_SELECT_ALL, tenant)]


async def subtree_ids(conn: Connection, tenant: str, category_id: str) -> list[str]:
    """The category and the ids below it, nearest first (empty when it does not exist)."""
    return [r["descendant_id"] for r in await conn.fetch(_SELECT_SUBTREE_IDS, tenant, category_id)]


async def roots_of(conn: Connection, tenant: str, category_ids: Sequence[str]) -> list[str]:
    """The roots of the trees that hold any of `category_ids`."""
    return [r["ancestor_id"] for r in await conn.fetch(_SELECT_ROOTS_OF, tenant, list(category_ids))]


async def rebuild_tree(conn: Connection, tenant: str, root_id: str) -> None:
    """Write the closure rows of the tree under `root_id` again from the categories' `parent_id`."""
    await conn.execute(_DROP_TREE_ROWS, tenant, root_id)
    await conn.execute(_WRITE_TREE_ROWS, tenant, root_id)


_ANCESTORS = ListStatement(
    COLUMNS, _ANCESTORS_FROM, _ANCESTORS_WHERE, row, tiebreak="c.id", default_order=ANCESTORS_ORDER
)
_DESCENDANTS = ListStatement(
    COLUMNS, _DESCENDANTS_FROM, _DESCENDANTS_WHERE, row, tiebreak="c.id", default_order=DESCENDANTS_ORDER
)


async def list_ancestors(
    conn: Connection,
    tenant: str,
    category_id: str,
    ordering: Ordering,
    *,
    unpublished: bool,
    page: Page,
    with_total: bool,
) -> tuple[list[CategoryRow], int | None]:
    """One page of the ancestors of a category (`unpublished`: unpublished ones too), and the total when asked
    for."""
    criteria = _ANCESTORS.criteria(tenant, category_id, unpublished)
    return await fetch_page(conn, _ANCESTORS, criteria, ordering, page=page, with_total=with_total)


async def list_descendants(
    conn: Connection,
    tenant: str,
    category_id: str,
    ordering: Ordering,
    *,
    depth: int | None,
    unpublished: bool,
    page: Page,
    with_total: bool,
) -> tuple[list[CategoryRow], int | None]:
    """One page of the categories below a category, down to `depth` (None: all), and the total when asked for."""
    criteria = _DESCENDANTS.criteria(tenant, category_id, depth, unpublished)
    return await fetch_page(conn, _DESCENDANTS, criteria, ordering, page=page, with_total=with_total)
