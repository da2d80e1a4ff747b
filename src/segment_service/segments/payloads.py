"""The webhook payloads of the Customer Segment service's catalogue events (docs/webhooks.md#payloads): rendered on
the write's connection from the rows as the write left them, one statement per batch; deletions from the event
alone (the rows are gone)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry
from segment_service.segments import customer_assignment_store, item_assignment_store, store
from segment_service.segments.customer_assignments import assignment_document as customer_document
from segment_service.segments.item_assignments import assignment_document as item_document
from segment_service.segments.service import segment_document

B2C = ""


async def _segments(
    conn: Connection, batch: Sequence[events.SegmentCreated | events.SegmentUpdated]
) -> list[dict[str, Any]]:
    rows = await store.fetch_segments(conn, batch[0].tenant, [e.segment_id for e in batch])
    payloads = []
    for event in batch:
        row = rows.get(event.segment_id)
        payload: dict[str, Any] = {"id": event.segment_id} if row is None else segment_document(row)
        if isinstance(event, events.SegmentUpdated):
            payload["previousStatus"] = event.previous_status or (None if row is None else row.status)
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _segment_deleted(conn: Connection, batch: Sequence[events.SegmentDeleted]) -> list[dict[str, Any]]:
    return [{"id": e.segment_id, "tenant": e.tenant} for e in batch]


async def _customer_assignments(
    conn: Connection, batch: Sequence[events.CustomerAssignmentCreated | events.CustomerAssignmentUpdated]
) -> list[dict[str, Any]]:
    keys = [(e.segment_id, e.customer_id, e.legal_entity_id or B2C) for e in batch]
    rows = await customer_assignment_store.fetch_assignments(conn, batch[0].tenant, keys)
    payloads = []
    for event, key in zip(batch, keys, strict=True):
        row = rows.get(key)
        payload: dict[str, Any] = {"customer": {"id": event.customer_id}} if row is None else customer_document(row)
        if row is None and event.legal_entity_id:
            payload["legalEntity"] = {"id": event.legal_entity_id}
        payload["assignmentType"] = event.assignment_type
        payload["segmentId"] = event.segment_id
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _customer_assignment_deleted(
    conn: Connection, batch: Sequence[events.CustomerAssignmentDeleted]
) -> list[dict[str, Any]]:
    payloads = []
    for event in batch:
        payload = {"customerId": event.customer_id, "segmentId": event.segment_id, "tenant": event.tenant}
        if event.legal_entity_id:
            payload["legalEntityId"] = event.legal_entity_id
        payloads.append(payload)
    return payloads


async def _item_assignments(
    conn: Connection, batch: Sequence[events.ItemAssignmentCreated | events.ItemAssignmentUpdated]
) -> list[dict[str, Any]]:
    keys = [(e.segment_id, e.item_type, e.item_id) for e in batch]
    rows = await item_assignment_store.fetch_assignments(conn, batch[0].tenant, keys)
    payloads = []
    for event, key in zip(batch, keys, strict=True):
        row = rows.get(key)
        payload: dict[str, Any] = (
            {"segmentId": event.segment_id, "item": {"id": event.item_id}, "type": event.item_type}
            if row is None
            else item_document(row)
        )
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _item_assignment_deleted(
    conn: Connection, batch: Sequence[events.ItemAssignmentDeleted]
) -> list[dict[str, Any]]:
    return [{"itemId": e.item_id, "segmentId": e.segment_id, "tenant": e.tenant, "type": e.item_type} for e in batch]


def register(target: EventRegistry) -> None:
    """Render the Customer Segment service's catalogue events for `target`'s published-event subscribers."""
    target.publish_with(events.SegmentCreated, _segments)
    target.publish_with(events.SegmentUpdated, _segments)
    target.publish_with(events.SegmentDeleted, _segment_deleted)
    target.publish_with(events.CustomerAssignmentCreated, _customer_assignments)
    target.publish_with(events.CustomerAssignmentUpdated, _customer_assignments)
    target.publish_with(events.CustomerAssignmentDeleted, _customer_assignment_deleted)
    target.publish_with(events.ItemAssignmentCreated, _item_assignments)
    target.publish_with(events.ItemAssignmentUpdated, _item_assignments)
    target.publish_with(events.ItemAssignmentDeleted, _item_assignment_deleted)
