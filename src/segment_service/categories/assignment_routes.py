"""Category assignment routes (category.yml; docs/categories.md#product-assignments).

GET/POST/DELETE /categories/{categoryId}/assignments, POST /categories/{categoryId}/assignments/bulk,
DELETE /categories/{categoryId}/assignments/{assignmentId},
PUT/DELETE /categories/{categoryId}/assignments/references/{referenceId},
PUT /categories/{categoryId}/assignments/references/bulk,
GET/DELETE /assignments/references/{referenceId}.

Reads take any valid token of the tenant (the spec's `security: []`); unpublished categories need
category.category_read_unpublished (`showUnpublished=true`). Writes need category.category_manage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Body, Parameter

from segment_service.categories import assignments as service
from segment_service.categories.assignment_models import (
    AssignmentIdResponse,
    AssignmentRequest,
    BulkAssignmentResult,
    CategoryAssignmentResponse,
    CategoryResponse,
)
from segment_service.categories.scopes import MANAGE_CATEGORIES, READ_CATEGORIES, READ_CATEGORIES_DECLARED
from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.fastlane import FastRequest, FastResponse, FastRoute, FastRun, flag
from segment_service.core.http import ReadShape, body_response, empty_response, json_response, list_body, list_response
from segment_service.core.openapi import CategoryError, error_responses, no_content

AssignmentType = Parameter(
    query="assignmentType",
    required=False,
    default=None,
    description="Resource type; only `PRODUCT` (the default) exists.",
)
ShowUnpublished = Parameter(
    query="showUnpublished",
    required=False,
    default=False,
    description="Also assignments of unpublished categories (needs category.category_read_unpublished).",
)
WithSubcategories = Parameter(
    query="withSubcategories",
    required=False,
    default=False,
    description="Also the assignments of every category below this one.",
)
HideUnpublishedProducts = Parameter(
    query="hideUnpublishedProducts",
    required=False,
    default=False,
    description="Only assignments of published products.",
)
RefId = Parameter(query="ref.id", required=False, default=None, description="Only the assignment of this product.")
RefLocalizedName = Parameter(
    query="ref.localizedName",
    required=False,
    default=None,
    description="Only products whose name contains this text in any language, ignoring case.",
)
SegmentsIds = Parameter(
    query="segmentsIds",
    required=False,
    default=None,
    description="Comma-separated segment ids: only products of categories that one of these "
    "segments makes visible (the category, or a category above it, is assigned to "
    "the segment).",
)
ExpandSupercategoriesIds = Parameter(
    query="expandSupercategoriesIds",
    required=False,
    default=False,
    description="Add each category's `supercategoriesIds`, root first.",
)


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CategoryError)


def _bulk_body(item_schema: str, description: str) -> Any:
    """A bulk body: decoded as raw items so that each one is validated on its own."""
    return Body(description=description, schema_extra={"items": {"$ref": f"#/components/schemas/{item_schema}"}})


class CategoryAssignmentController(Controller):
    path = "/category/{tenant:str}/categories/{categoryId:str}/assignments"
    tags = ["Category Assignment Resources"]

    @get(
        "",
        opt={"scopes": READ_CATEGORIES},
        security=[],  # category.yml declares no security for this read, so the document states none
        operation_id="GET-category-tree-retrieve-category-assignments",
        summary="Retrieving resources assigned to a category",
        responses=_errors(400, 403, 404),
    )
    async def list_category_assignments(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        categoryId: str,
        assignment_type: str | None = AssignmentType,
        ref_id: str | None = RefId,
        ref_localized_name: str | None = RefLocalizedName,
        show_unpublished: bool = ShowUnpublished,
        with_subcategories: bool = WithSubcategories,
        segments_ids: str | None = SegmentsIds,
        hide_unpublished_products: bool = HideUnpublishedProducts,
    ) -> Response[list[CategoryAssignmentResponse]]:
        """Retrieves the products assigned to a category (and to its subcategories with `withSubcategories`)."""
        query = AssignmentsQuery(
            assignment_type,
            with_subcategories=with_subcategories,
            show_unpublished=show_unpublished,
            hide_unpublished_products=hide_unpublished_products,
            ref_id=ref_id,
            ref_localized_name=ref_localized_name,
            segments_ids=segments_ids,
        )
        return body_response(*await category_assignments(db, caller, categoryId, listing, shape, query))

    @post(
        "",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=201,
        operation_id="POST-category-tree-assign-resource",
        summary="Assigning a resource to a category",
        responses=_errors(400, 403, 404, 409),
    )
    async def assign_resource(
        self, db: Database, caller: Caller, categoryId: str, data: AssignmentRequest
    ) -> Response[AssignmentIdResponse]:
        """Assigns a product to a category; 409 when it is assigned to it already."""
        return json_response({"id": await service.assign_product(db, caller, categoryId, data)}, status=201)

    @delete(
        "",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=204,
        operation_id="DELETE-category-tree-remove-all-category-assignments",
        summary="Deleting all category assignments",
        responses=_errors(400, 403, 404),
    )
    async def remove_all_category_assignments(
        self, db: Database, caller: Caller, categoryId: str, assignment_type: str | None = AssignmentType
    ) -> Response[None]:
        """Deletes every assignment of a category."""
        await service.delete_category_assignments(db, caller, categoryId, assignment_type)
        return empty_response(204)

    @post(
        "/bulk",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=207,
        operation_id="POST-category-tree-assign-category-resources",
        summary="Assigning resources to a category",
        responses=_errors(400, 403, 404),
    )
    async def assign_resources(
        self,
        db: Database,
        caller: Caller,
        categoryId: str,
        data: Annotated[list[Any], _bulk_body("AssignmentRequest", "1 to 200 products to assign.")],
    ) -> Response[list[BulkAssignmentResult]]:
        """Assigns up to 200 products to a category, each on its own."""
        return json_response(await service.bulk_assign_products(db, caller, categoryId, data), status=207)

    @put(
        "/references/bulk",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=207,
        operation_id="PUT-category-tree-update-category-assignments",
        summary="Updating assignment of resources to a category",
        responses=_errors(400, 403, 404),
    )
    async def upsert_resources(
        self,
        db: Database,
        caller: Caller,
        categoryId: str,
        data: Annotated[list[Any], _bulk_body("AssignmentUpsertItem", "1 to 200 products to keep assigned.")],
    ) -> Response[list[BulkAssignmentResult]]:
        """Makes sure up to 200 products are assigned to a category (201 created, 204 already there)."""
        return json_response(await service.bulk_upsert_assignments(db, caller, categoryId, data), status=207)

    @put(
        "/references/{referenceId:str}",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=201,
        operation_id="PUT-category-tree-assign-resource",
        summary="Upserting a resource to a category assignment",
        responses=_errors(400, 403, 404) | no_content("The product was assigned to the category already."),
    )
    async def upsert_resource(
        self, db: Database, caller: Caller, categoryId: str, referenceId: str
    ) -> Response[AssignmentIdResponse]:
        """Assigns a product to a category: 201 with the new assignment's id, 204 when it was assigned already."""
        assignment_id, created = await service.upsert_assignment(db, caller, categoryId, referenceId)
        return json_response({"id": assignment_id}, status=201) if created else empty_response(204)

    @delete(
        "/references/{referenceId:str}",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=204,
        operation_id="DELETE-category-tree-remove-category-assignment-by-reference-id",
        summary="Deleting a category assignment by reference id",
        responses=_errors(400, 403, 404),
    )
    async def remove_assignment_by_reference(
        self, db: Database, caller: Caller, categoryId: str, referenceId: str
    ) -> Response[None]:
        """Removes a product from a category."""
        await service.delete_assignment_by_reference(db, caller, categoryId, referenceId)
        return empty_response(204)

    @delete(
        "/{assignmentId:str}",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=204,
        operation_id="DELETE-category-tree-remove-category-assignment",
        summary="Deleting a category assignment by id",
        responses=_errors(400, 403, 404),
    )
    async def remove_assignment(
        self, db: Database, caller: Caller, categoryId: str, assignmentId: str
    ) -> Response[None]:
        """Removes one assignment of a category."""
        await service.delete_assignment(db, caller, categoryId, assignmentId)
        return empty_response(204)


class ReferenceAssignmentController(Controller):
    path = "/category/{tenant:str}/assignments/references/{referenceId:str}"
    tags = ["Assignment Resources"]

    @get(
        "",
        opt={"scopes": READ_CATEGORIES, "declared_scopes": READ_CATEGORIES_DECLARED},
        operation_id="GET-category-tree-list-categories-by-reference-id",
        summary="Retrieving a list of categories for which the reference id is assigned",
        responses=_errors(400, 403, 404),
    )
    async def list_categories_by_reference(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        referenceId: str,
        show_unpublished: bool = ShowUnpublished,
        expand_supercategories_ids: bool = ExpandSupercategoriesIds,
    ) -> Response[list[CategoryResponse]]:
        """Retrieves the categories a product is assigned to."""
        docs, total = await service.list_categories_of_product(
            db,
            caller,
            referenceId,
            show_unpublished=show_unpublished,
            with_supercategories=expand_supercategories_ids,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            languages=shape.languages,
            default_language=shape.default_language,
        )
        return list_response(docs, total, shape, service.CATEGORY_LOCALIZED_FIELDS)

    @delete(
        "",
        opt={"scopes": MANAGE_CATEGORIES},
        status_code=204,
        operation_id="DELETE-category-tree-remove-all-assignments",
        summary="Deleting all assignments by referenceId",
        responses=_errors(403, 404),
    )
    async def remove_all_assignments(self, db: Database, caller: Caller, referenceId: str) -> Response[None]:
        """Removes a product from every category."""
        await service.delete_product_assignments(db, caller, referenceId)
        return empty_response(204)


@dataclass(frozen=True, slots=True)
class AssignmentsQuery:
    """The query of `GET /categories/{categoryId}/assignments` beyond paging and shaping."""

    assignment_type: str | None
    with_subcategories: bool
    show_unpublished: bool
    hide_unpublished_products: bool
    ref_id: str | None
    ref_localized_name: str | None
    segments_ids: str | None


async def category_assignments(
    db: Database, caller: Caller, category_id: str, listing: Listing, shape: ReadShape, query: AssignmentsQuery
) -> tuple[bytes, dict[str, str]]:
    """The answer of `GET /categories/{categoryId}/assignments`, routed or in the fast lane (the storefront's
    "products of this category for my segments" read): its body and headers."""
    service.check_assignment_type(query.assignment_type, field="assignmentType")
    filters = service.AssignmentFilters(
        with_subcategories=query.with_subcategories,
        show_unpublished=query.show_unpublished,
        hide_unpublished_products=query.hide_unpublished_products,
        product_id=query.ref_id,
        name_contains=query.ref_localized_name or None,
        segment_ids=service.segment_ids_of(query.segments_ids),
    )

    def render(result: tuple[list[dict[str, Any]], int | None]) -> tuple[bytes, dict[str, str]]:
        docs, total = result
        return list_body([shape.apply(d, ()) for d in docs], total)

    answer = await service.category_assignments_answer(
        db,
        caller,
        category_id,
        filters=filters,
        page=listing.page,
        sort=listing.sort,
        with_total=listing.with_total,
        languages=shape.languages,
        default_language=shape.default_language,
        variant=shape.fields,
        render=render,
    )
    return answer.body, answer.header_dict()


def parse_category_assignments(request: FastRequest) -> FastRun:
    """`GET /categories/{categoryId}/assignments` in the fast lane (core/fastlane.py)."""
    get = request.query.get
    query = AssignmentsQuery(
        get("assignmentType"),
        with_subcategories=flag(get("withSubcategories")),
        show_unpublished=flag(get("showUnpublished")),
        hide_unpublished_products=flag(get("hideUnpublishedProducts")),
        ref_id=get("ref.id"),
        ref_localized_name=get("ref.localizedName"),
        segments_ids=get("segmentsIds"),
    )
    category_id, listing, shape = request.path_params["categoryId"], request.listing(), request.shape()

    async def run(caller: Caller) -> FastResponse:
        return FastResponse(*await category_assignments(request.db, caller, category_id, listing, shape, query))

    return run


FAST_ROUTES = [
    FastRoute(
        CategoryAssignmentController.list_category_assignments,
        frozenset(
            {
                "assignmentType",
                "ref.id",
                "ref.localizedName",
                "showUnpublished",
                "withSubcategories",
                "segmentsIds",
                "hideUnpublishedProducts",
                "pageNumber",
                "pageSize",
                "sort",
                "fields",
            }
        ),
        frozenset({"accept-language", "x-total-count"}),
        parse_category_assignments,
    ),
]
