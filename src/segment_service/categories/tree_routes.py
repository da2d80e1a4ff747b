"""Category-tree routes (category.yml): GET /category-trees, POST /category-trees/search,
GET /category-trees/{categoryId}, POST /category-trees/{rootCategoryId}/rebuild.

The reads take any valid token of the tenant, as live Emporix does (docs/decisions.md#declared-and-enforced-scopes),
although the spec declares category.category_read_unpublished: that scope is needed for `showUnpublished=true` only.
Rebuilding needs category.category_manage.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from segment_service.categories import service
from segment_service.categories.models import CategoryTree, CategoryTreeSearchRequest
from segment_service.categories.routes import SHOW_UNPUBLISHED
from segment_service.categories.scopes import (
    MANAGE_CATEGORIES,
    READ_CATEGORIES,
    READ_CATEGORIES_DECLARED,
    REBUILD_TREES_DECLARED,
)
from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.http import json_response
from segment_service.core.languages import accepted_languages
from segment_service.core.openapi import CategoryError, error_responses

ACCEPT_LANGUAGE = Parameter(
    header="Accept-Language",
    required=False,
    default=None,
    description="`*` (default): every language; `en`, `fr-CH, fr;q=0.9`: the first of these each localized field has.",
)

CATEGORY_IDS = Parameter(
    query="categoryIds",
    required=False,
    default=None,
    description="Only the trees holding at least one of these (repeated or comma-separated).",
)


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CategoryError)


def _ids(values: list[str] | None) -> list[str] | None:
    """`categoryIds`, repeated (`?categoryIds=a&categoryIds=b`) or comma-separated (`?categoryIds=a,b`)."""
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class CategoryTreeController(Controller):
    path = "/category/{tenant:str}/category-trees"
    tags = ["Category trees"]

    @get(
        "",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-retrieve-category-tree",
        summary="Retrieving the category trees",
        responses=_errors(400, 403),
    )
    async def list_trees(
        self,
        state: State,
        db: Database,
        caller: Caller,
        show_unpublished: bool = SHOW_UNPUBLISHED,
        category_ids: list[str] | None = CATEGORY_IDS,
        accept_language: str | None = ACCEPT_LANGUAGE,
    ) -> Response[list[CategoryTree]]:
        """Retrieves the category trees, roots and siblings ordered by position, then id."""
        trees = await service.category_trees(
            db,
            caller,
            unpublished=show_unpublished,
            category_ids=_ids(category_ids),
            languages=accepted_languages(accept_language),
            default_language=state.settings.default_language,
        )
        return json_response(trees)

    @post(
        "/search",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        status_code=200,
        operation_id="POST-category-tree-search-category-trees",
        summary="Searching for category trees",
        responses=_errors(400, 403),
    )
    async def search_trees(
        self,
        state: State,
        db: Database,
        caller: Caller,
        data: CategoryTreeSearchRequest,
        show_unpublished: bool = SHOW_UNPUBLISHED,
        accept_language: str | None = ACCEPT_LANGUAGE,
    ) -> Response[list[CategoryTree]]:
        """Returns the category trees that hold at least one of `categoryIds`."""
        trees = await service.category_trees(
            db,
            caller,
            unpublished=show_unpublished,
            category_ids=data.category_ids,
            languages=accepted_languages(accept_language),
            default_language=state.settings.default_language,
        )
        return json_response(trees)

    @get(
        "/{categoryId:str}",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-retrieve-category-tree-by-id",
        summary="Retrieving a specific category tree",
        responses=_errors(400, 403, 404),
    )
    async def get_tree(
        self,
        state: State,
        db: Database,
        caller: Caller,
        categoryId: str,
        show_unpublished: bool = SHOW_UNPUBLISHED,
        accept_language: str | None = ACCEPT_LANGUAGE,
    ) -> Response[CategoryTree]:
        """Retrieves the tree under a root category (404 for a category that is not a root)."""
        tree = await service.category_tree(
            db,
            caller,
            categoryId,
            unpublished=show_unpublished,
            languages=accepted_languages(accept_language),
            default_language=state.settings.default_language,
        )
        return json_response(tree)

    @post(
        "/{rootCategoryId:str}/rebuild",
        opt={"scopes": MANAGE_CATEGORIES, "declared_scopes": REBUILD_TREES_DECLARED},
        status_code=200,
        operation_id="POST-category-tree-rebuild-category-tree",
        summary="Rebuilding a category tree",
        responses=_errors(400, 403, 404),
    )
    async def rebuild_tree(
        self,
        state: State,
        db: Database,
        caller: Caller,
        rootCategoryId: str,
        show_unpublished: bool = SHOW_UNPUBLISHED,
        accept_language: str | None = ACCEPT_LANGUAGE,
    ) -> Response[CategoryTree]:
        """Rebuilds the hierarchy rows of a tree from its categories' parents and returns the tree."""
        tree = await service.rebuild_tree(
            db,
            caller,
            rootCategoryId,
            unpublished=show_unpublished,
            languages=accepted_languages(accept_language),
            default_language=state.settings.default_language,
        )
        return json_response(tree)
