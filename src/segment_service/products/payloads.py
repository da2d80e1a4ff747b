"""The webhook payloads of the Product service's catalogue events (docs/webhooks.md#payloads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry
from segment_service.products import store
from segment_service.products.service import product_document


async def _products(
    conn: Connection, batch: Sequence[events.ProductCreated | events.ProductUpdated]
) -> list[dict[str, Any]]:
    rows = {row.id: row for row in await store.fetch_products(conn, batch[0].tenant, [e.product_id for e in batch])}
    payloads = []
    for event in batch:
        row = rows.get(event.product_id)
        payload = {"id": event.product_id} if row is None else product_document(row)
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _product_deleted(conn: Connection, batch: Sequence[events.ProductDeleted]) -> list[dict[str, Any]]:
    return [{"id": e.product_id, "tenant": e.tenant} for e in batch]


def register(target: EventRegistry) -> None:
    target.publish_with(events.ProductCreated, _products)
    target.publish_with(events.ProductUpdated, _products)
    target.publish_with(events.ProductDeleted, _product_deleted)
