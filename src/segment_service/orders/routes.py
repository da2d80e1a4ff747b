"""Order routes (order.yml): the tenant's `/salesorders`, the customer's `/orders` and `/legal-entity-orders`, and this
service's purchase settings and facts (docs/orders.md).

A body is read twice: as the declared model (checks and the OpenAPI document) and as sent, because an order keeps
every field it was written with."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import Parameter

from segment_service.core.auth import Caller, TokenKind
from segment_service.core.db import Database
from segment_service.core.deps import Listing
from segment_service.core.errors import BadRequest
from segment_service.core.http import ReadShape, empty_response, json_response, list_response
from segment_service.core.openapi import CustomerError, error_responses, no_content
from segment_service.core.scopes import ANY_TOKEN
from segment_service.orders import facts, service, transitions
from segment_service.orders.models import (
    HistoricalTransitions,
    OrderPatch,
    OrderResponse,
    OrdersSearch,
    OrderUpdate,
    PurchaseSettings,
    PurchaseSettingsResponse,
    ResourceLocation,
    SalesOrderCreation,
    Transition,
)
from segment_service.orders.scopes import (
    CREATE_ORDERS,
    DELETE_ORDERS,
    READ_HISTORY,
    READ_ORDERS,
    READ_TRANSITIONS,
    UPDATE_ORDERS,
)

CUSTOMER = (TokenKind.CUSTOMER,)
LegalEntityParameter = Parameter(
    query="legalEntityId", required=False, default=None, description="Only the orders placed for this legal entity."
)


def order_errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CustomerError)


async def raw_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The JSON object of the request as sent (the declared model has already checked it)."""
    body = msgspec.json.decode(await request.body())
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", type="invalid_body")
    return body


class SalesOrderController(Controller):
    path = "/order-v2/{tenant:str}/salesorders"
    tags = ["Orders (Tenant-managed)"]

    @post(
        "",
        opt={"scopes": CREATE_ORDERS},
        status_code=201,
        operation_id="POST-order-create-order-employee",
        summary="Creating a new order",
        responses=order_errors(400, 403, 409),
    )
    async def create_order(
        self, db: Database, caller: Caller, request: Request[Any, Any, Any], data: SalesOrderCreation
    ) -> Response[ResourceLocation]:
        """Records an order for a customer (or a guest); `created` may date it in the past (imported history)."""
        order_id = await service.create_order(db, caller, data, await raw_body(request))
        return json_response(
            {"id": order_id, "yrn": f"urn:yaas:saasag:order:salesorder:{caller.tenant};{order_id}"}, 201
        )

    @get(
        "",
        opt={"scopes": READ_ORDERS},
        operation_id="GET-order-retrieve-tenant-orders",
        summary="Retrieving orders",
        responses=order_errors(400, 403),
    )
    async def list_orders(
        self, db: Database, caller: Caller, listing: Listing, shape: ReadShape, q: str | None = None
    ) -> Response[list[OrderResponse]]:
        """The tenant's orders matching `q`, newest first unless `sort` says otherwise."""
        docs, total = await service.list_orders(
            db, caller, q=q, page=listing.page, sort=listing.sort, with_total=listing.with_total
        )
        return list_response(docs, total, shape)

    @post(
        "/search",
        opt={"scopes": READ_ORDERS},
        status_code=200,
        operation_id="POST-order-tenant-orders-search",
        summary="Searching for orders",
        responses=order_errors(400, 403),
    )
    async def search_orders(
        self, db: Database, caller: Caller, listing: Listing, shape: ReadShape, data: OrdersSearch | None = None
    ) -> Response[list[OrderResponse]]:
        """The tenant's orders matching the `q` of the body."""
        docs, total = await service.list_orders(
            db,
            caller,
            q=None if data is None else data.q,
            page=listing.page,
            sort=listing.sort,
            with_total=listing.with_total,
        )
        return list_response(docs, total, shape)

    @get(
        "/{orderId:str}",
        opt={"scopes": READ_ORDERS},
        operation_id="GET-order-retrieve-order-employee",
        summary="Retrieving a specific order by ID",
        responses=order_errors(403, 404),
    )
    async def get_order(self, db: Database, caller: Caller, orderId: str) -> Response[OrderResponse]:
        return json_response(await service.get_order(db, caller, orderId))

    @put(
        "/{orderId:str}",
        opt={"scopes": UPDATE_ORDERS},
        status_code=204,
        operation_id="PUT-order-update-order",
        summary="Updating an order",
        responses=order_errors(400, 403, 404, 409) | no_content("The order was updated."),
    )
    async def replace_order(
        self, db: Database, caller: Caller, request: Request[Any, Any, Any], orderId: str, data: OrderUpdate
    ) -> Response[None]:
        """Replaces the order's content; its status changes only through transitions."""
        await service.replace_order(db, caller, orderId, data, await raw_body(request))
        return empty_response(204)

    @patch(
        "/{orderId:str}",
        opt={"scopes": UPDATE_ORDERS},
        status_code=204,
        operation_id="PATCH-order-partial-update-order",
        summary="Partially updating an order",
        responses=order_errors(400, 403, 404, 409) | no_content("The order was updated."),
    )
    async def patch_order(
        self, db: Database, caller: Caller, request: Request[Any, Any, Any], orderId: str, data: OrderPatch
    ) -> Response[None]:
        """Merges the partial order into the stored one."""
        await service.patch_order(db, caller, orderId, await raw_body(request))
        return empty_response(204)

    @delete(
        "/{orderId:str}",
        opt={"scopes": DELETE_ORDERS},
        status_code=204,
        operation_id="DELETE-order-remove-order",
        summary="Deleting an order",
        responses=order_errors(403, 404),
    )
    async def delete_order(self, db: Database, caller: Caller, orderId: str) -> None:
        await service.delete_order(db, caller, orderId)

    @get(
        "/{orderId:str}/transitions",
        opt={"scopes": READ_TRANSITIONS},
        operation_id="GET-order-retrieve-order-transitions",
        summary="Retrieving status transitions for an order",
        responses=order_errors(400, 403, 404),
    )
    async def list_transitions(self, db: Database, caller: Caller, orderId: str) -> Response[list[Transition]]:
        """The statuses the order may move to next."""
        return json_response(await transitions.transitions(db, caller, orderId, by_customer=False))

    @post(
        "/{orderId:str}/transitions",
        opt={"scopes": UPDATE_ORDERS},
        status_code=204,
        operation_id="POST-order-update-order-transition-employee",
        summary="Updating order status",
        responses=order_errors(400, 403, 404) | no_content("The order's status was changed."),
    )
    async def change_status(self, db: Database, caller: Caller, orderId: str, data: Transition) -> Response[None]:
        await transitions.change_status(db, caller, orderId, data.status, by_customer=False)
        return empty_response(204)

    @get(
        "/{orderId:str}/historical-transitions",
        opt={"scopes": READ_HISTORY},
        operation_id="GET-order-retrieve-historical-transitions-employee",
        summary="Retrieving historical status transitions for a specific order",
        responses=order_errors(403, 404),
    )
    async def history(self, db: Database, caller: Caller, orderId: str) -> Response[HistoricalTransitions]:
        return json_response(await transitions.history(db, caller, orderId))


class CustomerOrderController(Controller):
    path = "/order-v2/{tenant:str}"
    tags = ["Orders (Customer-managed)"]

    @get(
        "/orders",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        operation_id="GET-order-retrieve-customer-orders",
        summary="Retrieving a list of orders",
        responses=order_errors(400, 403),
    )
    async def own_orders(
        self, db: Database, caller: Caller, listing: Listing, shape: ReadShape, q: str | None = None
    ) -> Response[list[OrderResponse]]:
        """The calling customer's orders (customer token)."""
        docs, total = await transitions.own_orders(
            db, caller, q=q, page=listing.page, sort=listing.sort, with_total=listing.with_total
        )
        return list_response(docs, total, shape)

    @get(
        "/orders/{orderId:str}",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        operation_id="GET-order-retrieve-order-storefront",
        summary="Retrieving order details",
        responses=order_errors(403, 404),
    )
    async def own_order(self, db: Database, caller: Caller, orderId: str) -> Response[OrderResponse]:
        return json_response(await transitions.own_order(db, caller, orderId))

    @get(
        "/orders/{orderId:str}/transitions",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        operation_id="GET-order-retrieve-transitions",
        summary="Retrieving status transitions for a specific order",
        responses=order_errors(403, 404),
    )
    async def own_transitions(self, db: Database, caller: Caller, orderId: str) -> Response[list[Transition]]:
        return json_response(await transitions.transitions(db, caller, orderId, by_customer=True))

    @post(
        "/orders/{orderId:str}/transitions",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        status_code=204,
        operation_id="POST-order-update-order-transition-storefront",
        summary="Updating order status",
        responses=order_errors(400, 403, 404) | no_content("The order was declined."),
    )
    async def decline(self, db: Database, caller: Caller, orderId: str, data: Transition) -> Response[None]:
        """A customer may only decline its own CREATED order."""
        await transitions.change_status(db, caller, orderId, data.status, by_customer=True)
        return empty_response(204)

    @get(
        "/legal-entity-orders/{legalEntityId:str}",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        operation_id="GET-order-retrieve-legal-entity-orders",
        summary="Retrieving legal entity orders",
        responses=order_errors(400, 403, 404),
    )
    async def legal_entity_orders(
        self,
        db: Database,
        caller: Caller,
        listing: Listing,
        shape: ReadShape,
        legalEntityId: str,
        q: str | None = None,
    ) -> Response[list[OrderResponse]]:
        """Every order of a legal entity the caller is a contact of."""
        docs, total = await transitions.legal_entity_orders(
            db, caller, legalEntityId, q=q, page=listing.page, sort=listing.sort, with_total=listing.with_total
        )
        return list_response(docs, total, shape)

    @get(
        "/legal-entity-orders/{legalEntityId:str}/{orderId:str}",
        opt={"scopes": ANY_TOKEN, "kinds": CUSTOMER},
        operation_id="GET-order-retrieve-legal-entity-order",
        summary="Retrieving a legal entity order",
        responses=order_errors(403, 404),
    )
    async def legal_entity_order(
        self, db: Database, caller: Caller, legalEntityId: str, orderId: str
    ) -> Response[OrderResponse]:
        return json_response(await transitions.legal_entity_order(db, caller, legalEntityId, orderId))


class PurchaseController(Controller):
    path = "/order-v2/{tenant:str}"
    tags = ["Purchase facts"]

    @get(
        "/purchase-settings",
        opt={"scopes": READ_ORDERS},
        operation_id="GET-order-retrieve-purchase-settings",
        summary="Retrieving which statuses count as a purchase",
        responses=order_errors(403),
    )
    async def get_settings(self, db: Database, caller: Caller) -> Response[PurchaseSettingsResponse]:
        return json_response(await facts.get_settings(db, caller))

    @put(
        "/purchase-settings",
        opt={"scopes": UPDATE_ORDERS},
        status_code=204,
        operation_id="PUT-order-update-purchase-settings",
        summary="Setting which statuses count as a purchase",
        responses=order_errors(400, 403, 409) | no_content("The settings were stored and the facts rebuilt."),
    )
    async def put_settings(self, db: Database, caller: Caller, data: PurchaseSettings) -> Response[None]:
        """Stores the counted statuses and rebuilds every purchase summary of the tenant with them."""
        await facts.put_settings(db, caller, data)
        return empty_response(204)

    @get(
        "/purchase-facts/{customerId:str}",
        opt={"scopes": READ_ORDERS},
        operation_id="GET-order-retrieve-purchase-facts",
        summary="Retrieving a customer's purchase facts",
        responses=order_errors(403, 404),
    )
    async def customer_facts(
        self, db: Database, caller: Caller, customerId: str, legal_entity_id: str | None = LegalEntityParameter
    ) -> Response[dict[str, Any]]:
        """A customer's all-time purchases per currency, over the counted statuses (one legal entity's with
        `legalEntityId`)."""
        return json_response(await facts.customer_facts(db, caller, customerId, legal_entity_id))
