"""Storefront targeting (operations 11, 22 and 23 of customer-segment.yml); no HTTP here.

`GET /segments/items`: the item assignments of the caller's segments (a customer: its active memberships in its
legal-entity context; `segment_read`: every segment). `GET /segments/items/category-trees`: the category tree those
segments open. `POST /segments/match`: which products a set of segments holds.
docs/decisions.md#match-and-the-storefront-reads has the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from segment_service.categories import trees
from segment_service.core.answer_cache import Answer, AnswerCache, Fragments, Made, read_answer
from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden
from segment_service.core.host_versions import VersionMemo
from segment_service.core.http import json_body, list_body
from segment_service.core.languages import localize
from segment_service.core.listing import parse_search
from segment_service.core.paging import Page
from segment_service.legal_entities import service as legal_entities_service
from segment_service.segments import service as segments_service
from segment_service.segments import storefront_memo
from segment_service.segments import storefront_store as store
from segment_service.segments.item_assignment_store import ITEM_ASSIGNMENT_FIELDS, ItemAssignmentRow
from segment_service.segments.item_assignments import assignment_document

T = TypeVar("T")

#: Bounds of one `match` request, so that a request's cost stays bounded (docs/behaviour.md).
MAX_MATCH_ITEMS = 1000
MAX_MATCH_SEGMENTS = 200


def _segment_scope(
    caller: Caller,
    *,
    customer_id: str | None = None,
    legal_entity_id: str | None,
    only_active: bool,
    site_code: str | None,
) -> store.SegmentScope:
    """The segments whose items the caller gets.

    A customer (`segment_read_own`) gets its own active segments in its legal-entity context; `segment_read` gets every
    segment, only the active ones with `onlyActive`, or with `customerId` exactly what that customer's storefront
    gets (docs/behaviour.md#storefront-my-items-my-category-tree-match)."""
    visible = segments_service.visibility(caller, customer_id=customer_id, legal_entity_id=legal_entity_id)
    reader = caller.has_any((Scope.SEGMENT_READ,))
    if reader and customer_id is not None:
        return store.SegmentScope(replace(visible, active_only=True), site_code, few=True)
    if only_active and reader:
        visible = replace(visible, active_only=True)
    # `few`: a customer's own memberships.
    return store.SegmentScope(visible, site_code, few=not reader)


async def _check_context(
    conn: Connection, caller: Caller, customer_id: str | None, legal_entity_id: str | None
) -> None:
    """A customer may name only a legal entity it is a contact of as its context; a reader naming the customer with
    `customerId` gets what that customer's own token gets, so the same 403 (segments/service.py checks the caller)."""
    await segments_service.check_legal_entity_context(conn, caller, legal_entity_id)
    if customer_id is None or legal_entity_id is None or not caller.has_any((Scope.SEGMENT_READ,)):
        return
    if not await legal_entities_service.is_contact(conn, caller.tenant, customer_id, legal_entity_id):
        raise Forbidden(f"The customer is not a contact of legal entity {legal_entity_id}.")


#: Renders a read's result as the route sends it (its shape applied, encoded).
Render = Callable[[T], tuple[bytes, dict[str, str]]]


async def items_answer(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    page: Page,
    sort: str | None,
    with_total: bool,
    customer_id: str | None = None,
    legal_entity_id: str | None,
    site_code: str | None,
    only_active: bool,
    variant: Hashable,
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> Answer:
    """One page of the item assignments of the caller's segments that match `q` (and the total when asked for), each
    document passed through `shape`; `variant` is whatever `shape` depends on.

    A customer's answers are cached (docs/answers.md): in the default order and without `q`, a page is put together
    from each segment's shaped assignments, kept per segment, its version and the catalogue's (customers share
    segments far more often than whole sets of them); otherwise by the whole set of active segments."""
    scope = _segment_scope(
        caller, customer_id=customer_id, legal_entity_id=legal_entity_id, only_active=only_active, site_code=site_code
    )
    items = store.ItemFilter(scope, parse_search(q, sort, ITEM_ASSIGNMENT_FIELDS))
    cache = db.answers
    composed = q is None and sort is None
    memo = _customer_memo(db, scope, legal_entity_id)
    active_key = storefront_memo.customer_key(caller.tenant, scope)

    def key_of(versions: store.SegmentVersions) -> tuple[object, ...]:
        return ("items", caller.tenant, versions.segments, versions.catalogue, q, page, sort, with_total, variant)

    if memo is not None and (known := storefront_memo.known(memo, caller.tenant, active_key)) is not None:
        if composed:
            answer = _composed_from_cache(known, caller.tenant, page, with_total, variant, cache)
        else:
            answer = _kept_answer(cache, "items", key_of(known))
        if answer is not None:
            return answer

    async def read(conn: Connection) -> Answer | Made[_ItemsRead]:
        await _check_context(conn, caller, customer_id, legal_entity_id)
        if not (scope.few and cache.enabled):
            return Made(await _page(conn, caller.tenant, items, page, with_total), None)
        versions = await storefront_memo.customer_versions(memo, conn, caller.tenant, scope, active_key)
        if composed:
            return Made(await _segments_items(conn, caller.tenant, versions, variant, cache), None)
        key = key_of(versions)
        if (cached := cache.answer("items", key)) is not None:
            return cached
        exact = replace(items, scope=replace(scope, ids=versions.ids))
        return Made(await _page(conn, caller.tenant, exact, page, with_total), key)

    def render(result: _ItemsRead) -> Answer:
        if result.segments is not None:
            return _compose(result, caller.tenant, page, with_total, variant, shape, cache)
        return Answer.of(list_body([shape(assignment_document(r)) for r in result.rows], result.total))

    return await read_answer(db, caller.read_key, read, render)


def _customer_memo(db: Database, scope: store.SegmentScope, legal_entity_id: str | None) -> VersionMemo | None:
    """The host's memo for a customer's cached read; None for other callers, and when the read names a legal entity
    (whether the customer is its contact is asked of the database each time)."""
    if db.memo is None or not (scope.few and db.answers.enabled) or legal_entity_id is not None:
        return None
    if scope.visibility.member is None:
        return None
    return db.memo


def _kept_answer(cache: AnswerCache, kind: str, key: Hashable) -> Answer | None:
    kept = cache.kept(kind, key)
    return kept if isinstance(kept, Answer) else None


def _kept_by_memo(
    memo: VersionMemo | None,
    tenant: str,
    active_key: Hashable,
    cache: AnswerCache,
    kind: str,
    key_of: Callable[[store.SegmentVersions], Hashable],
) -> Answer | None:
    """The kept answer of a read whose versions the memo knows (no statement at all); None otherwise."""
    if memo is None or (known := storefront_memo.known(memo, tenant, active_key)) is None:
        return None
    return _kept_answer(cache, kind, key_of(known))


def _composed_from_cache(
    versions: store.SegmentVersions, tenant: str, page: Page, with_total: bool, variant: Hashable, cache: AnswerCache
) -> Answer | None:
    """The page put together from kept fragments alone; None unless every segment's are kept."""
    keys = [("segment-items", tenant, segment, versions.catalogue, variant) for segment in versions.segments]
    if not all(cache.holds(key) for key in keys):
        return None
    parts: list[tuple[tuple[str, int], Fragments | None]] = []
    for segment, key in zip(versions.segments, keys, strict=True):
        fragments = cache.kept("segment-items", key)
        if not isinstance(fragments, Fragments):
            return None
        parts.append((segment, fragments))
    # Every segment's fragments are kept, so no row is shaped.
    return _compose(_ItemsRead([], None, parts, versions.catalogue), tenant, page, with_total, variant, dict, cache)


@dataclass(slots=True)
class _ItemsRead:
    """What `items_answer` read: a page of rows, or, composed, each segment's cached fragments (None where no cache
    holds them; `rows` are then those segments' assignments)."""

    rows: list[ItemAssignmentRow]
    total: int | None = None
    segments: list[tuple[tuple[str, int], Fragments | None]] | None = None
    catalogue: int = 0


async def _page(conn: Connection, tenant: str, items: store.ItemFilter, page: Page, with_total: bool) -> _ItemsRead:
    """One page of the items in `items`' scope, as the store pages them."""
    rows, total = await store.list_items(conn, tenant, items, page=page, with_total=with_total)
    return _ItemsRead(rows, total)


async def _segments_items(
    conn: Connection, tenant: str, versions: store.SegmentVersions, variant: Hashable, cache: AnswerCache
) -> _ItemsRead:
    """Each segment's cached fragments, and the assignments of those no cache holds (one statement for them all)."""
    parts = [
        (segment, cache.fragments("segment-items", ("segment-items", tenant, segment, versions.catalogue, variant)))
        for segment in versions.segments
    ]
    missing = [segment_id for (segment_id, _), fragments in parts if fragments is None]
    rows = await store.segment_items(conn, tenant, missing) if missing else []
    return _ItemsRead(rows, None, parts, versions.catalogue)


def _compose(
    read: _ItemsRead,
    tenant: str,
    page: Page,
    with_total: bool,
    variant: Hashable,
    shape: Callable[[dict[str, Any]], dict[str, Any]],
    cache: AnswerCache,
) -> Answer:
    """The page of the segments' assignments (in segment order, each segment's in ITEMS_ORDER), keeping the
    fragments of the segments that were read."""
    read_rows: dict[str, list[bytes]] = {}
    for row in read.rows:
        read_rows.setdefault(row.segment_id, []).append(json_body(shape(assignment_document(row))))
    every: list[bytes] = []
    assert read.segments is not None
    for segment, fragments in read.segments:
        if fragments is None:
            fragments = Fragments(tuple(read_rows.get(segment[0], ())))
            cache.put(("segment-items", tenant, segment, read.catalogue, variant), fragments)
        every.extend(fragments.parts)
    body = b"[" + b",".join(every[page.offset : page.offset + page.size]) + b"]"
    return Answer(body, (("X-Total-Count", str(len(every))),) if with_total else ())


def _tree_node(row: store.TreeRow, languages: tuple[str, ...] | None, default_language: str) -> dict[str, Any]:
    """A `CategoryTreeResponse` node without its subcategories; localized fields narrowed to `languages`."""
    node: dict[str, Any] = {"id": row.id}
    if row.parent_id is not None:
        node["parentId"] = row.parent_id
    # The tree schema requires a string `code`; a category created without one shows its id (docs/behaviour.md).
    node["code"] = row.code if row.code is not None else row.id
    node["name"] = localize(row.localized_name, languages, default_language)
    if row.localized_description:
        node["localizedDescription"] = localize(row.localized_description, languages, default_language)
    if row.localized_slug:
        node["localizedSlug"] = localize(row.localized_slug, languages, default_language)
    if row.ecn:
        node["ecn"] = row.ecn
    if row.valid_from is not None or row.valid_to is not None:
        node["validity"] = {k: v for k, v in (("from", row.valid_from), ("to", row.valid_to)) if v is not None}
    node["position"] = row.position or 0
    node["published"] = row.published
    node["isSegmentAssigned"] = row.is_segment_assigned
    return node


async def category_trees_answer(
    db: Database,
    caller: Caller,
    *,
    customer_id: str | None = None,
    legal_entity_id: str | None,
    site_code: str | None,
    languages: tuple[str, ...] | None,
    default_language: str,
    render: Render[list[dict[str, Any]]],
) -> Answer:
    """The trees of the categories the caller's active segments (of the site) are assigned: each assigned category
    with everything below it (`isSegmentAssigned: true`) and the path to its root (`false`); published categories
    only, siblings by position, then id. A customer's answer is cached by its active segments, their versions and the
    catalogue's (docs/answers.md)."""
    if customer_id is None and not caller.has_any((Scope.SEGMENT_READ_OWN,)):
        raise BadRequest(
            "A service token reads a customer's category trees: name the customer with the customerId parameter.",
            field="customerId",
            type="missing_value",
        )
    scope = _segment_scope(
        caller, customer_id=customer_id, legal_entity_id=legal_entity_id, only_active=True, site_code=site_code
    )
    customer = scope.few
    # The tree reads a customer's memberships and a reader's active segments alike as an array first.
    scope = replace(scope, few=True)
    cache = db.answers
    memo = _customer_memo(db, scope, legal_entity_id) if customer else None
    active_key = storefront_memo.customer_key(caller.tenant, scope)

    def key_of(versions: store.SegmentVersions) -> tuple[object, ...]:
        return ("trees", caller.tenant, versions.segments, versions.catalogue, languages, default_language)

    if (answer := _kept_by_memo(memo, caller.tenant, active_key, cache, "trees", key_of)) is not None:
        return answer

    async def read(conn: Connection) -> Answer | Made[list[store.TreeRow]]:
        await _check_context(conn, caller, customer_id, legal_entity_id)
        if not (customer and cache.enabled):
            return Made(await store.category_tree_rows(conn, caller.tenant, scope), None)
        versions = await storefront_memo.customer_versions(memo, conn, caller.tenant, scope, active_key)
        key = key_of(versions)
        if (cached := cache.answer("trees", key)) is not None:
            return cached
        return Made(await store.category_tree_rows(conn, caller.tenant, replace(scope, ids=versions.ids)), key)

    def render_rows(rows: list[store.TreeRow]) -> Answer:
        node = partial(_tree_node, languages=languages, default_language=default_language)
        return Answer.of(render(trees.build_forest(rows, node, unpublished=False)))

    return await read_answer(db, caller.read_key, read, render_rows)


def _match_site(site: str | None, site_code: str | None) -> str:
    """The spec's schema names the site `site`, its example `siteCode`
    (docs/decisions.md#match-and-the-storefront-reads): either, not both apart."""
    if site is not None and site_code is not None and site != site_code:
        raise BadRequest(
            "Validation problem with request body: site and siteCode name different sites; send one.",
            field="site",
            type="invalid_value",
        )
    value = site if site is not None else site_code
    if not value:
        raise BadRequest(
            "Validation problem with request body: site (or siteCode) is required.", field="site", type="missing_value"
        )
    return value


async def match_answer(
    db: Database,
    caller: Caller,
    *,
    product_ids: Sequence[str],
    segment_ids: Sequence[str],
    site: str | None,
    site_code: str | None,
) -> Answer:
    """`[{id}]` of the asked products that one of the active segments of the site holds
    (docs/decisions.md#match-and-the-storefront-reads), each once, in the order asked; cached by the active segments,
    their versions and the catalogue's (docs/answers.md)."""
    site_value = _match_site(site, site_code)
    if len(product_ids) > MAX_MATCH_ITEMS:
        raise BadRequest(
            f"Validation problem with request body: at most {MAX_MATCH_ITEMS} items per request, "
            f"got {len(product_ids)}.",
            field="items",
            type="invalid_value",
        )
    if len(segment_ids) > MAX_MATCH_SEGMENTS:
        raise BadRequest(
            f"Validation problem with request body: at most {MAX_MATCH_SEGMENTS} segmentIds per "
            f"request, got {len(segment_ids)}.",
            field="segmentIds",
            type="invalid_value",
        )
    asked = list(dict.fromkeys(product_ids))
    if not asked or not segment_ids:
        return Answer(json_body([]))
    cache = db.answers
    segments = list(dict.fromkeys(segment_ids))
    memo = db.memo if cache.enabled else None
    active_key = storefront_memo.match_key(caller.tenant, segments, site_value)

    def key_of(versions: store.SegmentVersions) -> tuple[object, ...]:
        return ("match", caller.tenant, versions.segments, versions.catalogue, tuple(asked))

    if (answer := _kept_by_memo(memo, caller.tenant, active_key, cache, "match", key_of)) is not None:
        return answer

    async def read(conn: Connection) -> Answer | Made[list[str]]:
        if not cache.enabled:
            return Made(await store.match_products(conn, caller.tenant, segments, asked, site_value), None)
        versions = await storefront_memo.match_versions(memo, conn, caller.tenant, segments, site_value, active_key)
        key = key_of(versions)
        if (cached := cache.answer("match", key)) is not None:
            return cached
        active = versions.ids
        return Made(await store.match_products(conn, caller.tenant, segments, asked, site_value, active=active), key)

    def render(matched: list[str]) -> Answer:
        return Answer(json_body([{"id": product_id} for product_id in matched]))

    return await read_answer(db, caller.read_key, read, render)
