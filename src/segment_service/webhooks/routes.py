"""Webhook routes: webhook.yml's configuration (HTTP strategy), event subscriptions and statistics, and the delivery
log with replay beyond it (docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.params import Body, Parameter

from segment_service.core.auth import Caller
from segment_service.core.db import Database
from segment_service.core.http import empty_response, json_response, list_response
from segment_service.core.openapi import CategoryError, error_responses, no_content
from segment_service.core.paging import parse_page, wants_total
from segment_service.webhooks import service
from segment_service.webhooks.scopes import MANAGE_WEBHOOKS, READ_WEBHOOKS, READ_WEBHOOKS_DECLARED

_READ = {"scopes": READ_WEBHOOKS, "declared_scopes": READ_WEBHOOKS_DECLARED}
_MANAGE = {"scopes": MANAGE_WEBHOOKS}


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(*codes, body=CategoryError)


def _public_only(state: State) -> bool:
    return bool(state.settings.webhook_public_only)


class WebhookConfigController(Controller):
    path = "/webhook/{tenant:str}/config"
    tags = ["Webhook configuration"]

    @post(
        "",
        opt=_MANAGE,
        status_code=201,
        operation_id="POST-webhook-create-config",
        summary="Creating a single webhook config",
        responses=_errors(400, 403, 409),
    )
    async def create_config(
        self,
        db: Database,
        caller: Caller,
        state: State,
        data: Annotated[Any, Body(description="WebhookConfigCreation")],
    ) -> Response[dict[str, str]]:
        """Creates the tenant's HTTP webhook configuration (one per type; this service delivers over HTTP only)."""
        return json_response(await service.create_config(db, caller, data, public_only=_public_only(state)), 201)

    @get(
        "",
        opt=_READ,
        operation_id="GET-webhook-list-configs",
        summary="Retrieving a list of webhook configs",
        responses=_errors(403),
    )
    async def list_configs(self, db: Database, caller: Caller) -> Response[list[dict[str, Any]]]:
        """The tenant's webhook configurations (at most the HTTP one); secrets show as `secretKeyExists`."""
        return json_response(await service.list_configs(db, caller))

    @get(
        "/{code:str}",
        opt=_READ,
        operation_id="GET-webhook-retrieve-config",
        summary="Retrieving a webhook config",
        responses=_errors(403, 404),
    )
    async def get_config(self, db: Database, caller: Caller, code: str) -> Response[dict[str, Any]]:
        """The tenant's configuration of type `code`."""
        return json_response(await service.get_config(db, caller, code))

    @put(
        "/{code:str}",
        opt=_MANAGE,
        status_code=204,
        operation_id="PUT-webhook-update-config",
        summary="Updating a single webhook config",
        responses={**_errors(400, 403, 404, 409), **no_content("Updated")},
    )
    async def replace_config(
        self,
        db: Database,
        caller: Caller,
        state: State,
        code: str,
        data: Annotated[Any, Body(description="WebhookConfigUpdate")],
    ) -> Response[None]:
        """Replaces the configuration; entries keep their ids, id-less ones get new ids."""
        await service.replace_config(db, caller, code, data, public_only=_public_only(state))
        return empty_response()

    @patch(
        "/{code:str}",
        opt=_MANAGE,
        status_code=204,
        operation_id="PATCH-webhook-update-config",
        summary="Partially updating a webhook config",
        responses={**_errors(400, 403, 404, 409), **no_content("Updated")},
    )
    async def patch_config(
        self,
        db: Database,
        caller: Caller,
        state: State,
        code: str,
        data: Annotated[Any, Body(description="WebhookConfigPartialUpdates: [{op, path, value}]")],
    ) -> Response[None]:
        """Applies UPSERT/REMOVE operations, all or nothing."""
        await service.patch_config(db, caller, code, data, public_only=_public_only(state))
        return empty_response()

    @delete(
        "/{code:str}",
        opt=_MANAGE,
        status_code=204,
        operation_id="DELETE-webhook-remove-config",
        summary="Removing a webhook config",
        responses={**_errors(400, 403), **no_content("Removed")},
    )
    async def delete_config(
        self,
        db: Database,
        caller: Caller,
        code: str,
        force: bool = Parameter(query="force", required=False, default=False, description="Delete an active config"),
    ) -> Response[None]:
        """Removes the configuration (an active one with force=true only); its pending deliveries are cancelled."""
        await service.delete_config(db, caller, code, force=force)
        return empty_response()


class WebhookEventController(Controller):
    path = "/webhook/{tenant:str}"
    tags = ["Webhook events"]

    @get(
        "/event-subscriptions",
        opt=_READ,
        operation_id="GET-webhook-list-all-event-subscriptions",
        summary="Retrieving all subscriptions",
        responses=_errors(403),
    )
    async def list_subscriptions(self, db: Database, caller: Caller) -> Response[list[dict[str, Any]]]:
        """The catalogue of events this service publishes, each with the tenant's subscription."""
        return json_response(await service.list_subscriptions(db, caller))

    @patch(
        "/event-subscriptions",
        opt=_MANAGE,
        status_code=207,
        operation_id="PATCH-webhook-manage-event-subscriptions",
        summary="Subscribing and unsubscribing from events",
        responses=_errors(400, 403),
    )
    async def update_subscriptions(
        self, db: Database, caller: Caller, data: Annotated[Any, Body(description="WebhookSubscriptionUpdate")]
    ) -> Response[list[dict[str, Any]]]:
        """SUBSCRIBE/UNSUBSCRIBE and field exclusions, item by item (207)."""
        return json_response(await service.update_subscriptions(db, caller, data), 207)

    @get(
        "/statistics",
        opt=_READ,
        operation_id="GET-webhook-retrieve-statistics",
        summary="Retrieving webhooks statistics",
        responses=_errors(400, 403),
    )
    async def statistics(
        self,
        db: Database,
        caller: Caller,
        from_month: str | None = Parameter(query="fromYearMonth", required=False, default=None),
        to_month: str | None = Parameter(query="toYearMonth", required=False, default=None),
    ) -> Response[dict[str, Any]]:
        """Events delivered successfully per month (YYYY-MM, UTC), newest first."""
        return json_response(await service.statistics(db, caller, from_month, to_month))

    @get(
        "/deliveries",
        opt=_READ,
        operation_id="GET-webhook-list-deliveries",
        summary="Retrieving the delivery log",
        responses=_errors(400, 403),
    )
    async def list_deliveries(
        self,
        db: Database,
        caller: Caller,
        event_type: str | None = Parameter(query="eventType", required=False, default=None),
        status: str | None = Parameter(query="status", required=False, default=None),
        endpoint: str | None = Parameter(query="endpoint", required=False, default=None),
        created_from: str | None = Parameter(query="createdFrom", required=False, default=None),
        created_to: str | None = Parameter(query="createdTo", required=False, default=None),
        page_number: str | None = Parameter(query="pageNumber", required=False, default=None),
        page_size: str | None = Parameter(query="pageSize", required=False, default=None),
        x_total_count: str | None = Parameter(header="X-Total-Count", required=False, default=None),
    ) -> Response[list[dict[str, Any]]]:
        """Deliveries, newest first, with every attempt (beyond webhook.yml; docs/webhooks.md)."""
        where = service.delivery_filter(event_type, status, endpoint, created_from, created_to)
        page = parse_page(page_number, page_size, default_size=60)
        docs, total = await service.list_deliveries(db, caller, where, page, wants_total(x_total_count))
        return list_response(docs, total)

    @get(
        "/deliveries/{deliveryId:str}",
        opt=_READ,
        operation_id="GET-webhook-retrieve-delivery",
        summary="Retrieving a delivery",
        responses=_errors(403, 404),
    )
    async def get_delivery(self, db: Database, caller: Caller, deliveryId: str) -> Response[dict[str, Any]]:
        """One delivery with its attempts."""
        return json_response(await service.get_delivery(db, caller, deliveryId))

    @post(
        "/deliveries/{deliveryId:str}/retry",
        opt=_MANAGE,
        status_code=202,
        operation_id="POST-webhook-retry-delivery",
        summary="Delivering again",
        responses=_errors(403, 404, 409),
    )
    async def retry_delivery(self, db: Database, caller: Caller, deliveryId: str) -> Response[dict[str, str]]:
        """Makes a finished (delivered, failed, cancelled) delivery due again, with its event id."""
        return json_response(await service.retry_delivery(db, caller, deliveryId), 202)
