"""Product routes: the product.yml subset in docs/products.md.

POST/GET /products, POST /products/search, GET/PUT/PATCH/DELETE /products/{productId}.

Reads need a valid token of the tenant but no scope: without product.product_read_unpublished a caller (a service
client, an anonymous or a customer token) sees published products only. Writes need product.product_manage.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.errors import BadRequest
from segment_service.core.http import ReadShape, empty_response, json_response, list_response
from segment_service.core.languages import WriteLanguage
from segment_service.core.openapi import error_responses, no_content
from segment_service.products import service
from segment_service.products.models import (
    ProductCreation,
    ProductError,
    ProductPartialUpdate,
    ProductResponse,
    ProductsSearch,
    ProductUpdate,
    ResourceLocation,
)
from segment_service.products.scopes import (
    CREATE_PRODUCTS_DECLARED,
    MANAGE_PRODUCTS,
    READ_PRODUCTS,
    READ_PRODUCTS_DECLARED,
    UPDATE_PRODUCTS_DECLARED,
)


def _full_replacement(
    partial: bool = Parameter(
        query="partial",
        required=False,
        default=False,
        description="Must be `false`: partial updates go through PATCH (`true` is a 400).",
    ),
) -> bool:
    """PUT replaces the whole product; `partial=true` is refused before the body is read, so the answer names it."""
    if partial:
        raise BadRequest(
            "partial=true is not supported; send the fields to change with PATCH /products/{productId}.",
            field="partial",
            type="invalid_query_parameter",
        )
    return True


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=ProductError)


class ProductController(Controller):
    path = "/product/{tenant:str}/products"
    tags = ["Products"]

    @post(
        "",
        opt={"scopes": MANAGE_PRODUCTS, "declared_scopes": CREATE_PRODUCTS_DECLARED},
        status_code=201,
        operation_id="POST-product-create-product",
        summary="Creating a new product",
        responses=_errors(400, 403, 409),
    )
    async def create_product(
        self, db: Database, caller: Caller, language: WriteLanguage, data: ProductCreation
    ) -> Response[ResourceLocation]:
        """Creates a new product; publishing it needs product.product_publish too."""
        product_id = await service.create_product(db, caller, data, language=language)
        return json_response({"id": product_id}, status=201)

    @get(
        "",
        opt={"scopes": READ_PRODUCTS, "declared_scopes": READ_PRODUCTS_DECLARED},
        operation_id="GET-product-list-products",
        summary="Retrieving all products",
        responses=_errors(400, 403),
    )
    async def list_products(
        self, db: Database, caller: Caller, listing: Listing, shape: ReadShape, q: str | None = None
    ) -> Response[list[ProductResponse]]:
        """Retrieves the products matching `q`; unpublished ones only with product.product_read_unpublished."""
        docs, total = await service.list_products(
            db,
            caller,
            q=q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @post(
        "/search",
        opt={"scopes": READ_PRODUCTS, "declared_scopes": READ_PRODUCTS_DECLARED},
        status_code=200,
        operation_id="POST-product-search-products",
        summary="Searching for products",
        responses=_errors(400, 403),
    )
    async def search_products(
        self, db: Database, caller: Caller, listing: Listing, shape: ReadShape, data: ProductsSearch | None = None
    ) -> Response[list[ProductResponse]]:
        """Returns the products that match the `q` in the body (without a body: all of them)."""
        docs, total = await service.list_products(
            db,
            caller,
            q=None if data is None else data.q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @get(
        "/{productId:str}",
        opt={"scopes": READ_PRODUCTS, "declared_scopes": READ_PRODUCTS_DECLARED},
        operation_id="GET-product-retrieve-product",
        summary="Retrieving a product",
        responses=_errors(400, 403, 404),
    )
    async def get_product(
        self, db: Database, caller: Caller, shape: ReadShape, productId: str
    ) -> Response[ProductResponse]:
        """Retrieves a product; an unpublished one only with product.product_read_unpublished (else 404)."""
        doc = await service.get_product(db, caller, productId)
        return json_response(shape.apply(doc, service.LOCALIZED_FIELDS))

    @put(
        "/{productId:str}",
        opt={"scopes": MANAGE_PRODUCTS, "declared_scopes": UPDATE_PRODUCTS_DECLARED},
        status_code=201,
        operation_id="PUT-product-update-product",
        summary="Upserting a product",
        responses=_errors(400, 403, 409) | no_content("The resource has been successfully updated."),
        dependencies={"full_replacement": Provide(_full_replacement, sync_to_thread=False)},
    )
    async def upsert_product(
        self,
        db: Database,
        caller: Caller,
        language: WriteLanguage,
        productId: str,
        data: ProductUpdate,
        full_replacement: bool,
    ) -> Response[ResourceLocation]:
        """Replaces a product, or creates it: 201 with its id when created, 204 when updated. (`full_replacement`
        is there to refuse `partial=true` before the body is decoded.)"""
        if await service.upsert_product(db, caller, productId, data, language=language):
            return json_response({"id": productId}, status=201)
        return empty_response(204)

    @patch(
        "/{productId:str}",
        opt={"scopes": MANAGE_PRODUCTS, "declared_scopes": UPDATE_PRODUCTS_DECLARED},
        status_code=204,
        operation_id="PATCH-product-update-product",
        summary="Partially updating a product",
        responses=_errors(400, 403, 404, 409),
    )
    async def patch_product(
        self, db: Database, caller: Caller, language: WriteLanguage, productId: str, data: ProductPartialUpdate
    ) -> Response[None]:
        """Partially updates a product: the sent fields are merged into it (RFC 7396)."""
        await service.patch_product(db, caller, productId, data, language=language)
        return empty_response(204)

    @delete(
        "/{productId:str}",
        opt={"scopes": MANAGE_PRODUCTS},
        status_code=204,
        operation_id="DELETE-product-remove-product",
        summary="Deleting a product",
        responses=_errors(400, 403),
    )
    async def delete_product(self, db: Database, caller: Caller, productId: str) -> Response[None]:
        """Deletes a product; deleting one that does not exist is a 204 too."""
        await service.delete_product(db, caller, productId)
        return empty_response(204)
