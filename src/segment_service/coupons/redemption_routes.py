"""Validation, redemption and referral routes (coupon.yml, "Coupon Validation", "Coupon Redemption" and "Referral
Coupon Management"):

POST /coupons/{code}/validation, GET/POST /coupons/{code}/redemptions, GET/DELETE /coupons/{code}/redemptions/{id},
GET/POST /referral-coupons/{customerNumber}.

Validation and redemption need one of `coupon.coupon_redeem`, `coupon.coupon_redeem_on_behalf` and
`coupon.coupon_manage`, except from anonymous tokens, which carry no scope but must be able to redeem `allowAnonymous`
coupons (docs/decisions.md#coupon-scopes). The redeemer is the token's customer (nobody, a guest, for anonymous and
service tokens), and `customerNumber` naming someone else needs `coupon.coupon_redeem_on_behalf`.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.fastlane import FastRequest, FastResponse, FastRoute, FastRun
from segment_service.core.http import empty_response, json_response
from segment_service.coupons import redemption_records, redemptions, referrals, validation_memo
from segment_service.coupons.models import CouponResponse, Redemption, RedemptionCreation, ResourceLocation
from segment_service.coupons.routes import (
    COUPON_LISTING,
    ITEMS_COUNT,
    CustomerNumber,
    TotalCount,
    coupon_errors,
    items_count_response,
    wants_total,
)
from segment_service.coupons.scopes import (
    CREATE_REFERRAL_COUPONS,
    MANAGE_COUPONS,
    READ_REDEMPTIONS,
    READ_REFERRAL_COUPONS,
    REDEEM_COUPONS,
)

#: Validation and redemption: service and customer tokens need a redeeming scope, anonymous tokens none (an
#: `allowAnonymous` coupon is redeemed by a guest, whose token carries no scope).
REDEEMING_OPT: dict[str, Any] = {"scopes": REDEEM_COUPONS, "anonymous_without_scopes": True}


class RedemptionController(Controller):
    path = "/coupon/{tenant:str}/coupons/{code:str}"
    tags = ["Coupon Redemption"]
    dependencies = COUPON_LISTING

    @post(
        "/validation",
        opt=REDEEMING_OPT,
        status_code=200,
        operation_id="POST-coupon-validate-coupon",
        summary="Validating redeemability of a coupon",
        tags=["Coupon Validation"],
        response_description="The coupon can be successfully redeemed (no body).",
        responses=coupon_errors(400, 403, 404),
    )
    async def validate_coupon(
        self, db: Database, caller: Caller, code: str, data: RedemptionCreation
    ) -> Response[None]:
        """Checks whether the coupon can be redeemed, with every check of a redemption, without redeeming it."""
        await validation_memo.validate_coupon(db, caller, code, data)
        return empty_response(200)

    @get(
        "/redemptions",
        opt={"scopes": MANAGE_COUPONS},
        operation_id="GET-coupon-list-coupon-redemptions",
        summary="Retrieving a list of redemptions by criteria",
        responses=coupon_errors(400, 403, 404),
        response_headers=ITEMS_COUNT,
    )
    async def list_redemptions(
        self,
        db: Database,
        caller: Caller,
        code: str,
        listing: Listing,
        q: str | None = None,
        total_count: bool | None = TotalCount,
    ) -> Response[list[Redemption]]:
        """Retrieves the coupon's redemptions (filtered by `q`, oldest first unless `sort` says otherwise)."""
        docs, total = await redemption_records.list_redemptions(
            db, caller, code, q=q, page=listing.page, sort=listing.sort, with_total=wants_total(listing, total_count)
        )
        return items_count_response(docs, total)

    @post(
        "/redemptions",
        opt=REDEEMING_OPT,
        status_code=201,
        operation_id="POST-coupon-invalidate-coupon",
        summary="Redeeming the coupon by creating a redemption",
        responses=coupon_errors(400, 403, 404, 409),
    )
    async def redeem_coupon(
        self, db: Database, caller: Caller, code: str, data: RedemptionCreation
    ) -> Response[ResourceLocation]:
        """Redeems the coupon for an order; 409 when the order (`orderCode`) already redeemed it."""
        redemption_id = await redemptions.redeem_coupon(db, caller, code, data)
        return json_response({"id": redemption_id}, status=201)

    @get(
        "/redemptions/{id:str}",
        opt={"scopes": READ_REDEMPTIONS},
        operation_id="GET-coupon-retrieve-coupon-redemption",
        summary="Retrieving a coupon redemption",
        responses=coupon_errors(400, 403, 404),
    )
    async def get_redemption(
        self, db: Database, caller: Caller, code: str, id: str, customer_number: str | None = CustomerNumber
    ) -> Response[Redemption]:
        """Retrieves one redemption: any with coupon_manage, else only the acting customer's own."""
        found = await redemption_records.get_redemption(db, caller, code, id, customer_number=customer_number)
        return json_response(found)

    @delete(
        "/redemptions/{id:str}",
        opt={"scopes": MANAGE_COUPONS},
        status_code=204,
        operation_id="DELETE-coupon-remove-coupon-redemption",
        summary="Deleting a coupon redemption",
        responses=coupon_errors(400, 403, 404),
    )
    async def delete_redemption(self, db: Database, caller: Caller, code: str, id: str) -> Response[None]:
        """Deletes a redemption; the coupon counts one redemption less."""
        await redemption_records.delete_redemption(db, caller, code, id)
        return empty_response(204)


class ReferralCouponController(Controller):
    path = "/coupon/{tenant:str}/referral-coupons/{customerNumber:str}"
    tags = ["Referral Coupon Management"]

    @get(
        "",
        opt={"scopes": READ_REFERRAL_COUPONS},
        operation_id="GET-coupon-retrieve-referral-coupon",
        summary="Retrieving customer's referral coupon",
        responses=coupon_errors(400, 403, 404)
        | {204: ResponseSpec(data_container=None, description="The customer has none yet.")},
    )
    async def get_referral_coupon(self, db: Database, caller: Caller, customerNumber: str) -> Response[CouponResponse]:
        """Retrieves the customer's referral coupon; 204 when it has none."""
        document = await referrals.get_referral_coupon(db, caller, customerNumber)
        return empty_response(204) if document is None else json_response(document)

    @post(
        "",
        opt={"scopes": CREATE_REFERRAL_COUPONS},
        status_code=200,
        operation_id="POST-coupon-create-referral-coupon-code",
        summary="Creating a referral coupon code for a given customer",
        responses=coupon_errors(400, 403, 404),
    )
    async def create_referral_coupon(
        self, db: Database, caller: Caller, customerNumber: str
    ) -> Response[CouponResponse]:
        """Creates the customer's referral coupon, or returns the one it has (one per customer)."""
        return json_response(await referrals.create_referral_coupon(db, caller, customerNumber))


def parse_validate_coupon(request: FastRequest) -> FastRun:
    """`POST /coupons/{code}/validation` in the fast lane (core/fastlane.py): the body converted as the route converts
    it; the same check, the same empty 200."""
    code, data = request.path_params["code"], request.data

    async def run(caller: Caller) -> FastResponse:
        await validation_memo.validate_coupon(request.db, caller, code, data)
        return FastResponse(b"")

    return run


FAST_ROUTES = [
    FastRoute(
        RedemptionController.validate_coupon, frozenset(), frozenset(), parse_validate_coupon, body=RedemptionCreation
    )
]
