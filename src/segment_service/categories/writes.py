"""Category writes: create, upsert, merge-patch, delete and tree rebuild, each in one transaction; no HTTP here.

Hierarchy changes take the tenant's hierarchy lock before any row lock (closure_store.lock_hierarchy): exclusive for
moves, deletes and rebuilds, shared for everything else, so that two concurrent moves can never build a cycle and
the lock order is always the same (no deadlock between a move and an update).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from segment_service.categories import assignment_store, closure_store, store
from segment_service.categories.models import (
    CategoryCreateRequest,
    CategoryPartialUpdateRequest,
    CategoryType,
    CategoryUpdateRequest,
)
from segment_service.categories.rules import check_publishing, not_found, show_unpublished
from segment_service.categories.store import CategoryContent, CategoryRow
from segment_service.categories.trees import build_forest, category_document, tree_node
from segment_service.core import events
from segment_service.core.auth import Caller
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.languages import WriteLanguage
from segment_service.core.models import UNSET, body_mixins
from segment_service.core.patch import merge_patch
from segment_service.core.timefmt import as_utc

#: Words that are paths under /categories, and the word that names "no parent".
RESERVED_IDS = frozenset({"root", "search", "categoryTree"})
ROOT = "root"
T = TypeVar("T")
_LOCALIZED = (
    ("localizedName", "localized_name"),
    ("localizedDescription", "localized_description"),
    ("localizedSlug", "localized_slug"),
)


class _NeedsExclusiveLock(Exception):
    """The category moved between the first look and the lock: run the write again under the exclusive lock."""


def _parent(value: str | None | Any) -> str | None:
    """parentId as sent: left out, null and "root" all mean a root category (category.yml)."""
    return None if value is UNSET or value is None or value == ROOT else str(value)


def _localized(value: dict[str, str] | None | Any, field: str, language: WriteLanguage) -> dict[str, str] | None:
    """A localized map: keys are language tags; with `Content-Language: xx` only `xx` may be written."""
    if value is UNSET or value is None:
        return None
    checked = language.localized(value, field=field)
    if language.content is not None and any(tag != language.content for tag in checked):
        raise BadRequest(
            f"Invalid {field}: Content-Language is '{language.content}', so it may only hold "
            f"'{language.content}'; send Content-Language: * to write several languages.",
            field=field,
            type="invalid_value",
        )
    return checked


def _check_slug(slug: dict[str, str] | None) -> None:
    for tag, text in (slug or {}).items():
        if any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", text)):
            raise BadRequest(
                f"Invalid localizedSlug.{tag} '{text[:80]}': a slug may not contain diacritics.",
                field="localizedSlug",
                type="invalid_value",
            )


def content_of(
    category_id: str, body: CategoryUpdateRequest, language: WriteLanguage, *, stored_type: str | None
) -> CategoryContent:
    """A category row from a create or replace body, checked against the rules the schema cannot express."""
    name = _localized(body.localized_name, "localizedName", language)
    if not name:
        raise BadRequest(
            "Validation problem with request body: localizedName needs at least one language.",
            field="localizedName",
            type="invalid_value",
        )
    slug = _localized(body.localized_slug, "localizedSlug", language)
    _check_slug(slug)
    parent_id = _parent(body.parent_id)
    if parent_id == category_id:
        raise BadRequest(
            f"A category cannot be its own parent (parentId {parent_id}).", field="parentId", type="invalid_value"
        )
    kind = body.type.value if body.type is not UNSET else stored_type or CategoryType.STANDARD.value
    code = None if body.code is UNSET else body.code
    if kind == CategoryType.CLASSIFICATION and code is None:
        raise BadRequest("A category of type CLASSIFICATION needs a code.", field="code", type="missing_value")
    valid_from = valid_to = None
    if body.validity is not UNSET and body.validity is not None:
        if body.validity.from_ is not UNSET and body.validity.from_ is not None:
            valid_from = as_utc(body.validity.from_, field="validity.from")
        if body.validity.to is not UNSET and body.validity.to is not None:
            valid_to = as_utc(body.validity.to, field="validity.to")
        if valid_from is not None and valid_to is not None and valid_to < valid_from:
            raise BadRequest("Invalid validity: 'to' lies before 'from'.", field="validity", type="invalid_value")
    mixins, metadata_mixins = body_mixins(body.mixins, body.metadata)
    return CategoryContent(
        id=category_id,
        parent_id=parent_id,
        type=kind,
        code=code,
        localized_name=name,
        localized_description=_localized(body.localized_description, "localizedDescription", language),
        localized_slug=slug,
        ecn=list(dict.fromkeys(body.ecn or ())),  # a number sent twice is the same number
        valid_from=valid_from,
        valid_to=valid_to,
        position=0 if body.position is UNSET or body.position is None else body.position,
        published=body.published,
        mixins=mixins,
        metadata_mixins=metadata_mixins,
    )


async def _check_parent(conn: Connection, tenant: str, parent_id: str | None) -> None:
    if parent_id is not None and not await store.category_exists(conn, tenant, parent_id):
        raise BadRequest(f"The parent category {parent_id} does not exist.", field="parentId", type="invalid_value")


async def _insert(conn: Connection, tenant: str, content: CategoryContent) -> None:
    """A new category with its closure rows (the caller holds the hierarchy lock)."""
    await _check_parent(conn, tenant, content.parent_id)
    await store.insert_category(conn, tenant, content)
    await closure_store.insert_closure(conn, tenant, content.id, content.parent_id)
    await events.emit(conn, events.CategoryCreated(tenant=tenant, category_id=content.id))


async def create_category(
    db: Database, caller: Caller, body: CategoryCreateRequest, *, language: WriteLanguage, publish: bool | None
) -> str:
    """Create a category; its id (generated unless the body names one)."""
    category_id = new_id() if body.id is UNSET else check_custom_id(body.id, reserved=RESERVED_IDS)
    content = content_of(category_id, body, language, stored_type=None)
    check_publishing(caller, was=None, now=content.published, publish=publish)
    async with db.transaction() as conn:
        await closure_store.lock_hierarchy(conn, caller.tenant, shared=True)
        await _insert(conn, caller.tenant, content)
    return category_id


async def _replace(
    conn: Connection,
    caller: Caller,
    current: CategoryRow,
    content: CategoryContent,
    expected_version: int | None,
    *,
    exclusive: bool,
) -> None:
    """Store `content` over `current` (locked), moving its subtree when the parent changes."""
    tenant = caller.tenant
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(resource_id=current.id)
    moves = content.parent_id != current.parent_id
    if moves:
        if not exclusive:
            raise _NeedsExclusiveLock
        await _check_parent(conn, tenant, content.parent_id)
        if content.parent_id is not None and await closure_store.is_in_subtree(
            conn, tenant, current.id, content.parent_id
        ):
            raise BadRequest(
                f"Category {content.parent_id} lies below category {current.id}, so it cannot become its parent.",
                field="parentId",
                type="invalid_value",
            )
    await store.update_category(conn, tenant, content, None)
    if moves:
        await closure_store.move_subtree(conn, tenant, current.id, content.parent_id)
    await events.emit(conn, events.CategoryUpdated(tenant=tenant, category_id=current.id))


async def _with_hierarchy_lock(
    db: Database,
    caller: Caller,
    category_id: str,
    moves_hint: bool,
    write: Callable[[Connection, CategoryRow | None, bool], Awaitable[T]],
) -> T:
    """Run `write(conn, current, exclusive)` in a transaction under the hierarchy lock, then the row lock; run it
    once more under the exclusive lock when the category turned out to move after all."""
    exclusive = moves_hint
    while True:
        try:
            async with db.transaction() as conn:
                await closure_store.lock_hierarchy(conn, caller.tenant, shared=not exclusive)
                current = await store.fetch_category(conn, caller.tenant, category_id, for_update=True)
                return await write(conn, current, exclusive)
        except _NeedsExclusiveLock:
            exclusive = True


async def _peek(db: Database, tenant: str, category_id: str) -> CategoryRow | None:
    """The category as it is now, unlocked: only to guess which hierarchy lock a write needs."""
    async with db.connection() as conn:
        return await store.fetch_category(conn, tenant, category_id)


async def upsert_category(
    db: Database,
    caller: Caller,
    category_id: str,
    body: CategoryUpdateRequest,
    *,
    language: WriteLanguage,
    publish: bool | None,
) -> bool:
    """Replace or create the category `category_id`; whether it was created. A sent `metadata.version` must match."""
    check_custom_id(category_id, reserved=RESERVED_IDS, field="categoryId")
    expected = None
    if body.metadata is not UNSET and body.metadata is not None and body.metadata.version is not UNSET:
        expected = body.metadata.version
    peeked = await _peek(db, caller.tenant, category_id)
    moves_hint = peeked is not None and peeked.parent_id != _parent(body.parent_id)

    async def write(conn: Connection, current: CategoryRow | None, exclusive: bool) -> bool:
        content = content_of(category_id, body, language, stored_type=None if current is None else current.type)
        check_publishing(
            caller, was=None if current is None else current.published, now=content.published, publish=publish
        )
        if current is None:
            await _insert(conn, caller.tenant, content)
            return True
        await _replace(conn, caller, current, content, expected, exclusive=exclusive)
        return False

    return await _with_hierarchy_lock(db, caller, category_id, moves_hint, write)


async def patch_category(
    db: Database,
    caller: Caller,
    category_id: str,
    patch: CategoryPartialUpdateRequest,
    *,
    language: WriteLanguage,
    publish: bool | None,
) -> None:
    """Merge the sent fields into the category (RFC 7396) and store the result as a PUT would; 404 when unknown."""
    changes: dict[str, Any] = msgspec.to_builtins(patch)
    changes["metadata"].pop("version", None)  # the optimistic lock, not a change
    for public, _ in _LOCALIZED:
        if isinstance(changes.get(public), dict):
            _localized({k: v for k, v in changes[public].items() if v is not None}, public, language)
    peeked = await _peek(db, caller.tenant, category_id)
    moves_hint = peeked is not None and "parentId" in changes and _parent(changes["parentId"]) != peeked.parent_id

    async def write(conn: Connection, current: CategoryRow | None, exclusive: bool) -> None:
        if current is None:
            raise not_found(category_id)
        if patch.metadata.version != current.version:
            raise VersionConflict(resource_id=category_id)
        document = category_document(current, language.default)
        for key in ("id", "name", "description", "type", "media"):
            document.pop(key, None)
        document["metadata"] = {k: v for k, v in document["metadata"].items() if k == "mixins"}
        merged = merge_patch(document, changes)
        try:
            body = msgspec.convert(merged, type=CategoryUpdateRequest, strict=False)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"Validation problem with the patched category: {exc}.", type="invalid_value") from exc
        content = content_of(category_id, body, language, stored_type=current.type)
        check_publishing(caller, was=current.published, now=content.published, publish=publish)
        await _replace(conn, caller, current, content, None, exclusive=exclusive)

    await _with_hierarchy_lock(db, caller, category_id, moves_hint, write)


async def delete_category(db: Database, caller: Caller, category_id: str, *, with_subcategories: bool) -> None:
    """Delete a category: with its subtree, or alone (its children become roots keeping their subtrees).

    Product assignments go with each deleted category (a foreign key); each announces its deletion
    (CategoryDeleted: segments/reactions.py removes it from every segment)."""
    async with db.transaction() as conn:
        await closure_store.lock_hierarchy(conn, caller.tenant)
        if await store.fetch_category(conn, caller.tenant, category_id, for_update=True) is None:
            raise not_found(category_id)
        deleted = [category_id]
        if with_subcategories:
            deleted = await closure_store.subtree_ids(conn, caller.tenant, category_id)
        # Each product assignment the deletion takes is announced (the foreign key would take them silently).
        parents = {row.id: row.parent_id for row in (await store.fetch_categories(conn, caller.tenant, deleted))}
        unassigned = [
            events.CategoryAssignmentDeleted(
                tenant=caller.tenant, assignment_id=assignment_id, category_id=gone, product_id=product_id
            )
            for gone in deleted
            for assignment_id, _, product_id in await assignment_store.delete_category_assignments(
                conn, caller.tenant, gone
            )
        ]
        await events.emit_many(conn, unassigned)
        if with_subcategories:
            await closure_store.delete_subtree(conn, caller.tenant, category_id)
        else:
            await closure_store.delete_promoting_children(conn, caller.tenant, category_id)
        await events.emit_many(
            conn,
            [
                events.CategoryDeleted(tenant=caller.tenant, category_id=gone, parent_id=parents.get(gone))
                for gone in deleted
            ],
        )


async def rebuild_tree(
    db: Database,
    caller: Caller,
    root_id: str,
    *,
    unpublished: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> dict[str, Any]:
    """Write the closure rows of the tree under a root again from `parent_id`, and return the tree."""
    shown = show_unpublished(caller, unpublished)
    async with db.transaction() as conn:
        await closure_store.lock_hierarchy(conn, caller.tenant)
        root = await store.fetch_category(conn, caller.tenant, root_id)
        if root is None or root.parent_id is not None or not (root.published or shown):
            raise not_found(root_id)
        await closure_store.rebuild_tree(conn, caller.tenant, root_id)
        rows = await closure_store.fetch_subtrees(conn, caller.tenant, [root_id])
    forest = build_forest(
        rows, lambda r: tree_node(r, default_language, languages), unpublished=shown, root_ids=[root_id]
    )
    return forest[0]
