"""Category assignment rules and transactions (category.yml, "Category Assignment Resources" and "Assignment
Resources"; docs/categories.md#product-assignments); no HTTP here.

A product's assignments go with it through a foreign key (migration 0011), as they go with their category.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import msgspec

from segment_service.answers import service as answers
from segment_service.categories import assignment_store as store
from segment_service.categories import trees
from segment_service.categories.assignment_models import AssignmentRequest, AssignmentUpsertItem
from segment_service.categories.assignment_store import AssignmentFilters, AssignmentRow
from segment_service.categories.store import CategoryRow
from segment_service.core import events
from segment_service.core.answer_cache import Answer, Made, read_answer
from segment_service.core.auth import Caller, Scope
from segment_service.core.bulk import BulkResult, run_bulk, status_name
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound
from segment_service.core.ids import new_id
from segment_service.core.languages import localize
from segment_service.core.listing import parse_ordering
from segment_service.core.paging import Page, sort_in_language
from segment_service.products import service as products_service

__all__ = [
    "AssignmentFilters",
    "assign_product",
    "bulk_assign_products",
    "bulk_upsert_assignments",
    "category_assignments_answer",
    "delete_assignment",
    "delete_assignment_by_reference",
    "delete_category_assignments",
    "delete_product_assignments",
    "list_categories_of_product",
    "segment_ids_of",
    "upsert_assignment",
]

PRODUCT = "PRODUCT"
_READ_UNPUBLISHED = (Scope.CATEGORY_READ_UNPUBLISHED.value,)
#: Localized fields of a category document, for Accept-Language.
CATEGORY_LOCALIZED_FIELDS = ("localizedName", "localizedDescription", "localizedSlug")


def check_assignment_type(value: str | None, *, field: str) -> str:
    """The reference type: only PRODUCT exists (category.yml); any case is accepted, as the spec's own examples
    write `product` (docs/decisions.md#item-types-in-paths)."""
    if value is None or value.upper() == PRODUCT:
        return PRODUCT
    raise BadRequest(
        f"Invalid {field} '{value[:40]}': the only assignment type is PRODUCT.", field=field, type="invalid_value"
    )


def check_show_unpublished(caller: Caller, show_unpublished: bool) -> None:
    """`showUnpublished=true` needs category.category_read_unpublished (category.yml, 403)."""
    if show_unpublished and not caller.has_any(_READ_UNPUBLISHED):
        raise Forbidden(f"Required scope(s): {', '.join(_READ_UNPUBLISHED)}.")


def assignment_document(row: AssignmentRow, languages: tuple[str, ...] | None, default_language: str) -> dict[str, Any]:
    """An assignment as the API shows it (CategoryAssignment); the name narrowed to the asked languages."""
    return {
        "id": row.id,
        "categoryId": row.category_id,
        "ref": {
            "id": row.product_id,
            "type": row.ref_type,
            "localizedName": localize(row.product_name, languages, default_language),
        },
    }


def category_document(row: CategoryRow, supercategories_ids: list[str] | None, default_language: str) -> dict[str, Any]:
    """A category as GET /assignments/references/{referenceId} shows it: the Category document (with its always
    empty media list), with its ancestors' ids when they were asked for."""
    doc = trees.category_document(row, default_language)
    if supercategories_ids is not None:
        doc["supercategoriesIds"] = supercategories_ids
    return doc


def segment_ids_of(raw: str | None) -> tuple[str, ...] | None:
    """`segmentsIds=a,b`: the segment ids (blanks dropped); None when the parameter is absent. Present but naming no
    segment (`segmentsIds=`) is an empty tuple, which matches nothing: a visibility filter fails closed."""
    if raw is None:
        return None
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


async def _check_category(conn: Connection, caller: Caller, category_id: str, *, show_unpublished: bool) -> None:
    """404 for a category that does not exist, or that is unpublished and the request does not ask for those."""
    published = await store.category_published(conn, caller.tenant, category_id)
    if published is None or not (published or show_unpublished):
        raise store.category_not_found(category_id)


# --------------------------------------------------------------------------------------------------------- reads
async def _assignments_page(
    conn: Connection,
    caller: Caller,
    category_id: str,
    filters: AssignmentFilters,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> tuple[list[dict[str, Any]], int | None]:
    sort = sort_in_language(sort, ("ref.localizedName",), languages[0] if languages else default_language)
    ordering = parse_ordering(sort, store.ASSIGNMENT_FIELDS)
    rows, total = await store.list_assignments(
        conn, caller.tenant, category_id, filters, ordering, page=page, with_total=with_total
    )
    if not rows:  # rows prove the category visible; without any, tell 404 from an empty page
        await _check_category(conn, caller, category_id, show_unpublished=filters.show_unpublished)
    return [assignment_document(r, languages, default_language) for r in rows], total


async def category_assignments_answer(
    db: Database,
    caller: Caller,
    category_id: str,
    *,
    filters: AssignmentFilters,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
    variant: Hashable,
    render: Callable[[tuple[list[dict[str, Any]], int | None]], tuple[bytes, dict[str, str]]],
) -> Answer:
    """One page of the category's assignments (with `withSubcategories`, its whole subtree's), and the total when
    asked for, as `render` sends it; without showUnpublished an unpublished category is 404 and unpublished
    subcategories are left out. Cached by the catalogue's version and the named segments'
    (docs/answers.md); `variant` is whatever else `render` depends on (the shape). The answer is the same for every
    caller allowed to ask (showUnpublished is checked first)."""
    check_show_unpublished(caller, filters.show_unpublished)
    cache = db.answers
    scopes = (answers.CATALOGUE, *sorted(set(filters.segment_ids or ())))
    parameters = (category_id, filters, page, sort, with_total, languages, default_language, variant)
    memo = db.memo if cache.enabled else None

    def key_of(versions: tuple[int, ...]) -> Hashable:
        return ("category-assignments", caller.tenant, tuple(zip(scopes, versions, strict=True)), parameters)

    if memo is not None and (known := answers.known_versions(memo, caller.tenant, scopes)) is not None:
        kept = cache.kept("category-assignments", key_of(known))
        if isinstance(kept, Answer):
            return kept  # no statement: docs/answers.md#versions-kept-on-the-host

    async def read(conn: Connection) -> Answer | Made[tuple[list[dict[str, Any]], int | None]]:
        key: Hashable = None
        if cache.enabled:
            key = key_of(await answers.versions(conn, caller.tenant, scopes, memo))
            if (cached := cache.answer("category-assignments", key)) is not None:
                return cached
        page_read = await _assignments_page(
            conn, caller, category_id, filters, page, sort, with_total, languages, default_language
        )
        return Made(page_read, key)

    return await read_answer(db, caller.read_key, read, lambda page_read: Answer.of(render(page_read)))


async def list_categories_of_product(
    db: Database,
    caller: Caller,
    product_id: str,
    *,
    show_unpublished: bool,
    with_supercategories: bool,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the categories the product is assigned to; 404 when it is assigned to none at all (the spec's
    404 for this operation), an empty page past the end."""
    check_show_unpublished(caller, show_unpublished)
    sort = sort_in_language(sort, CATEGORY_LOCALIZED_FIELDS, languages[0] if languages else default_language)
    ordering = parse_ordering(sort, store.CATEGORY_FIELDS)
    async with db.connection() as conn:
        rows, total = await store.list_categories_of_product(
            conn,
            caller.tenant,
            product_id,
            ordering,
            show_unpublished=show_unpublished,
            with_supercategories=with_supercategories,
            page=page,
            with_total=with_total,
        )
        if not rows and not await store.product_has_assignments(conn, caller.tenant, product_id):
            raise NotFound(
                f"Categories for assignment reference with id '{product_id}' not found.", resource_id=product_id
            )
    return [category_document(r, supers, default_language) for r, supers in rows], total


# -------------------------------------------------------------------------------------------------------- writes
async def assign_product(db: Database, caller: Caller, category_id: str, body: AssignmentRequest) -> str:
    """Assign a product to a category; the new assignment's id. 409 when it is assigned already."""
    check_assignment_type(body.ref.type, field="ref.type")
    assignment_id = new_id()
    async with db.transaction() as conn:
        await _check_category(conn, caller, category_id, show_unpublished=True)
        if not await products_service.product_exists(conn, caller.tenant, body.ref.id):
            raise store.product_missing(body.ref.id)
        await store.insert_assignment(conn, caller.tenant, assignment_id, category_id, body.ref.id)
        await _emit_created(conn, caller.tenant, assignment_id, category_id, body.ref.id)
    return assignment_id


async def _emit_created(conn: Connection, tenant: str, assignment_id: str, category_id: str, product_id: str) -> None:
    event = events.CategoryAssignmentCreated(
        tenant=tenant, assignment_id=assignment_id, category_id=category_id, product_id=product_id
    )
    await events.emit(conn, event)


async def _emit_deleted(conn: Connection, tenant: str, removed: list[store.RemovedAssignment]) -> None:
    for assignment_id, category_id, product_id in removed:
        event = events.CategoryAssignmentDeleted(
            tenant=tenant, assignment_id=assignment_id, category_id=category_id, product_id=product_id
        )
        await events.emit(conn, event)


async def upsert_assignment(db: Database, caller: Caller, category_id: str, product_id: str) -> tuple[str, bool]:
    """Make sure the product is assigned to the category: (the assignment's id, whether it was created)."""
    async with db.transaction() as conn:
        await _check_category(conn, caller, category_id, show_unpublished=True)
        if not await products_service.product_exists(conn, caller.tenant, product_id):
            raise store.product_missing(product_id)
        assignment_id, created = await store.upsert_assignment(conn, caller.tenant, new_id(), category_id, product_id)
        if created:
            await _emit_created(conn, caller.tenant, assignment_id, category_id, product_id)
        return assignment_id, created


def _decode(item: Any, model: type[Any]) -> Any:
    """One bulk item decoded on its own, so that a malformed item fails alone."""
    try:
        return msgspec.convert(item, type=model, str_keys=True, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Validation problem with request body: {exc}.", type="invalid_value") from exc


def _raw_product_id(item: Any) -> str:
    """The product id an undecoded item names, for ordering and results ("" when it names none)."""
    ref = item.get("ref") if isinstance(item, dict) else None
    value = ref.get("id") if isinstance(ref, dict) else None
    return value if isinstance(value, str) else ""


def _bulk_results(items: Sequence[Any], results: list[BulkResult]) -> list[dict[str, Any]]:
    """BulkAssignmentResponse: each result with the assignment's and the product's id."""
    shaped = []
    for result in results:
        doc: dict[str, Any] = {}
        if result.id is not None:
            doc["assignmentId"] = result.id
        if product_id := _raw_product_id(items[result.index]):
            doc["productId"] = product_id
        doc |= {"index": result.index, "code": result.code, "status": result.status}
        if result.message is not None:
            doc["message"] = result.message
        shaped.append(doc)
    return shaped


async def _bulk(
    db: Database,
    caller: Caller,
    category_id: str,
    items: list[Any],
    *,
    upsert: bool,
) -> list[dict[str, Any]]:
    """Run a bulk write of assignments to one category: each item on its own, products looked up in one batch."""
    async with db.connection() as conn:
        await _check_category(conn, caller, category_id, show_unpublished=True)
    existing = await products_service.fetch_products(db, caller.tenant, sorted({_raw_product_id(i) for i in items}))

    async def write_one(conn: Connection, item: Any) -> tuple[int, str | None]:
        if upsert:
            product_id = _decode(item, AssignmentUpsertItem).ref.id
        else:
            body: AssignmentRequest = _decode(item, AssignmentRequest)
            check_assignment_type(body.ref.type, field="ref.type")
            product_id = body.ref.id
        if product_id not in existing:
            raise store.product_missing(product_id)
        if upsert:
            assignment_id, created = await store.upsert_assignment(
                conn, caller.tenant, new_id(), category_id, product_id
            )
            if created:
                await _emit_created(conn, caller.tenant, assignment_id, category_id, product_id)
            return (201 if created else 204), assignment_id
        assignment_id = new_id()
        await store.insert_assignment(conn, caller.tenant, assignment_id, category_id, product_id)
        await _emit_created(conn, caller.tenant, assignment_id, category_id, product_id)
        return 201, assignment_id

    # Items run in product order, so that overlapping bulk requests lock the same rows in the same order.
    results = await run_bulk(db, items, write_one, lock_key=_raw_product_id, status=status_name, min_items=1)
    return _bulk_results(items, results)


async def bulk_assign_products(
    db: Database, caller: Caller, category_id: str, items: list[Any]
) -> list[dict[str, Any]]:
    """Assign up to 200 products to a category, each on its own (201, or the reason it was rejected)."""
    return await _bulk(db, caller, category_id, items, upsert=False)


async def bulk_upsert_assignments(
    db: Database, caller: Caller, category_id: str, items: list[Any]
) -> list[dict[str, Any]]:
    """Make sure up to 200 products are assigned to a category, each on its own (201 created, 204 kept)."""
    return await _bulk(db, caller, category_id, items, upsert=True)


async def delete_category_assignments(
    db: Database, caller: Caller, category_id: str, assignment_type: str | None
) -> None:
    """Remove every (product) assignment of a category."""
    check_assignment_type(assignment_type, field="assignmentType")
    async with db.transaction() as conn:
        await _check_category(conn, caller, category_id, show_unpublished=True)
        await _emit_deleted(
            conn, caller.tenant, await store.delete_category_assignments(conn, caller.tenant, category_id)
        )


async def delete_assignment(db: Database, caller: Caller, category_id: str, assignment_id: str) -> None:
    """Remove one assignment of a category by its id; one that does not exist is fine (idempotent)."""
    async with db.transaction() as conn:
        await _check_category(conn, caller, category_id, show_unpublished=True)
        removed = await store.delete_assignment(conn, caller.tenant, category_id, assignment_id)
        await _emit_deleted(conn, caller.tenant, removed)


async def delete_assignment_by_reference(db: Database, caller: Caller, category_id: str, product_id: str) -> None:
    """Remove a product from a category; a product not in it is fine (idempotent)."""
    async with db.transaction() as conn:
        await _check_category(conn, caller, category_id, show_unpublished=True)
        removed = await store.delete_assignment_of_product(conn, caller.tenant, category_id, product_id)
        await _emit_deleted(conn, caller.tenant, removed)


async def delete_product_assignments(db: Database, caller: Caller, product_id: str) -> None:
    """Remove a product from every category; 404 when it was in none (the spec's 404 for this operation)."""
    async with db.transaction() as conn:
        removed = await store.delete_product_assignments(conn, caller.tenant, product_id)
        if not removed:
            raise NotFound(
                f"Reference id '{product_id}' not found: the product is assigned to no category.",
                resource_id=product_id,
            )
        await _emit_deleted(conn, caller.tenant, removed)
