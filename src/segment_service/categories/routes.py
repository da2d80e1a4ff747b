"""Category routes (category.yml): GET/POST /categories, POST /categories/search, GET/PUT/PATCH/DELETE
/categories/{categoryId}, GET /categories/{categoryId}/parents and /subcategories.

Reads take any valid token of the tenant (service, customer or anonymous); `showUnpublished=true` needs
category.category_read_unpublished. Writes need category.category_manage; publishing also category.category_publish
and unpublishing category.category_unpublish.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import Parameter

from segment_service.categories import service
from segment_service.categories.models import (
    Category,
    CategoryCreateRequest,
    CategoryIdResponse,
    CategoryPartialUpdateRequest,
    CategoryUpdateRequest,
    SearchRequest,
)
from segment_service.categories.scopes import (
    CREATE_CATEGORIES_DECLARED,
    MANAGE_CATEGORIES,
    READ_CATEGORIES,
    READ_CATEGORIES_DECLARED,
    UPDATE_CATEGORIES_DECLARED,
)
from segment_service.categories.service import MAX_SUBCATEGORY_DEPTH
from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.http import ReadShape, empty_response, json_response, list_response
from segment_service.core.languages import WriteLanguage
from segment_service.core.openapi import CategoryError, error_responses, no_content
from segment_service.core.paging import int_parameter

SHOW_UNPUBLISHED = Parameter(
    query="showUnpublished",
    required=False,
    default=False,
    description="`true` includes unpublished categories; needs `category.category_read_unpublished`.",
)
PUBLISH = Parameter(
    query="publish",
    required=False,
    default=None,
    description="When sent, it must equal the resulting `published` value.",
)


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CategoryError)


def _text(name: str, description: str) -> Any:
    return Parameter(query=name, required=False, default=None, description=description)


class CategoryController(Controller):
    path = "/category/{tenant:str}/categories"
    tags = ["Categories"]

    @get(
        "",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-list-categories",
        summary="Retrieving a list of categories",
        responses=_errors(400, 403),
    )
    async def list_categories(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        q: str | None = None,
        show_roots: bool = Parameter(
            query="showRoots", required=False, default=False, description="`true`: only root categories."
        ),
        show_unpublished: bool = SHOW_UNPUBLISHED,
        code: str | None = _text("code", "Exact, case-insensitive code."),
        localized_name: str | None = _text(
            "localizedName", "A translation (in the accepted languages) equal to this, ignoring case."
        ),
        localized_description: str | None = _text("localizedDescription", "Like localizedName."),
        localized_slug: str | None = _text("localizedSlug", "Like localizedName."),
        ecn: str | None = _text("ecn", "Categories holding exactly this ECN."),
        validity_from: str | None = _text("validityFrom", "yyyy-MM-dd: validity.from on or after that day."),
        validity_to: str | None = _text("validityTo", "yyyy-MM-dd: validity.to on or before that day."),
        metadata_modified_at: str | None = _text("metadataModifiedAt", "yyyy-MM-dd: modified on or after that day."),
    ) -> Response[list[Category]]:
        """Retrieves the categories matching `q` and the filters."""
        filters = service.ListFilters(
            code=code,
            localized_name=localized_name,
            localized_description=localized_description,
            localized_slug=localized_slug,
            ecn=ecn,
            validity_from=validity_from,
            validity_to=validity_to,
            metadata_modified_at=metadata_modified_at,
        )
        docs, total = await service.list_categories(
            db,
            caller,
            q=q,
            filters=filters,
            show_roots=show_roots,
            unpublished=show_unpublished,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @post(
        "/search",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        status_code=200,
        operation_id="POST-category-tree-search-categories",
        summary="Searching for categories",
        responses=_errors(400, 403),
    )
    async def search_categories(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        data: SearchRequest | None = None,
        show_roots: bool = Parameter(
            query="showRoots", required=False, default=False, description="`true`: only root categories."
        ),
        show_unpublished: bool = SHOW_UNPUBLISHED,
    ) -> Response[list[Category]]:
        """Returns the categories that match the `q` in the body (without one: all of them)."""
        docs, total = await service.list_categories(
            db,
            caller,
            q=None if data is None else data.q,
            filters=service.ListFilters(),
            show_roots=show_roots,
            unpublished=show_unpublished,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @post(
        "",
        opt={"scopes": MANAGE_CATEGORIES, "declared_scopes": CREATE_CATEGORIES_DECLARED},
        status_code=201,
        operation_id="POST-category-tree-create-category",
        summary="Creating a new category",
        responses=_errors(400, 403, 409),
    )
    async def create_category(
        self,
        db: Database,
        caller: Caller,
        language: WriteLanguage,
        data: CategoryCreateRequest,
        publish: bool | None = PUBLISH,
    ) -> Response[CategoryIdResponse]:
        """Creates a category; publishing it needs category.category_publish too."""
        category_id = await service.create_category(db, caller, data, language=language, publish=publish)
        return json_response({"id": category_id}, status=201)

    @get(
        "/{categoryId:str}",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-retrieve-category",
        summary="Retrieving a category details",
        responses=_errors(400, 403, 404),
    )
    async def get_category(
        self, db: Database, caller: Caller, shape: ReadShape, categoryId: str, show_unpublished: bool = SHOW_UNPUBLISHED
    ) -> Response[Category]:
        """Retrieves a category; an unpublished one only with showUnpublished=true (else 404)."""
        doc = await service.get_category(
            db, caller, categoryId, unpublished=show_unpublished, default_language=shape.default_language
        )
        return json_response(shape.apply(doc, service.LOCALIZED_FIELDS))

    @put(
        "/{categoryId:str}",
        opt={"scopes": MANAGE_CATEGORIES, "declared_scopes": UPDATE_CATEGORIES_DECLARED},
        status_code=201,
        operation_id="PUT-category-tree-update-category",
        summary="Upserting a category",
        responses=_errors(400, 403, 404, 409) | no_content("The category has been successfully updated."),
    )
    async def upsert_category(
        self,
        db: Database,
        caller: Caller,
        language: WriteLanguage,
        categoryId: str,
        data: CategoryUpdateRequest,
        publish: bool | None = PUBLISH,
    ) -> Response[CategoryIdResponse]:
        """Replaces a category, or creates it: 201 with its id when created, 204 when replaced."""
        if await service.upsert_category(db, caller, categoryId, data, language=language, publish=publish):
            return json_response({"id": categoryId}, status=201)
        return empty_response(204)

    @patch(
        "/{categoryId:str}",
        opt={"scopes": MANAGE_CATEGORIES, "declared_scopes": UPDATE_CATEGORIES_DECLARED},
        status_code=204,
        operation_id="PATCH-category-tree-update-category",
        summary="Updating a category",
        responses=_errors(400, 403, 404, 409),
    )
    async def patch_category(
        self,
        db: Database,
        caller: Caller,
        language: WriteLanguage,
        categoryId: str,
        data: CategoryPartialUpdateRequest,
        publish: bool | None = PUBLISH,
    ) -> Response[None]:
        """Partially updates a category: the sent fields are merged into it (RFC 7396)."""
        await service.patch_category(db, caller, categoryId, data, language=language, publish=publish)
        return empty_response(204)

    @delete(
        "/{categoryId:str}",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=204,
        operation_id="DELETE-category-tree-remove-category",
        summary="Deleting a category",
        responses=_errors(400, 403, 404),
    )
    async def delete_category(
        self,
        db: Database,
        caller: Caller,
        categoryId: str,
        with_subcategories: bool = Parameter(
            query="withSubcategories",
            required=False,
            default=False,
            description="`true` deletes the subcategories too; `false` makes the direct children roots.",
        ),
    ) -> Response[None]:
        """Deletes a category, with its subtree or alone."""
        await service.delete_category(db, caller, categoryId, with_subcategories=with_subcategories)
        return empty_response(204)

    @get(
        "/{categoryId:str}/parents",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-retrieve-category-parents",
        summary="Retrieving parents for a category",
        responses=_errors(400, 403, 404),
    )
    async def list_parents(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        categoryId: str,
        show_unpublished: bool = SHOW_UNPUBLISHED,
    ) -> Response[list[Category]]:
        """Retrieves a category's ancestors from the root down (a root has none: an empty list)."""
        docs, total = await service.list_parents(
            db,
            caller,
            categoryId,
            unpublished=show_unpublished,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @get(
        "/{categoryId:str}/subcategories",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-list-subcategories",
        summary="Retrieving subcategories for a category",
        responses=_errors(400, 403, 404),
    )
    async def list_subcategories(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        categoryId: str,
        depth: str | None = Parameter(
            query="depth",
            required=False,
            default=None,
            description=f"1: direct children only; left out: every level. At most {MAX_SUBCATEGORY_DEPTH}.",
            schema_extra={"type": "integer", "minimum": 1, "maximum": MAX_SUBCATEGORY_DEPTH},
        ),
        show_unpublished: bool = SHOW_UNPUBLISHED,
    ) -> Response[list[Category]]:
        """Retrieves the categories below a category, level by level."""
        levels = None if depth is None else int_parameter(depth, "depth", low=1, high=MAX_SUBCATEGORY_DEPTH, default=1)
        docs, total = await service.list_subcategories(
            db,
            caller,
            categoryId,
            depth=levels,
            unpublished=show_unpublished,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)
