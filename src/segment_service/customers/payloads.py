"""The webhook payloads of the Customer service's catalogue events (docs/webhooks.md#payloads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry
from segment_service.customers import store
from segment_service.customers.service import Expand, customer_document

_ALL_MIXINS = Expand(all_mixins=True)


async def _customers(
    conn: Connection, batch: Sequence[events.CustomerCreated | events.CustomerUpdated]
) -> list[dict[str, Any]]:
    rows = await store.fetch_customers(conn, batch[0].tenant, [e.customer_id for e in batch])
    payloads = []
    for event in batch:
        row = rows.get(event.customer_id)
        payload = (
            {"id": event.customer_id, "customerNumber": event.customer_id}
            if row is None
            else customer_document(row, _ALL_MIXINS)
        )
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _customer_deleted(conn: Connection, batch: Sequence[events.CustomerDeleted]) -> list[dict[str, Any]]:
    payloads = []
    for event in batch:
        payload: dict[str, Any] = {"customerNumber": event.customer_id, "tenant": event.tenant}
        if event.email is not None:
            payload["email"] = event.email
        payloads.append(payload)
    return payloads


def register(target: EventRegistry) -> None:
    target.publish_with(events.CustomerCreated, _customers)
    target.publish_with(events.CustomerUpdated, _customers)
    target.publish_with(events.CustomerDeleted, _customer_deleted)
