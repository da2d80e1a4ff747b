"""Rule-based segment routes (docs/rules.md#api), extensions under the segment's own path:
PUT/GET/DELETE …/segments/{segmentId}/rule, POST …/rule/preview, GET …/explain,
GET …/exclusions, PUT/DELETE …/exclusions/{customerId}[/{legalEntityId}]."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post, put

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.http import empty_response, json_response, list_response
from segment_service.core.openapi import error_responses, no_content
from segment_service.rules import service
from segment_service.rules.models import ExclusionResponse, ExplainResponse, PreviewResponse, RuleBody, RuleResponse
from segment_service.segments.scopes import MANAGE_SEGMENTS, READ_ALL_SEGMENTS


class SegmentRuleController(Controller):
    path = "/customer-segment/{tenant:str}/segments/{segmentId:str}"
    tags = ["Segment rules"]

    @put(
        "/rule",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-upsert-segment-rule",
        summary="Saving a segment's rule",
        responses=error_responses(400, 403, 404, 409) | no_content("The rule was replaced."),
    )
    async def put_rule(self, db: Database, caller: Caller, segmentId: str, data: RuleBody) -> Response[None]:
        """Saves the rule (201 created, 204 replaced) and queues its evaluation (`state` EVALUATING until done)."""
        created = await service.put_rule(db, caller, segmentId, data)
        return empty_response(201 if created else 204)

    @get(
        "/rule",
        opt={"scopes": READ_ALL_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-segment-rule",
        summary="Retrieving a segment's rule and its evaluation state",
        responses=error_responses(403, 404),
    )
    async def get_rule(self, db: Database, caller: Caller, segmentId: str) -> Response[RuleResponse]:
        """The rule with its version and evaluation state."""
        return json_response(await service.get_rule(db, caller, segmentId))

    @delete(
        "/rule",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-segment-rule",
        summary="Deleting a segment's rule",
        responses=error_responses(403, 404),
    )
    async def delete_rule(self, db: Database, caller: Caller, segmentId: str) -> Response[None]:
        """Deletes the rule; its memberships go, manual ones stay."""
        await service.delete_rule(db, caller, segmentId)
        return empty_response()

    @post(
        "/rule/preview",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=200,
        operation_id="POST-customer-segment-preview-segment-rule",
        summary="Previewing what a rule would change",
        responses=error_responses(400, 403, 404),
    )
    async def preview(self, db: Database, caller: Caller, segmentId: str, data: RuleBody) -> Response[PreviewResponse]:
        """Who the rule matches, the members it would make, and who would join and leave; writes nothing."""
        return json_response(await service.preview(db, caller, segmentId, data))

    @get(
        "/explain",
        opt={"scopes": READ_ALL_SEGMENTS},
        operation_id="GET-customer-segment-explain-membership",
        summary="Explaining why a customer is (not) a member",
        responses=error_responses(400, 403, 404),
    )
    async def explain(
        self, db: Database, caller: Caller, segmentId: str, customerId: str, legalEntityId: str | None = None
    ) -> Response[ExplainResponse]:
        """`member`, `because` (EXCLUDED, MANUAL, RULE, NO_MATCH, NO_RULE) and the rule's tree evaluated now."""
        return json_response(await service.explain(db, caller, segmentId, customerId, legalEntityId or None))

    @get(
        "/exclusions",
        opt={"scopes": READ_ALL_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-exclusions",
        summary="Retrieving a segment's exclusions",
        responses=error_responses(400, 403, 404),
    )
    async def list_exclusions(
        self, db: Database, caller: Caller, listing: Listing, segmentId: str
    ) -> Response[list[ExclusionResponse]]:
        """One page of the segment's exclusions, by customer id."""
        docs, total = await service.list_exclusions(db, caller, segmentId, listing.page)
        return list_response(docs, total if listing.with_total else None)

    @put(
        "/exclusions/{customerId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-upsert-exclusion",
        summary="Excluding a customer from a segment (in every context)",
        responses=error_responses(403, 404) | no_content("The exclusion existed."),
    )
    async def put_exclusion(self, db: Database, caller: Caller, segmentId: str, customerId: str) -> Response[None]:
        """Excludes the customer in every context; its memberships of the segment go."""
        return empty_response(201 if await service.put_exclusion(db, caller, segmentId, customerId, None) else 204)

    @delete(
        "/exclusions/{customerId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-exclusion",
        summary="Lifting a customer's exclusion",
        responses=error_responses(403, 404),
    )
    async def delete_exclusion(self, db: Database, caller: Caller, segmentId: str, customerId: str) -> Response[None]:
        await service.delete_exclusion(db, caller, segmentId, customerId, None)
        return empty_response()

    @put(
        "/exclusions/{customerId:str}/{legalEntityId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=201,
        operation_id="PUT-customer-segment-upsert-exclusion-b2b",
        summary="Excluding a contact of a legal entity from a segment",
        responses=error_responses(403, 404) | no_content("The exclusion existed."),
    )
    async def put_exclusion_b2b(
        self, db: Database, caller: Caller, segmentId: str, customerId: str, legalEntityId: str
    ) -> Response[None]:
        """Excludes the customer in the context of one legal entity."""
        created = await service.put_exclusion(db, caller, segmentId, customerId, legalEntityId)
        return empty_response(201 if created else 204)

    @delete(
        "/exclusions/{customerId:str}/{legalEntityId:str}",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=204,
        operation_id="DELETE-customer-segment-remove-exclusion-b2b",
        summary="Lifting a contact's exclusion",
        responses=error_responses(403, 404),
    )
    async def delete_exclusion_b2b(
        self, db: Database, caller: Caller, segmentId: str, customerId: str, legalEntityId: str
    ) -> Response[None]:
        await service.delete_exclusion(db, caller, segmentId, customerId, legalEntityId)
        return empty_response()
