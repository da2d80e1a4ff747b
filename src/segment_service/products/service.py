"""Product rules and transactions (the product.yml subset in docs/products.md); no HTTP here.

`fetch_products` and `product_exists` are how other services (segments, categories) look products up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from segment_service.core import events
from segment_service.core.auth import Caller, Scope
from segment_service.core.db import Connection, Database
from segment_service.core.errors import BadRequest, Forbidden, NotFound, VersionConflict
from segment_service.core.ids import check_custom_id, new_id
from segment_service.core.languages import WriteLanguage
from segment_service.core.listing import Search, parse_ordering, parse_query
from segment_service.core.models import UNSET, UnsetType, body_mixins
from segment_service.core.paging import Page, sort_in_language
from segment_service.core.patch import merge_patch
from segment_service.products import store
from segment_service.products.models import (
    ProductCreation,
    ProductMetadataWithVersion,
    ProductPartialUpdate,
    ProductUpdate,
)
from segment_service.products.store import ProductRow

__all__ = [
    "LOCALIZED_FIELDS",
    "ProductRow",
    "create_product",
    "delete_product",
    "fetch_products",
    "get_product",
    "list_products",
    "patch_product",
    "product_exists",
    "upsert_product",
]

#: Words that are paths under /products in product.yml, so they cannot be product ids
#: (docs/decisions.md#ids-and-reserved-words).
RESERVED_IDS = frozenset({"bulk", "recalculate", "search"})
#: basicProductCreation.id: `maxLength: 32`.
MAX_ID_LENGTH = 32
LOCALIZED_FIELDS = ("name", "description")
_READ_UNPUBLISHED = (Scope.PRODUCT_READ_UNPUBLISHED,)


def product_document(row: ProductRow) -> dict[str, Any]:
    """The product as the API shows it, with the spec's field names."""
    doc: dict[str, Any] = {"id": row.id, "code": row.code, "name": row.name}
    if row.description is not None:
        doc["description"] = row.description
    doc["published"] = row.published
    if row.mixins is not None:
        doc["mixins"] = row.mixins
    metadata: dict[str, Any] = {"version": row.version, "createdAt": row.created_at, "modifiedAt": row.modified_at}
    if row.metadata_mixins is not None:
        metadata["mixins"] = row.metadata_mixins
    doc["metadata"] = metadata
    return doc


def _not_found(product_id: str) -> NotFound:
    return NotFound(f"The product with id {product_id} has not been found.", resource_id=product_id)


def _check_id(product_id: str) -> str:
    """A client-chosen id: the project's custom-id rules, at most 32 characters (product.yml), no reserved word."""
    check_custom_id(product_id, reserved=RESERVED_IDS)
    if len(product_id) > MAX_ID_LENGTH:
        raise BadRequest(
            f"Invalid id '{product_id}': product ids are at most {MAX_ID_LENGTH} characters long.",
            field="id",
            type="invalid_value",
        )
    return product_id


def _content(product_id: str, body: ProductUpdate, language: WriteLanguage) -> store.ProductContent:
    """A product row from a create or replace body, checked against the rules the schema cannot express."""
    name = language.required(body.name, field="name")
    description = None
    if body.description is not UNSET and body.description is not None:
        description = language.localized(body.description, field="description")
    mixins, metadata_mixins = body_mixins(body.mixins, body.metadata)
    return store.ProductContent(
        id=product_id,
        code=body.code,
        name=name,
        description=description,
        published=body.published,
        mixins=mixins,
        metadata_mixins=metadata_mixins,
    )


def _expected_version(metadata: ProductMetadataWithVersion | None | UnsetType) -> int | None:
    if metadata is UNSET or metadata is None or metadata.version is UNSET:
        return None
    return metadata.version


def _check_publishing(caller: Caller, *, was: bool | None, now: bool) -> None:
    """Publishing needs product.product_publish and unpublishing product.product_unpublish, beside
    product.product_manage (product.yml, "Additional scope information"). `was` is None for a new product."""
    if now and not was and not caller.has_any((Scope.PRODUCT_PUBLISH,)):
        raise Forbidden(f"Publishing a product requires the scope {Scope.PRODUCT_PUBLISH.value}.")
    if was and not now and not caller.has_any((Scope.PRODUCT_UNPUBLISH,)):
        raise Forbidden(f"Unpublishing a product requires the scope {Scope.PRODUCT_UNPUBLISH.value}.")


async def create_product(db: Database, caller: Caller, body: ProductCreation, *, language: WriteLanguage) -> str:
    """Create a product; its id (generated unless the body names one)."""
    product_id = new_id() if body.id is UNSET else _check_id(body.id)
    content = _content(product_id, body, language)
    _check_publishing(caller, was=None, now=content.published)
    async with db.transaction() as conn:
        await store.insert_product(conn, caller.tenant, content)
        await events.emit(conn, events.ProductCreated(tenant=caller.tenant, product_id=product_id))
    return product_id


async def upsert_product(
    db: Database, caller: Caller, product_id: str, body: ProductUpdate, *, language: WriteLanguage
) -> bool:
    """Replace or create the product `product_id`; whether it was created. A sent `metadata.version` must match."""
    content = _content(_check_id(product_id), body, language)
    needed = Scope.PRODUCT_PUBLISH if content.published else Scope.PRODUCT_UNPUBLISH
    async with db.transaction() as conn:
        if not caller.has_any((needed,)):
            # Only a caller who may not make this change of `published` needs to know the product's current state.
            current = await store.fetch_product_for_update(conn, caller.tenant, product_id)
            _check_publishing(caller, was=None if current is None else current.published, now=content.published)
        created = await store.upsert_product(conn, caller.tenant, content, _expected_version(body.metadata))
        if created is not None:
            event = events.ProductCreated if created else events.ProductUpdated
            await events.emit(conn, event(tenant=caller.tenant, product_id=product_id))
    if created is None:
        raise VersionConflict(resource_id=product_id)
    return created


async def patch_product(
    db: Database, caller: Caller, product_id: str, patch: ProductPartialUpdate, *, language: WriteLanguage
) -> None:
    """Merge the sent fields into the product (RFC 7396), then store the result as a full replacement would."""
    changes: dict[str, Any] = msgspec.to_builtins(patch)
    if isinstance(changes.get("metadata"), dict):
        changes["metadata"].pop("version", None)  # the optimistic lock, not a change
    for field in LOCALIZED_FIELDS:
        if isinstance(changes.get(field), str):
            changes[field] = language.localized(changes[field], field=field)
    async with db.transaction() as conn:
        current = await store.fetch_product_for_update(conn, caller.tenant, product_id)
        if current is None:
            raise _not_found(product_id)
        expected = _expected_version(patch.metadata)
        if expected is not None and expected != current.version:
            raise VersionConflict(resource_id=product_id)
        document = product_document(current)
        del document["id"]
        document["metadata"] = {k: v for k, v in document["metadata"].items() if k == "mixins"}
        try:
            body = msgspec.convert(merge_patch(document, changes), type=ProductUpdate, str_keys=True, strict=False)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"Validation problem with the patched product: {exc}.", type="invalid_value") from exc
        content = _content(product_id, body, language)
        _check_publishing(caller, was=current.published, now=content.published)
        await store.update_product(conn, caller.tenant, content, current.version)
        await events.emit(conn, events.ProductUpdated(tenant=caller.tenant, product_id=product_id))


async def delete_product(db: Database, caller: Caller, product_id: str) -> None:
    """Delete a product; deleting one that does not exist is fine (idempotent).

    Its category assignments go first through the ProductDeleting subscriber in categories/reactions.py (each
    announced as `assignment.deleted`); its segment item assignments through the ProductDeleted subscriber in
    segments/reactions.py."""
    async with db.transaction() as conn:
        if await store.fetch_product_for_update(conn, caller.tenant, product_id) is None:
            return
        await events.emit(conn, events.ProductDeleting(tenant=caller.tenant, product_id=product_id))
        if await store.delete_product(conn, caller.tenant, product_id):
            await events.emit(conn, events.ProductDeleted(tenant=caller.tenant, product_id=product_id))


async def list_products(
    db: Database,
    caller: Caller,
    *,
    q: str | None,
    page: Page,
    sort: str | None,
    with_total: bool,
    languages: tuple[str, ...] | None,
    default_language: str,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the products the caller may see that match `q`, and the total when asked for."""
    query = parse_query(q, store.PRODUCT_FIELDS)
    sort = sort_in_language(sort, LOCALIZED_FIELDS, languages[0] if languages else default_language)
    search = Search(query, parse_ordering(sort, store.PRODUCT_FIELDS))
    products = store.ProductFilter(search, show_unpublished=caller.has_any(_READ_UNPUBLISHED))
    rows, total = await db.read(
        caller.read_key,
        lambda conn: store.list_products(conn, caller.tenant, products, page=page, with_total=with_total),
    )
    return [product_document(r) for r in rows], total


async def get_product(db: Database, caller: Caller, product_id: str) -> dict[str, Any]:
    """One product; 404 when there is none, or when it is unpublished and the caller may not read unpublished ones."""
    async with db.connection() as conn:
        row = await store.fetch_product(conn, caller.tenant, product_id)
    if row is None or not (row.published or caller.has_any(_READ_UNPUBLISHED)):
        raise _not_found(product_id)
    return product_document(row)


@asynccontextmanager
async def _borrowed(db_or_conn: Database | Connection) -> AsyncIterator[Connection]:
    """The connection to run on: the caller's own, or one borrowed from the pool."""
    if isinstance(db_or_conn, Database):
        async with db_or_conn.connection() as conn:
            yield conn
    else:
        yield db_or_conn


async def fetch_products(db_or_conn: Database | Connection, tenant: str, ids: Sequence[str]) -> dict[str, ProductRow]:
    """The tenant's products with these ids, published or not, by id; ids without a product are left out."""
    if not ids:
        return {}
    async with _borrowed(db_or_conn) as conn:
        rows = await store.fetch_products(conn, tenant, ids)
    return {row.id: row for row in rows}


async def existing_product_ids(conn: Connection, tenant: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` name a product of the tenant, published or not, in one query (for checks of large batches)."""
    return await store.existing_product_ids(conn, tenant, ids) if ids else set()


async def product_exists(
    db_or_conn: Database | Connection, tenant: str, product_id: str, *, for_write: bool = False
) -> bool:
    """Whether the tenant has a product with this id, published or not. `for_write` keeps it from being deleted until
    the caller's transaction ends, for a write that stores a reference to it: a delete committing between the check
    and the write would miss the new row (ProductDeleted's subscribers remove only what they see)."""
    async with _borrowed(db_or_conn) as conn:
        if for_write:
            return await store.product_exists_locked(conn, tenant, product_id)
        return await store.product_exists(conn, tenant, product_id)
