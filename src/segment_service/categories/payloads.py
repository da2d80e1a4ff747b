"""The webhook payloads of the Category service's catalogue events (docs/webhooks.md#payloads): categories in the
catalogue's shape (localized `name`, `description`, `slug`; `ecn.externalCategoryNumbers`; `publish.published`),
and product assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segment_service.categories import assignment_store, store
from segment_service.categories.store import CategoryRow
from segment_service.core import events
from segment_service.core.db import Connection
from segment_service.core.events import EventRegistry


def category_payload(row: CategoryRow) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": row.id}
    if row.parent_id is not None:
        payload["parentId"] = row.parent_id
    payload["type"] = row.type
    payload["name"] = row.localized_name
    if row.localized_description:
        payload["description"] = row.localized_description
    if row.localized_slug:
        payload["slug"] = row.localized_slug
    payload["ecn"] = {"externalCategoryNumbers": list(row.ecn)}
    validity = {k: v for k, v in (("from", row.valid_from), ("to", row.valid_to)) if v is not None}
    if validity:
        payload["validity"] = validity
    payload["position"] = row.position or 0
    payload["publish"] = {"published": row.published}
    if row.mixins is not None:
        payload["mixins"] = row.mixins
    payload["metadata"] = {"version": row.version, "createdAt": row.created_at, "modifiedAt": row.modified_at}
    return payload


async def _categories(
    conn: Connection, batch: Sequence[events.CategoryCreated | events.CategoryUpdated]
) -> list[dict[str, Any]]:
    rows = {r.id: r for r in await store.fetch_categories(conn, batch[0].tenant, [e.category_id for e in batch])}
    payloads = []
    for event in batch:
        row = rows.get(event.category_id)
        payload = {"id": event.category_id} if row is None else category_payload(row)
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _category_deleted(conn: Connection, batch: Sequence[events.CategoryDeleted]) -> list[dict[str, Any]]:
    payloads = []
    for event in batch:
        payload: dict[str, Any] = {"id": event.category_id, "tenant": event.tenant}
        if event.parent_id is not None:
            payload["parentId"] = event.parent_id
        payloads.append(payload)
    return payloads


def _assignment(assignment_id: str, category_id: str, product_id: str, created_at: str | None) -> dict[str, Any]:
    assignment: dict[str, Any] = {"id": assignment_id, "categoryId": category_id}
    if created_at is not None:
        assignment["createdAt"] = created_at
    assignment["ref"] = {"id": product_id, "type": "PRODUCT"}
    return assignment


async def _assignment_created(
    conn: Connection, batch: Sequence[events.CategoryAssignmentCreated]
) -> list[dict[str, Any]]:
    created = await assignment_store.created_at_of(conn, batch[0].tenant, [e.assignment_id for e in batch])
    payloads = []
    for event in batch:
        at = created.get(event.assignment_id)
        payload: dict[str, Any] = {
            "categoryId": event.category_id,
            "assignment": _assignment(event.assignment_id, event.category_id, event.product_id, at),
        }
        if at is not None:
            payload["metadata"] = {"createdAt": at}
        payload["tenant"] = event.tenant
        payloads.append(payload)
    return payloads


async def _assignment_deleted(
    conn: Connection, batch: Sequence[events.CategoryAssignmentDeleted]
) -> list[dict[str, Any]]:
    return [
        {
            "categoryId": e.category_id,
            "assignments": [_assignment(e.assignment_id, e.category_id, e.product_id, None)],
            "tenant": e.tenant,
        }
        for e in batch
    ]


def register(target: EventRegistry) -> None:
    target.publish_with(events.CategoryCreated, _categories)
    target.publish_with(events.CategoryUpdated, _categories)
    target.publish_with(events.CategoryDeleted, _category_deleted)
    target.publish_with(events.CategoryAssignmentCreated, _assignment_created)
    target.publish_with(events.CategoryAssignmentDeleted, _assignment_deleted)
