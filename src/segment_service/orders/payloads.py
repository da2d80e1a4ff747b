"""The webhook payloads of the Order service's catalogue events (docs/webhooks.md#payloads): the tenant's view of the
order as it is when the payload is rendered; the catalogue keeps only its listed fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry
from segment_service.orders import store
from segment_service.orders.documents import order_document

OrderEvent = events.OrderCreated | events.OrderUpdated | events.OrderStatusChanged | events.OrderCancelled


async def _orders(conn: Connection, batch: Sequence[OrderEvent]) -> list[dict[str, Any]]:
    rows = await store.fetch_orders(conn, batch[0].tenant, sorted({e.order_id for e in batch}))
    payloads = []
    for event in batch:
        row = rows.get(event.order_id)
        # An order deleted before its events were rendered is announced with what is left: its id.
        payloads.append({"id": event.order_id} if row is None else order_document(row))
    return payloads


async def _deleted(conn: Connection, batch: Sequence[events.OrderDeleted]) -> list[dict[str, Any]]:
    payloads = []
    for event in batch:
        payload: dict[str, Any] = {"id": event.order_id}
        if event.site_code is not None:
            payload["siteCode"] = event.site_code
        if event.status is not None:
            payload["status"] = event.status
        payloads.append(payload)
    return payloads


def register(target: EventRegistry) -> None:
    target.publish_with(events.OrderCreated, _orders)
    target.publish_with(events.OrderUpdated, _orders)
    target.publish_with(events.OrderStatusChanged, _orders)
    target.publish_with(events.OrderCancelled, _orders)
    target.publish_with(events.OrderDeleted, _deleted)
