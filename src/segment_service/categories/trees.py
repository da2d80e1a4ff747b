"""Category documents and trees, built in Python from flat rows (one query per request, never one per node)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from segment_service.categories.store import CategoryRow
from segment_service.core.languages import localize

__all__ = ["build_forest", "category_document", "deprecated_text", "sibling_order", "tree_node"]

Node = dict[str, Any]


class TreeItem(Protocol):
    """What placing a category in a tree needs (a CategoryRow, or a leaner row read for trees only)."""

    @property
    def id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def position(self) -> int | None: ...
    @property
    def published(self) -> bool: ...


Item = TypeVar("Item", bound=TreeItem)


def deprecated_text(value: dict[str, str] | None, default_language: str) -> str | None:
    """The deprecated plain `name` / `description`: the default language's text, else the first translation."""
    if not value:
        return None
    if default_language in value:
        return value[default_language]
    return next(iter(value.values()))


def _validity(row: CategoryRow) -> dict[str, str] | None:
    validity = {k: v for k, v in (("from", row.valid_from), ("to", row.valid_to)) if v is not None}
    return validity or None


def category_document(row: CategoryRow, default_language: str) -> Node:
    """The category as the API shows it (`Category`), with every language."""
    doc: Node = {"id": row.id}
    if row.parent_id is not None:
        doc["parentId"] = row.parent_id
    doc["type"] = row.type
    doc["localizedName"] = row.localized_name
    doc["name"] = deprecated_text(row.localized_name, default_language) or ""
    if row.localized_description:
        doc["localizedDescription"] = row.localized_description
        doc["description"] = deprecated_text(row.localized_description, default_language)
    if row.localized_slug:
        doc["localizedSlug"] = row.localized_slug
    if row.code is not None:
        doc["code"] = row.code
    if row.ecn:
        doc["ecn"] = row.ecn
    if (validity := _validity(row)) is not None:
        doc["validity"] = validity
    doc["position"] = row.position or 0
    doc["published"] = row.published
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    metadata: Node = {"version": row.version, "createdAt": row.created_at, "modifiedAt": row.modified_at}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    doc["media"] = []  # required by the spec's Category; the service stores no media (docs/categories.md)
    return doc


def tree_node(row: CategoryRow, default_language: str, languages: tuple[str, ...] | None) -> Node:
    """A `CategoryTree` node without its subcategories, localized fields narrowed to `languages` (None: all)."""

    def narrowed(value: dict[str, str]) -> dict[str, str]:
        return localize(value, languages, default_language)

    node: Node = {
        "id": row.id,
        "localizedName": narrowed(row.localized_name),
        "name": deprecated_text(row.localized_name, default_language) or "",
    }
    if row.localized_description:
        node["localizedDescription"] = narrowed(row.localized_description)
        node["description"] = deprecated_text(row.localized_description, default_language)
    if row.localized_slug:
        node["localizedSlug"] = narrowed(row.localized_slug)
    if row.code is not None:
        node["code"] = row.code
    if (validity := _validity(row)) is not None:
        node["validity"] = validity
    node["position"] = row.position or 0
    node["published"] = row.published
    if row.ecn:
        node["ecn"] = row.ecn
    return node


def sibling_order(row: TreeItem) -> tuple[int, str]:
    """Siblings are ordered by position (none counts as 0), then id
    (docs/decisions.md#match-and-the-storefront-reads)."""
    return (row.position or 0, row.id)


def build_forest(
    rows: Iterable[Item],
    node: Callable[[Item], Node],
    *,
    unpublished: bool,
    root_ids: Iterable[str] | None = None,
) -> list[Node]:
    """The trees of `rows`: the roots (categories without a parent; only `root_ids` when given) in sibling order, each
    with its `subcategories` nested in sibling order. Without `unpublished`, a tree with an unpublished root is left
    out and the subtree below an unpublished category is cut. Rows whose parent is not among `rows` are left out, and
    a cycle (which the closure table never holds, but a bad import could) ends the walk instead of looping."""
    children: dict[str | None, list[Item]] = defaultdict(list)
    for r in rows:
        children[r.parent_id].append(r)
    wanted = None if root_ids is None else set(root_ids)
    roots = [r for r in children.get(None, ()) if wanted is None or r.id in wanted]
    forest: list[Node] = []
    seen: set[str] = set()
    # An explicit stack instead of recursion: a tree may be deeper than Python's recursion limit.
    stack: list[tuple[Item, list[Node]]] = [(r, forest) for r in sorted(roots, key=sibling_order, reverse=True)]
    while stack:
        current, siblings = stack.pop()
        if current.id in seen or not (unpublished or current.published):
            continue
        seen.add(current.id)
        built = node(current)
        built["subcategories"] = []
        siblings.append(built)
        below = sorted(children.get(current.id, ()), key=sibling_order, reverse=True)
        stack.extend((child, built["subcategories"]) for child in below)
    return forest
