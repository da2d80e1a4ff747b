"""Segment customer-assignment routes: operations 12-21 of customer-segment.yml.

GET /segments/{segmentId}/customers, POST …/customers/search, GET/PUT/DELETE …/customers/{customerId} (B2C),
GET/PUT/DELETE …/customers/{customerId}/{legalEntityId} (B2B), PUT/DELETE …/customers/bulk.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Body

from segment_service.core.auth import Caller
from segment_service.core.bulk import BulkResult
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.http import ReadShape, empty_response, json_response, list_response
from segment_service.core.openapi import error_responses, no_content
from segment_service.segments import customer_assignments as service
from segment_service.segments.customer_assignment_models import (
    CustomerAssignmentB2CResponse,
    CustomerAssignmentResponse,
    CustomerAssignmentsSearch,
    CustomerAssignmentUpsert,
)
from segment_service.segments.scopes import MANAGE_SEGMENTS, READ_ALL_SEGMENTS, READ_SEGMENTS


def _upsert_response(created: bool) -> Response[None]:
    return empty_response(201 if created else 204)


class SegmentCustomerController(Controller):
    path = "/customer-segment/{tenant:str}/segments/{segmentId:str}/customers"
    tags = ["Segment customer assignments"]

    @get(
        "",
        opt={"scopes": READ_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-customer-assignments",
        summary="Retrieving customers assigned to a segment",
        responses=error_responses(400, 403, 404),
    )
    async def list_assignments(
        self, db: Database, caller: Caller, listing: Listing, shape: ReadShape, segmentId: str, q: str | None = None
    ) -> Response[list[CustomerAssignmentResponse]]:
        """The segment's customer assignments (filtered by `q`); a customer token sees only its own."""
        docs, total = await service.list_assignments(
            db, caller, segmentId, q=q, page=listing.page, sort=listing.sort, with_total=listing.with_total
        )
        return list_response(docs, total, shape)

    @post(
        "/search",
        opt={"scopes": READ_ALL_SEGMENTS},
        status_code=200,
        operation_id="POST-customer-segment-search-customer-assignments",
        summary="Searching customers assigned to a segment",
        responses=error_responses(400, 403, 404),
    )
    async def search_assignments(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        segmentId: str,
        data: CustomerAssignmentsSearch | None = None,
    ) -> Response[list[CustomerAssignmentResponse]]:
        """The segment's customer assignments matching the `q` in the body."""
        docs, total = await service.list_assignments(
            db,
            caller,
            segmentId,
            q=None if data is None else data.q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
        )
        return list_response(docs, total, shape)

    @put(
        "/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="PUT-customer-segment-update-customer-assignments-bulk",
        summary="Upserting customer assignments in bulk",
        responses=error_responses(400, 403, 404),
    )
    async def bulk_upsert(
        self,
        db: Database,
        caller: Caller,
        segmentId: str,
        data: Annotated[
            list[Any],
            Body(
                description="Up to 200 assignments (`CustomerAssignmentUpsertBulk`).",
                schema_extra={"items": {"$ref": "#/components/schemas/CustomerAssignmentUpsertBulk"}},
            ),
        ],
    ) -> Response[list[BulkResult]]:
        """Upserts up to 200 customer assignments, each on its own."""
        return json_response(await service.bulk_upsert_assignments(db, caller, segmentId, data), status=207)

    @delete(
        "/bulk",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=207,
        operation_id="DELETE-customer-segment-remove-customer-assignments-bulk",
        summary="Deleting customer assignments in bulk",
        responses=error_responses(400, 403),
    )
    async def bulk_delete(
        self,
        db: Database,
        caller: Caller,
        segmentId: str,
        data: Annotated[
            list[Any],
            Body(
                description="Up to 200 `{customerId, legalEntityId}` objects.",
                schema_extra={"items": {"type": "object"}},
            ),
        ],
    ) -> Response[list[BulkResult]]:
        """Deletes up to 200 customer assignments named by `{customerId, legalEntityId}` (omit it for B2C)."""
        return json_response(await service.bulk_delete_assignments(db, caller, segmentId, data), status=207)

    @get(
        "/{customerId:str}",
        opt={"scopes": READ_ALL_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-customer-assignment-b2c",
        summary="Retrieving a B2C customer assignment",
        responses=error_responses(403, 404),
    )
    async def get_b2c(
        self, db: Database, caller: Caller, shape: ReadShape, segmentId: str, customerId: str
    ) -> Response[CustomerAssignmentB2CResponse]:
        """The B2C assignment of the customer to the segment."""
        doc = await service.get_assignment(db, caller, segmentId, customerId, None)
        return json_response(shape.apply(doc, ()))

    @put(
        "/{customerId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-upsert-customer-assignment-b2c",
        summary="Upserting a B2C customer assignment",
        responses=error_responses(400, 403, 404, 409) | no_content("The assignment was updated."),
    )
    async def upsert_b2c(
        self,
        db: Database,
        caller: Caller,
        segmentId: str,
        customerId: str,
        data: CustomerAssignmentUpsert | None = None,
    ) -> Response[None]:
        """Assigns the customer (B2C) to the segment: 201 when created, 204 when updated."""
        body = data or CustomerAssignmentUpsert()
        return _upsert_response(await service.upsert_assignment(db, caller, segmentId, customerId, None, body))

    @delete(
        "/{customerId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-customer-assignment-b2c",
        summary="Deleting a B2C customer assignment",
        responses=error_responses(403),
    )
    async def delete_b2c(self, db: Database, caller: Caller, segmentId: str, customerId: str) -> Response[None]:
        """Removes the customer's B2C assignment from the segment."""
        await service.delete_assignment(db, caller, segmentId, customerId, None)
        return empty_response(204)

    @get(
        "/{customerId:str}/{legalEntityId:str}",
        opt={"scopes": READ_ALL_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-customer-assignment",
        summary="Retrieving a B2B customer assignment",
        responses=error_responses(403, 404),
    )
    async def get_b2b(
        self, db: Database, caller: Caller, shape: ReadShape, segmentId: str, customerId: str, legalEntityId: str
    ) -> Response[CustomerAssignmentResponse]:
        """The assignment of the customer, for the legal entity, to the segment."""
        doc = await service.get_assignment(db, caller, segmentId, customerId, legalEntityId)
        return json_response(shape.apply(doc, ()))

    @put(
        "/{customerId:str}/{legalEntityId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-upsert-customer-assignment",
        summary="Upserting a B2B customer assignment",
        responses=error_responses(400, 403, 404, 409) | no_content("The assignment was updated."),
    )
    async def upsert_b2b(
        self,
        db: Database,
        caller: Caller,
        segmentId: str,
        customerId: str,
        legalEntityId: str,
        data: CustomerAssignmentUpsert | None = None,
    ) -> Response[None]:
        """Assigns the customer, for the legal entity, to the segment: 201 when created, 204 when updated."""
        body = data or CustomerAssignmentUpsert()
        return _upsert_response(await service.upsert_assignment(db, caller, segmentId, customerId, legalEntityId, body))

    @delete(
        "/{customerId:str}/{legalEntityId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-customer-assignment",
        summary="Deleting a B2B customer assignment",
        responses=error_responses(403),
    )
    async def delete_b2b(
        self, db: Database, caller: Caller, segmentId: str, customerId: str, legalEntityId: str
    ) -> Response[None]:
        """Removes the customer's assignment for the legal entity from the segment."""
        await service.delete_assignment(db, caller, segmentId, customerId, legalEntityId)
        return empty_response(204)
