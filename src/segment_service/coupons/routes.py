"""Coupon management routes (coupon.yml, "Coupon Management"):

GET/POST /coupons, GET/PUT/PATCH/DELETE /coupons/{code}.

`GET /coupons/{code}` takes any valid token of the tenant: coupon.yml declares `coupon.coupon_redeem_on_behalf` but
says it is needed only with `customerNumber` (docs/decisions.md#coupon-scopes); callers without coupon_read or
coupon_manage get the customer's view, without the members the spec marks "seller-only".
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter

from segment_service.core.auth import ANY_TOKEN, Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing, listing_dependency
from segment_service.core.http import empty_response, json_response
from segment_service.core.openapi import CustomerError, error_responses
from segment_service.coupons import service
from segment_service.coupons.models import CouponCreation, CouponPatch, CouponResponse, CouponUpdate, ResourceLocation
from segment_service.coupons.scopes import MANAGE_COUPONS, READ_COUPONS, RETRIEVE_COUPON_DECLARED

#: coupon.yml: 16 coupons (and redemptions) a page unless `pageSize` says otherwise.
COUPON_LISTING = {"listing": listing_dependency(16)}

TotalCount = Parameter(
    query="totalCount",
    required=False,
    default=None,
    description="`true`: the number of matching items comes back in the `Items-Count` header.",
)
ShowDeleted = Parameter(query="showDeleted", required=False, default=False, description="Include deleted coupons.")
CustomerNumber = Parameter(
    query="customerNumber",
    required=False,
    default=None,
    description="The customer the coupon is requested for (needs "
    "coupon.coupon_redeem_on_behalf unless it is the caller).",
)
Partial = Parameter(
    query="partial",
    required=False,
    default=None,
    description="Deprecated: `true` merges the body into the coupon as PATCH does; otherwise the "
    "coupon is replaced. Optional here, although coupon.yml marks it required.",
)


#: The `Items-Count` header of coupon.yml's lists, documented on the operations that send it (the example value
#: only gives the header its schema; the handler sets the real one).
ITEMS_COUNT = [
    ResponseHeader(
        name="Items-Count",
        documentation_only=True,
        value="42",
        description="The total number of items that fulfil the criteria (with totalCount=true).",
    )
]


def coupon_errors(*codes: int) -> dict[int, Any]:
    """The coupon error body (`{status, type, message, details}`) for the given codes."""
    return error_responses(*codes, body=CustomerError)


def items_count_response(docs: list[dict[str, Any]], total: int | None) -> Response[Any]:
    """A coupon list: the total, when asked for with `totalCount=true`, in the `Items-Count` header (coupon.yml)."""
    return json_response(docs, headers=None if total is None else {"Items-Count": str(total)})


def wants_total(listing: Listing, total_count: bool | None) -> bool:
    """`totalCount=true` asks for the total, and so does the `X-Total-Count: true` header the other services use."""
    return bool(total_count) or listing.with_total


class CouponController(Controller):
    path = "/coupon/{tenant:str}/coupons"
    tags = ["Coupon Management"]
    dependencies = COUPON_LISTING

    @get(
        "",
        opt={"scopes": READ_COUPONS},
        operation_id="GET-coupon-list-specified-coupons",
        summary="Retrieving list of coupons by criteria",
        responses=coupon_errors(400, 403),
        response_headers=ITEMS_COUNT,
    )
    async def list_coupons(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        q: str | None = None,
        total_count: bool | None = TotalCount,
        show_deleted: bool = ShowDeleted,
    ) -> Response[list[CouponResponse]]:
        """Retrieves a list of coupons by the specified criteria. Supports sorting and paging."""
        docs, total = await service.list_coupons(
            db,
            caller,
            q=q,
            page=listing.page,
            sort=listing.sort,
            with_total=wants_total(listing, total_count),
            show_deleted=show_deleted,
        )
        return items_count_response(docs, total)

    @post(
        "",
        opt={"scopes": MANAGE_COUPONS},
        status_code=201,
        operation_id="POST-coupon-create-coupon",
        summary="Creating a new coupon",
        responses=coupon_errors(400, 403, 409),
    )
    async def create_coupon(self, db: Database, caller: Caller, data: CouponCreation) -> Response[ResourceLocation]:
        """Creates a coupon; the code is stored upper-case, and generated when the body has none."""
        code = await service.create_coupon(db, caller, data)
        return json_response({"id": code}, status=201)

    @get(
        "/{code:str}",
        opt={"scopes": ANY_TOKEN, "declared_scopes": RETRIEVE_COUPON_DECLARED},
        operation_id="GET-coupon-retrieve-coupon",
        summary="Retrieving information about particular coupon by code",
        responses=coupon_errors(400, 403, 404),
    )
    async def get_coupon(
        self, db: Database, caller: Caller, code: str, customer_number: str | None = CustomerNumber
    ) -> Response[CouponResponse]:
        """Retrieves coupon details."""
        return json_response(await service.get_coupon(db, caller, code, customer_number=customer_number))

    @put(
        "/{code:str}",
        opt={"scopes": MANAGE_COUPONS},
        status_code=200,
        operation_id="PUT-coupon-update-coupon",
        summary="Updating the coupon by code",
        response_description="The coupon has been successfully updated (no body).",
        responses=coupon_errors(400, 403, 404, 409),
    )
    async def replace_coupon(
        self, db: Database, caller: Caller, code: str, data: CouponUpdate, partial: bool | None = Partial
    ) -> Response[None]:
        """Updates an existing coupon: replaces it, or with `partial=true` merges the body into it."""
        await service.replace_coupon(db, caller, code, data, partial=bool(partial))
        return empty_response(200)

    @patch(
        "/{code:str}",
        opt={"scopes": MANAGE_COUPONS},
        status_code=200,
        operation_id="PATCH-coupon-update-coupon",
        summary="Partially updating the coupon by code",
        response_description="The coupon has been successfully updated (no body).",
        responses=coupon_errors(400, 403, 404, 409),
    )
    async def patch_coupon(self, db: Database, caller: Caller, code: str, data: CouponPatch) -> Response[None]:
        """Partially updates an existing coupon with a merge object (RFC 7396)."""
        await service.patch_coupon(db, caller, code, data)
        return empty_response(200)

    @delete(
        "/{code:str}",
        opt={"scopes": MANAGE_COUPONS},
        status_code=204,
        operation_id="DELETE-coupon-remove-coupon",
        summary="Deleting a coupon by code",
        responses=coupon_errors(400, 403, 404),
    )
    async def delete_coupon(self, db: Database, caller: Caller, code: str) -> Response[None]:
        """Deletes a coupon (soft delete: listed again with `showDeleted=true`)."""
        await service.delete_coupon(db, caller, code)
        return empty_response(204)
