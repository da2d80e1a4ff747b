"""Storefront routes: operations 11, 22 and 23 of customer-segment.yml.

GET /segments/items, GET /segments/items/category-trees, POST /segments/match. Literal paths under /segments, so
`items` and `match` are reserved segment ids (docs/decisions.md#ids-and-reserved-words).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Response, get, post
from litestar.params import Parameter

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.fastlane import FastRequest, FastResponse, FastRoute, FastRun, flag
from segment_service.core.http import ReadShape, body_response, json_body
from segment_service.core.openapi import error_responses
from segment_service.segments import storefront as service
from segment_service.segments.item_assignment_models import ItemAssignmentResponse
from segment_service.segments.item_routes import shape_item_assignment
from segment_service.segments.scopes import MANAGE_SEGMENTS, READ_SEGMENTS
from segment_service.segments.storefront_models import CategoryTreeNode, Match, MatchItem

LegalEntityId = Parameter(
    query="legalEntityId",
    required=False,
    default=None,
    description="The legal-entity context of the customer's memberships (one of the "
    "customer's legal entities; default: the token's).",
)
CustomerId = Parameter(
    query="customerId",
    required=False,
    default=None,
    description="With customersegment.segment_read: answer what this customer's storefront gets (its active "
    "segments in the legalEntityId context). A customer token may name only itself.",
)
SiteCode = Parameter(query="siteCode", required=False, default=None, description="Only segments of this site.")
OnlyActive = Parameter(
    query="onlyActive",
    required=False,
    default=False,
    description="Only items of active segments; always true for customersegment.segment_read_own.",
)


class StorefrontController(Controller):
    path = "/customer-segment/{tenant:str}/segments"
    tags = ["Items Assignments"]

    @get(
        "/items",
        opt={"scopes": READ_SEGMENTS},
        operation_id="GET-customer-segment-retrieve-all-items",
        summary="Retrieving all items assignments for all customer segments",
        responses=error_responses(400, 403),
    )
    async def list_my_items(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        q: str | None = None,
        customer_id: str | None = CustomerId,
        legal_entity_id: str | None = LegalEntityId,
        site_code: str | None = SiteCode,
        only_active: bool = OnlyActive,
    ) -> Response[list[ItemAssignmentResponse]]:
        """The item assignments of every segment the token's customer is an active member of (with
        customersegment.segment_read: of every segment of the tenant, or of the `customerId`'s active ones)."""
        query = MyItemsQuery(q, legal_entity_id, site_code, only_active, customer_id)
        return body_response(*await my_items(db, caller, listing, shape, query))

    @get(
        "/items/category-trees",
        opt={"scopes": READ_SEGMENTS, "scope_note": "a service token names the customer with `customerId`"},
        operation_id="GET-customer-segment-retrieve-category-trees",
        summary="Retrieving category trees for a customer segments",
        responses=error_responses(400, 403),
    )
    async def category_trees(
        self,
        db: Database,
        caller: Caller,
        shape: ReadShape,
        customer_id: str | None = CustomerId,
        legal_entity_id: str | None = LegalEntityId,
        site_code: str | None = SiteCode,
    ) -> Response[list[CategoryTreeNode]]:
        """The category tree of the customer's active segments: their categories, everything below them
        (`isSegmentAssigned: true`) and the path to the root (`isSegmentAssigned: false`). A service token names
        the customer with `customerId`."""
        query = TreesQuery(legal_entity_id, site_code, customer_id)
        return body_response(*await my_category_trees(db, caller, shape, query))

    @post(
        "/match",
        opt={"scopes": MANAGE_SEGMENTS},
        status_code=200,
        operation_id="POST-customer-segment-check-match",
        summary="Checking which items belong to segment",
        responses=error_responses(400, 403),
    )
    async def match(self, db: Database, caller: Caller, data: Match) -> Response[list[MatchItem]]:
        """The asked products that one of the active segments of the site holds, directly or through a category
        assignment of the product's category or a category above it."""
        return body_response(await match_body(db, caller, data), {})


async def match_body(db: Database, caller: Caller, data: Match) -> bytes:
    """The body of `POST /segments/match`, routed or in the fast lane."""
    answer = await service.match_answer(
        db,
        caller,
        product_ids=[item.id for item in data.items],
        segment_ids=data.segment_ids,
        site=_text(data.site),
        site_code=_text(data.site_code),
    )
    return answer.body


@dataclass(frozen=True, slots=True)
class MyItemsQuery:
    """The query of `GET /segments/items` beyond paging and shaping."""

    q: str | None
    legal_entity_id: str | None
    site_code: str | None
    only_active: bool
    customer_id: str | None = None


async def my_items(
    db: Database, caller: Caller, listing: Listing, shape: ReadShape, query: MyItemsQuery
) -> tuple[bytes, dict[str, str]]:
    """The answer of `GET /segments/items`, routed or in the fast lane: its body and headers."""

    answer = await service.items_answer(
        db,
        caller,
        q=query.q,
        page=listing.page,
        sort=listing.sort,
        with_total=listing.with_total,
        customer_id=query.customer_id,
        legal_entity_id=query.legal_entity_id,
        site_code=query.site_code,
        only_active=query.only_active,
        variant=shape,
        shape=lambda doc: shape_item_assignment(doc, shape),
    )
    return answer.body, answer.header_dict()


@dataclass(frozen=True, slots=True)
class TreesQuery:
    """The query of `GET /segments/items/category-trees`."""

    legal_entity_id: str | None
    site_code: str | None
    customer_id: str | None = None


async def my_category_trees(
    db: Database, caller: Caller, shape: ReadShape, query: TreesQuery
) -> tuple[bytes, dict[str, str]]:
    """The answer of `GET /segments/items/category-trees`, routed or in the fast lane."""
    answer = await service.category_trees_answer(
        db,
        caller,
        customer_id=query.customer_id,
        legal_entity_id=query.legal_entity_id,
        site_code=query.site_code,
        languages=shape.languages,
        default_language=shape.default_language,
        render=lambda forest: (json_body(forest), {}),
    )
    return answer.body, answer.header_dict()


def parse_my_items(request: FastRequest) -> FastRun:
    """`GET /segments/items` in the fast lane (core/fastlane.py)."""
    get = request.query.get
    query = MyItemsQuery(get("q"), get("legalEntityId"), get("siteCode"), flag(get("onlyActive")), get("customerId"))
    listing, shape = request.listing(), request.shape()

    async def run(caller: Caller) -> FastResponse:
        return FastResponse(*await my_items(request.db, caller, listing, shape, query))

    return run


def parse_my_category_trees(request: FastRequest) -> FastRun:
    """`GET /segments/items/category-trees` in the fast lane (core/fastlane.py)."""
    get = request.query.get
    query = TreesQuery(get("legalEntityId"), get("siteCode"), get("customerId"))
    shape = request.shape()

    async def run(caller: Caller) -> FastResponse:
        return FastResponse(*await my_category_trees(request.db, caller, shape, query))

    return run


def parse_match(request: FastRequest) -> FastRun:
    """`POST /segments/match` in the fast lane (core/fastlane.py): the body converted as the route converts it."""
    data: Match = request.data

    async def run(caller: Caller) -> FastResponse:
        return FastResponse(await match_body(request.db, caller, data))

    return run


FAST_ROUTES = [
    FastRoute(
        StorefrontController.list_my_items,
        frozenset(
            {"q", "pageNumber", "pageSize", "sort", "fields", "customerId", "legalEntityId", "siteCode", "onlyActive"}
        ),
        frozenset({"accept-language", "x-total-count"}),
        parse_my_items,
    ),
    FastRoute(
        StorefrontController.category_trees,
        frozenset({"fields", "customerId", "legalEntityId", "siteCode"}),  # `fields` is read and checked, not applied
        frozenset({"accept-language"}),
        parse_my_category_trees,
    ),
    FastRoute(StorefrontController.match, frozenset(), frozenset(), parse_match, body=Match),
]


def _text(value: object) -> str | None:
    """A field's text, None when it was left out."""
    return value if isinstance(value, str) else None
