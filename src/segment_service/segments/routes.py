"""Segment routes: operations 1-10 of customer-segment.yml.

POST/GET /segments, POST /segments/search, GET/PUT/PATCH/DELETE /segments/{segmentId},
POST/PUT/DELETE /segments/bulk.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import Body, Parameter

from segment_service.core.auth import Caller
from segment_service.core.bulk import BulkResult
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.fastlane import FastRequest, FastResponse, FastRoute, FastRun
from segment_service.core.http import ReadShape, body_response, empty_response, json_body, json_response, list_response
from segment_service.core.languages import WriteLanguage
from segment_service.core.openapi import error_responses, no_content
from segment_service.core.patch import PatchOperation
from segment_service.segments import service
from segment_service.segments.models import (
    IdResponse,
    SegmentCreation,
    SegmentResponse,
    SegmentsSearch,
    SegmentUpdate,
)
from segment_service.segments.scopes import MANAGE_SEGMENTS, READ_SEGMENTS

LegalEntityId = Parameter(
    query="legalEntityId",
    required=False,
    default=None,
    description="The legal-entity context of a customer's memberships.",
)
CustomerId = Parameter(
    query="customerId",
    required=False,
    default=None,
    description="Only segments of this customer (needs customersegment.segment_read).",
)
ForceDelete = Parameter(
    query="forceDelete",
    required=False,
    default=False,
    description="Also delete the segment's customer and item assignments.",
)


def _bulk_body(item_schema: str, description: str) -> Any:
    """A bulk body: decoded as raw items so that each one is validated on its own, documented as `item_schema`[]."""
    return Body(description=description, schema_extra={"items": {"$ref": f"#/components/schemas/{item_schema}"}})


def _bulk_response(results: list[BulkResult]) -> Response[Any]:
    return json_response(results, status=207)


class SegmentController(Controller):
    path = "/customer-segment/{tenant:str}/segments"
    tags = ["Segments"]

    @post(
        "",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="POST-customer-segment-create-segment",
        summary="Creating a customer segment",
        responses=error_responses(400, 403, 409),
    )
    async def create_segment(
        self, db: Database, caller: Caller, language: WriteLanguage, data: SegmentCreation
    ) -> Response[IdResponse]:
        """Creates a new customer segment."""
        segment_id = await service.create_segment(db, caller, data, language=language)
        return json_response({"id": segment_id}, status=201)

    @get(
        "",
        opt={"scopes": READ_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-segments",
        summary="Retrieving all customer segments",
        responses=error_responses(400, 403),
    )
    async def list_segments(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        q: str | None = None,
        legal_entity_id: str | None = LegalEntityId,
        customer_id: str | None = CustomerId,
    ) -> Response[list[SegmentResponse]]:
        """Retrieves all customer segments (filtered by `q`)."""
        docs, total = await service.list_segments(
            db,
            caller,
            q=q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            customer_id=customer_id,
            legal_entity_id=legal_entity_id,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @post(
        "/search",
        opt={"scopes": READ_SEGMENTS},
        status_code=200,
        operation_id="POST-customer-segment-search-segments",
        summary="Searching with parameters for customer segments",
        responses=error_responses(400, 403),
    )
    async def search_segments(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        legal_entity_id: str | None = LegalEntityId,
        customer_id: str | None = CustomerId,
        data: SegmentsSearch | None = None,
    ) -> Response[list[SegmentResponse]]:
        """Returns all customer segments that match the `q` in the body (the body is optional, as the spec says)."""
        docs, total = await service.list_segments(
            db,
            caller,
            q=None if data is None else data.q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
            customer_id=customer_id,
            legal_entity_id=legal_entity_id,
        )
        return list_response(docs, total, shape, service.LOCALIZED_FIELDS)

    @post(
        "/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="POST-customer-segment-create-segments-bulk",
        summary="Creating customer segments in bulk",
        responses=error_responses(400, 403),
    )
    async def bulk_create_segments(
        self,
        db: Database,
        caller: Caller,
        language: WriteLanguage,
        data: Annotated[list[Any], _bulk_body("SegmentCreation", "Up to 200 segments to create.")],
    ) -> Response[list[BulkResult]]:
        """Creates up to 200 segments, each on its own (`SegmentCreation` items)."""
        return _bulk_response(await service.bulk_create_segments(db, caller, data, language=language))

    @put(
        "/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="PUT-customer-segment-update-segments-bulk",
        summary="Upserting customer segments in bulk",
        responses=error_responses(400, 403),
    )
    async def bulk_upsert_segments(
        self,
        db: Database,
        caller: Caller,
        language: WriteLanguage,
        data: Annotated[list[Any], _bulk_body("SegmentCreation", "Up to 200 segments to upsert; each names its id.")],
    ) -> Response[list[BulkResult]]:
        """Upserts up to 200 segments, each on its own (`SegmentUpdateBulk` items)."""
        return _bulk_response(await service.bulk_upsert_segments(db, caller, data, language=language))

    @delete(
        "/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="DELETE-customer-segment-remove-segments-bulk",
        summary="Deleting customer segments in bulk",
        responses=error_responses(400, 403),
    )
    async def bulk_delete_segments(
        self,
        db: Database,
        caller: Caller,
        data: Annotated[
            list[Any], Body(description="Up to 200 segment ids.", schema_extra={"items": {"type": "string"}})
        ],
        force_delete: bool = ForceDelete,
    ) -> Response[list[BulkResult]]:
        """Deletes up to 200 segments named by an array of id strings."""
        return _bulk_response(await service.bulk_delete_segments(db, caller, data, force=force_delete))

    @get(
        "/{segmentId:str}",
        opt={"scopes": READ_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-segment",
        summary="Retrieving a customer segment",
        responses=error_responses(403, 404),
    )
    async def get_segment(
        self,
        db: Database,
        caller: Caller,
        shape: ReadShape,
        segmentId: str,
        legal_entity_id: str | None = LegalEntityId,
    ) -> Response[SegmentResponse]:
        """Retrieves the segment with the given id."""
        return body_response(await segment_answer(db, caller, shape, segmentId, legal_entity_id), {})

    @put(
        "/{segmentId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-update-segment",
        summary="Upserting a customer segment",
        responses=error_responses(400, 403, 409) | no_content("Customer segment was successfully updated."),
    )
    async def upsert_segment(
        self, db: Database, caller: Caller, language: WriteLanguage, segmentId: str, data: SegmentUpdate
    ) -> Response[IdResponse]:
        """Upserts a segment: 201 with its id when created, 204 when updated."""
        if await service.upsert_segment(db, caller, segmentId, data, language=language):
            return json_response({"id": segmentId}, status=201)
        return empty_response(204)

    @patch(
        "/{segmentId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="PATCH-customer-segment-update-segment",
        summary="Patching a customer segment",
        responses=error_responses(400, 403, 404, 409),
    )
    async def patch_segment(
        self, db: Database, caller: Caller, language: WriteLanguage, segmentId: str, data: list[PatchOperation]
    ) -> Response[None]:
        """Partially updates a segment with an RFC 6902 patch (`add`, `remove`, `replace`)."""
        await service.patch_segment(db, caller, segmentId, data, language=language)
        return empty_response(204)

    @delete(
        "/{segmentId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-segment",
        summary="Deleting a customer segment",
        responses=error_responses(400, 403),
    )
    async def delete_segment(
        self, db: Database, caller: Caller, segmentId: str, force_delete: bool = ForceDelete
    ) -> Response[None]:
        """Deletes a segment; with assignments left it needs forceDelete=true."""
        await service.delete_segment(db, caller, segmentId, force=force_delete)
        return empty_response(204)


async def segment_answer(
    db: Database, caller: Caller, shape: ReadShape, segment_id: str, legal_entity_id: str | None
) -> bytes:
    """The body of `GET /segments/{segmentId}`, routed or in the fast lane."""

    def render(doc: dict[str, Any]) -> bytes:
        return json_body(shape.apply(doc, service.LOCALIZED_FIELDS))

    return await service.segment_body(
        db, caller, segment_id, legal_entity_id=legal_entity_id, render=render, variant=shape
    )


def parse_get_segment(request: FastRequest) -> FastRun:
    """`GET /segments/{segmentId}` in the fast lane (core/fastlane.py)."""
    segment_id, legal_entity_id = request.path_params["segmentId"], request.query.get("legalEntityId")
    shape = request.shape()

    async def run(caller: Caller) -> FastResponse:
        return FastResponse(await segment_answer(request.db, caller, shape, segment_id, legal_entity_id))

    return run


FAST_ROUTES = [
    FastRoute(
        SegmentController.get_segment,
        frozenset({"fields", "legalEntityId"}),
        frozenset({"accept-language"}),
        parse_get_segment,
    ),
]
