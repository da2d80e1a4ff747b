"""Segment item assignment routes: operations 24-30 of customer-segment.yml.

GET /segments/{segmentId}/items, POST /segments/{segmentId}/items/search,
GET/PUT/DELETE /segments/{segmentId}/items/{type}/{itemId}, PUT/DELETE /segments/{segmentId}/items/{type}/bulk.
(`/segments/items` without a segment id is the storefront's, built elsewhere; every path here has a segment id.)
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Body, Parameter

from segment_service.core.auth import Caller
from segment_service.core.bulk import BulkResult
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.http import ReadShape, empty_response, json_response, list_response
from segment_service.core.languages import localize
from segment_service.core.openapi import error_responses, no_content
from segment_service.segments import item_assignments as service
from segment_service.segments.item_assignment_models import ItemAssignmentResponse, ItemAssignmentUpsert
from segment_service.segments.models import SegmentsSearch
from segment_service.segments.scopes import MANAGE_SEGMENTS, READ_SEGMENTS

LegalEntityId = Parameter(
    query="legalEntityId",
    required=False,
    default=None,
    description="The legal-entity context of a customer's memberships.",
)


def shape_item_assignment(doc: dict[str, Any], shape: ReadShape) -> dict[str, Any]:
    """Accept-Language narrows the item's name; then the `fields` projection."""
    item = doc.get("item")
    if shape.languages is not None and isinstance(item, dict) and isinstance(item.get("name"), dict):
        item["name"] = localize(item["name"], shape.languages, shape.default_language)
    return shape.apply(doc, ())


class SegmentItemAssignmentController(Controller):
    path = "/customer-segment/{tenant:str}/segments/{segmentId:str}/items"
    tags = ["Items Assignments"]

    @get(
        "",
        opt={"scopes": READ_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-segment-items",
        summary="Retrieving all item assignments for a customer segment",
        responses=error_responses(400, 403, 404),
    )
    async def list_items(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        segmentId: str,
        q: str | None = None,
        legal_entity_id: str | None = LegalEntityId,
    ) -> Response[list[ItemAssignmentResponse]]:
        """Retrieves the item assignments of a segment (filtered by `q`)."""
        docs, total = await service.list_assignments(
            db,
            caller,
            segmentId,
            q=q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            legal_entity_id=legal_entity_id,
        )
        return list_response([shape_item_assignment(d, shape) for d in docs], total)

    @post(
        "/search",
        opt={"scopes": READ_SEGMENTS},
        status_code=200,
        operation_id="POST-customer-segment-search-items",
        summary="Retrieving all item assignments for a customer segment",
        responses=error_responses(400, 403, 404),
    )
    async def search_items(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        segmentId: str,
        legal_entity_id: str | None = LegalEntityId,
        data: SegmentsSearch | None = None,
    ) -> Response[list[ItemAssignmentResponse]]:
        """Returns the segment's item assignments that match the `q` in the body (the body is optional)."""
        docs, total = await service.list_assignments(
            db,
            caller,
            segmentId,
            q=None if data is None else data.q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            legal_entity_id=legal_entity_id,
        )
        return list_response([shape_item_assignment(d, shape) for d in docs], total)

    @put(
        "/{type:str}/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="PUT-customer-segment-update-items-bulk",
        summary="Updating item assignments to a customer segment in bulk",
        responses=error_responses(400, 403),
    )
    async def bulk_upsert_items(
        self,
        db: Database,
        caller: Caller,
        segmentId: str,
        type: str,
        data: Annotated[
            list[Any],
            Body(
                description="Up to 200 assignments; each names its item's `id`.",
                schema_extra={"items": {"$ref": "#/components/schemas/ItemAssignmentUpsertBulk"}},
            ),
        ],
    ) -> Response[list[BulkResult]]:
        """Upserts up to 200 item assignments, each on its own (201 created, 204 updated)."""
        return json_response(await service.bulk_upsert_assignments(db, caller, segmentId, type, data), status=207)

    @delete(
        "/{type:str}/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="DELETE-customer-segment-remove-items-bulk",
        summary="Deleting item assignments to a customer segment in bulk",
        responses=error_responses(400, 403),
    )
    async def bulk_delete_items(
        self,
        db: Database,
        caller: Caller,
        segmentId: str,
        type: str,
        data: Annotated[list[Any], Body(description="Up to 200 item ids.", schema_extra={"items": {"type": "string"}})],
    ) -> Response[list[BulkResult]]:
        """Removes up to 200 item assignments named by an array of item id strings."""
        return json_response(await service.bulk_delete_assignments(db, caller, segmentId, type, data), status=207)

    @get(
        "/{type:str}/{itemId:str}",
        opt={"scopes": READ_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-item",
        summary="Retrieving an item assignment",
        responses=error_responses(400, 403, 404),
    )
    async def get_item(
        self,
        db: Database,
        caller: Caller,
        shape: ReadShape,
        segmentId: str,
        type: str,
        itemId: str,
        legal_entity_id: str | None = LegalEntityId,
    ) -> Response[ItemAssignmentResponse]:
        """Retrieves one item assignment of a segment."""
        doc = await service.get_assignment(db, caller, segmentId, type, itemId, legal_entity_id=legal_entity_id)
        return json_response(shape_item_assignment(doc, shape))

    @put(
        "/{type:str}/{itemId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-update-item",
        summary="Updating an item assignment",
        responses=error_responses(400, 403, 404, 409) | no_content("Item assignment was successfully updated."),
    )
    async def upsert_item(
        self, db: Database, caller: Caller, segmentId: str, type: str, itemId: str, data: ItemAssignmentUpsert
    ) -> Response[None]:
        """Upserts an item assignment: 201 when created, 204 when updated (no body either way)."""
        created = await service.upsert_assignment(db, caller, segmentId, type, itemId, data)
        return empty_response(201 if created else 204)

    @delete(
        "/{type:str}/{itemId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-item",
        summary="Removing an assignment",
        responses=error_responses(400, 403),
    )
    async def delete_item(self, db: Database, caller: Caller, segmentId: str, type: str, itemId: str) -> Response[None]:
        """Removes an item assignment; removing one that does not exist is fine (idempotent)."""
        await service.delete_assignment(db, caller, segmentId, type, itemId)
        return empty_response(204)
