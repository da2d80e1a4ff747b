"""Product SQL. Every statement filters on tenant; the only SQL built at run time comes from `core.query`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from segment_service.core.db import Connection
from segment_service.core.errors import Conflict
from segment_service.core.listing import ListStatement, Search, fetch_page
from segment_service.core.paging import Page
from segment_service.core.query import Field, FieldKind, spec_only
from segment_service.core.timefmt import iso_sql

#: The public field paths of a product for `q` and `sort`, with the column each one reads.
PRODUCT_FIELDS: dict[str, Field] = {
    "id": Field("p.id", FieldKind.TEXT),
    "code": Field("p.code", FieldKind.TEXT),
    "name": Field("p.name", FieldKind.LOCALIZED),
    "description": Field("p.description", FieldKind.LOCALIZED),
    "published": Field("p.published", FieldKind.BOOLEAN),
    "mixins": Field("p.mixins", FieldKind.JSON),
    "metadata.version": Field("p.version", FieldKind.NUMBER),
    "metadata.createdAt": Field("p.created_at", FieldKind.DATETIME),
    "metadata.modifiedAt": Field("p.modified_at", FieldKind.DATETIME),
    "metadata.mixins": Field("p.metadata_mixins", FieldKind.JSON),
    # The flat spellings used in Emporix's own q examples (docs/decisions.md#the-q-language).
    "metadataCreatedAt": Field("p.created_at", FieldKind.DATETIME),
    "metadataModifiedAt": Field("p.modified_at", FieldKind.DATETIME),
    # Fields of product.yml the service does not store: absent from every product (core/query FieldKind.ABSENT).
    **spec_only(
        "brand",
        "brandId",
        "bundledProducts",
        "categoryIds",
        "customerSegmentIds",
        "dynamicVariantType",
        "inheritedVariantAttributes",
        "labelIds",
        "labels",
        "media",
        "metadata.classificationMixins",
        "metadata.dynamicVariantInfo",
        "metadata.overridden",
        "ownVariantAttributes",
        "parentVariantId",
        "parentVariantPath",
        "productType",
        "relatedItems",
        "sellable",
        "taxClasses",
        "template",
        "variantAttributes",
        "variants",
        "vendor",
        "weightDependent",
        "yrn",
    ),
}

#: Every column of a product as the service reads it, date-times already in the wire format.
_COLUMNS = "p.id, p.code, p.name, p.description, p.published, p.mixins, p.metadata_mixins, p.version, " + ", ".join(
    iso_sql(c) for c in ("p.created_at", "p.modified_at")
)


class ProductContent(msgspec.Struct, kw_only=True):
    """What a client writes of a product; the database keeps the version and the timestamps."""

    id: str
    code: str
    name: dict[str, str]
    description: dict[str, str] | None
    published: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None


class ProductRow(msgspec.Struct, kw_only=True, frozen=True):
    """A stored product as the API shows it: date-times are `2024-05-14T12:00:00.000Z` strings."""

    id: str
    code: str
    name: dict[str, str]
    description: dict[str, str] | None
    published: bool
    mixins: dict[str, Any] | None
    metadata_mixins: dict[str, Any] | None
    version: int
    created_at: str
    modified_at: str


def _row(record: asyncpg.Record) -> ProductRow:
    return ProductRow(**record)


_SELECT_PRODUCT = f"""
SELECT {_COLUMNS}
FROM products p
WHERE p.tenant = $1 AND p.id = $2
"""

_SELECT_PRODUCTS = f"""
SELECT {_COLUMNS}
FROM products p
WHERE p.tenant = $1 AND p.id = ANY($2::text[])
"""

_PRODUCT_EXISTS = """
SELECT EXISTS (SELECT 1 FROM products WHERE tenant = $1 AND id = $2)
"""

# FOR KEY SHARE: the product cannot be deleted until the caller's transaction ends (other writes of it go on).
_LOCK_PRODUCT_KEY = """
SELECT 1 FROM products WHERE tenant = $1 AND id = $2 FOR KEY SHARE
"""

_EXISTING_PRODUCT_IDS = """
SELECT id FROM products WHERE tenant = $1 AND id = ANY($2::text[])
"""

_INSERT_PRODUCT = """
INSERT INTO products (tenant, id, code, name, description, published, mixins, metadata_mixins, version, created_at,
                      modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, now(), now())
"""

# Replace only when the stored version is the one the client saw ($9 NULL: no optimistic lock).
_UPDATE_PRODUCT = """
UPDATE products AS p
SET code = $3, name = $4, description = $5, published = $6, mixins = $7, metadata_mixins = $8,
    version = p.version + 1, modified_at = now()
WHERE p.tenant = $1 AND p.id = $2 AND ($9::integer IS NULL OR p.version = $9)
"""

# One statement for PUT: insert, or replace when the stored version is the one the client saw ($9 NULL: no lock).
# No row back means the version did not match; xmax = 0 tells a fresh insert from an update.
_UPSERT_PRODUCT = """
INSERT INTO products AS p (tenant, id, code, name, description, published, mixins, metadata_mixins, version,
                           created_at, modified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, now(), now())
ON CONFLICT ON CONSTRAINT products_pkey DO UPDATE
SET code = excluded.code, name = excluded.name, description = excluded.description, published = excluded.published,
    mixins = excluded.mixins, metadata_mixins = excluded.metadata_mixins, version = p.version + 1,
    modified_at = now()
WHERE $9::integer IS NULL OR p.version = $9
RETURNING (p.xmax = 0) AS created
"""

_DELETE_PRODUCT = """
DELETE FROM products
WHERE tenant = $1 AND id = $2
"""


def _values(row: ProductContent) -> tuple[Any, ...]:
    return (row.code, row.name, row.description, row.published, row.mixins, row.metadata_mixins)


@contextmanager
def _conflict_on_taken_id_or_code(row: ProductContent) -> Iterator[None]:
    """Turn a taken id or code into the 409 product.yml describes (common_response_Conflict_409)."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "products_pkey":
            raise Conflict(f"A product with id '{row.id}' already exists.", field="id", resource_id=row.id) from exc
        if exc.constraint_name == "products_code_key":
            raise Conflict(
                f"A product with code '{row.code}' already exists; product codes are unique.",
                field="code",
                resource_id=row.id,
            ) from exc
        raise


async def fetch_product(conn: Connection, tenant: str, product_id: str) -> ProductRow | None:
    """The product with this id, or None."""
    record = await conn.fetchrow(_SELECT_PRODUCT, tenant, product_id)
    return None if record is None else _row(record)


async def fetch_product_for_update(conn: Connection, tenant: str, product_id: str) -> ProductRow | None:
    """The product with this id, locked until the transaction ends."""
    record = await conn.fetchrow(_SELECT_PRODUCT + "FOR UPDATE", tenant, product_id)
    return None if record is None else _row(record)


async def fetch_products(conn: Connection, tenant: str, ids: Sequence[str]) -> list[ProductRow]:
    """The products with these ids that exist, in no particular order."""
    return [_row(r) for r in await conn.fetch(_SELECT_PRODUCTS, tenant, list(ids))]


async def existing_product_ids(conn: Connection, tenant: str, ids: Sequence[str]) -> set[str]:
    """Which of these ids name a product (an index-only scan: no row is read)."""
    return {r["id"] for r in await conn.fetch(_EXISTING_PRODUCT_IDS, tenant, list(ids))}


async def product_exists(conn: Connection, tenant: str, product_id: str) -> bool:
    """Whether the tenant has a product with this id."""
    return bool(await conn.fetchval(_PRODUCT_EXISTS, tenant, product_id))


async def product_exists_locked(conn: Connection, tenant: str, product_id: str) -> bool:
    """`product_exists`, keeping the product from being deleted until the transaction ends."""
    return bool(await conn.fetch(_LOCK_PRODUCT_KEY, tenant, product_id))


async def insert_product(conn: Connection, tenant: str, row: ProductContent) -> None:
    """Store a new product at version 1; Conflict when its id or code is taken."""
    with _conflict_on_taken_id_or_code(row):
        await conn.execute(_INSERT_PRODUCT, tenant, row.id, *_values(row))


async def update_product(conn: Connection, tenant: str, row: ProductContent, expected_version: int | None) -> bool:
    """Replace a product's content; False when it does not exist or its version is not `expected_version`."""
    with _conflict_on_taken_id_or_code(row):
        status = await conn.execute(_UPDATE_PRODUCT, tenant, row.id, *_values(row), expected_version)
    return str(status) != "UPDATE 0"


async def upsert_product(
    conn: Connection, tenant: str, row: ProductContent, expected_version: int | None
) -> bool | None:
    """Create or replace a product: True when created, False when replaced, None when its version is not
    `expected_version`. Conflict when its code belongs to another product."""
    with _conflict_on_taken_id_or_code(row):
        record = await conn.fetchrow(_UPSERT_PRODUCT, tenant, row.id, *_values(row), expected_version)
    return None if record is None else bool(record["created"])


async def delete_product(conn: Connection, tenant: str, product_id: str) -> bool:
    """Delete a product; whether it existed."""
    return str(await conn.execute(_DELETE_PRODUCT, tenant, product_id)) != "DELETE 0"


@dataclass(frozen=True, slots=True)
class ProductFilter:
    """GET /products: the checked `q` and `sort`; unpublished products only with `show_unpublished`."""

    search: Search
    show_unpublished: bool


_PRODUCTS = ListStatement(_COLUMNS, "FROM products p", "p.tenant = $1", _row, tiebreak="p.id")


async def list_products(
    conn: Connection, tenant: str, products: ProductFilter, *, page: Page, with_total: bool
) -> tuple[list[ProductRow], int | None]:
    """One page of the tenant's products matching the filter, and the total when asked for."""
    criteria = _PRODUCTS.criteria(tenant, query=products.search.query)
    if not products.show_unpublished:
        # Readers without product.product_read_unpublished see only published products (product.yml, GET operations).
        criteria.where("p.published")
    return await fetch_page(conn, _PRODUCTS, criteria, products.search.ordering, page=page, with_total=with_total)
